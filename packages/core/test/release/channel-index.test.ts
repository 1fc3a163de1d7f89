import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  buildChannelIndex,
  desiredPack,
  desiredPackStableUntil,
  inPercent,
  preAuthEncoding,
  rolloutOf,
  signChannelIndex,
  uniformDesiredPack,
  verifyChannelIndex,
} from '../../src/release/index.ts';
import type {
  ChannelIndexInput,
  ChannelIndexPayload,
  DsseEnvelope,
  IndexPackInfo,
} from '../../src/release/index.ts';
import { NEW, OLD, OLDER, PINNED, at, ids, release, simplePlan } from './fixtures.ts';

const packs: Record<string, IndexPackInfo> = {
  [NEW]: { name: 'kb', version: '1.5.0', sequence: 15 },
  [OLD]: { name: 'kb', version: '1.4.0', sequence: 14 },
  [OLDER]: { name: 'kb', version: '1.3.0', sequence: 13 },
  [PINNED]: { name: 'kb', version: '1.2.0', sequence: 12 },
};

function input(overrides: Partial<ChannelIndexInput> = {}): ChannelIndexInput {
  return {
    env: 'prod-eu',
    channel: 'stable',
    version: 42,
    issuedAt: at(0),
    ttlSeconds: 86_400,
    packs,
    base: OLD,
    rollout: { release: 'rel_1', pack: NEW, salt: 'rel_1', percent: 10, cohorts: [] },
    pins: [],
    floor: 12,
    revoked: [],
    rollbackAuthorizations: [],
    ...overrides,
  };
}

const eu = (id: string) => ({ id, labels: { region: 'eu' } });

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
}

describe('buildChannelIndex', () => {
  it('builds the §7 payload, keeping referenced packs and dropping expired pins and authorizations', () => {
    const index = buildChannelIndex(
      input({
        pins: [
          { cohort: null, pack: PINNED, expiresAt: at(-1), reason: 'old' },
          {
            cohort: { matchLabels: { tier: 'gold' } },
            pack: OLDER,
            expiresAt: at(600),
            reason: 'gold holds',
          },
        ],
        revoked: [OLDER, OLDER],
        rollbackAuthorizations: [{ pack: PINNED, reason: 'x', expiresAt: at(-5) }],
      }),
    );
    expect(index).toEqual({
      schema: 'lockgate.channel-index/v1',
      env: 'prod-eu',
      channel: 'stable',
      version: 42,
      issuedAt: at(0),
      expiresAt: at(86_400),
      packs: { [NEW]: packs[NEW], [OLD]: packs[OLD], [OLDER]: packs[OLDER] },
      base: OLD,
      rollout: { release: 'rel_1', pack: NEW, salt: 'rel_1', percent: 10, cohorts: [] },
      pins: [
        {
          cohort: { matchLabels: { tier: 'gold' } },
          pack: OLDER,
          expiresAt: at(600),
          reason: 'gold holds',
        },
      ],
      floor: 12,
      revoked: [OLDER],
      rollbackAuthorizations: [],
    });
  });

  it('refuses an index that references a pack it has no metadata for', () => {
    expect(
      codeOf(() =>
        buildChannelIndex(
          input({ packs: { [OLD]: { name: 'kb', version: '1.4.0', sequence: 14 } } }),
        ),
      ),
    ).toBe('INDEX_INVALID');
  });
});

describe('rolloutOf', () => {
  const plan = simplePlan([{ cohort: 'eu' }, {}]);
  const cohorts = [{ name: 'eu', selector: { matchLabels: { region: 'eu' } } }];

  it('publishes the started stage, the previous one while a stage waits, and nothing once ended', () => {
    const rolling = release(plan, { state: 'rolling', stageStartedAt: at(0) });
    expect(rolloutOf(rolling, { salt: 's', cohorts })).toEqual({
      release: 'rel_1',
      pack: NEW,
      salt: 's',
      percent: 10,
      cohorts: [{ matchLabels: { region: 'eu' } }],
    });
    expect(
      rolloutOf({ ...rolling, stageIndex: 1, stageStartedAt: null }, { salt: 's', cohorts })
        ?.percent,
    ).toBe(10);
    expect(rolloutOf({ ...rolling, stageStartedAt: null }, { salt: 's', cohorts })).toBeNull();
    expect(rolloutOf({ ...rolling, state: 'completed' }, { salt: 's', cohorts })).toBeNull();
  });

  it('refuses a stage cohort the channel does not define (it would reach every target)', () => {
    const rolling = release(plan, { state: 'rolling', stageStartedAt: at(0) });
    expect(codeOf(() => rolloutOf(rolling, { salt: 's', cohorts: [] }))).toBe('COHORT_INVALID');
  });

  it('narrows the rollout to a percentage cohort by its channel-salted bucket', () => {
    const rolling = release(plan, { state: 'rolling', stageStartedAt: at(0) });
    expect(rolloutOf(rolling, { salt: 's', cohorts: [{ name: 'eu', percent: 5 }] })).toEqual({
      release: 'rel_1',
      pack: NEW,
      salt: 's',
      percent: 10,
      cohorts: [{}],
      bucket: { salt: 'cohort:prod-eu/stable', percent: 5 },
    });
  });
});

describe('desiredPack', () => {
  it('gives the rollout pack to targets in the bucket and base to the rest', () => {
    const index = buildChannelIndex(input());
    for (const id of ids(300)) {
      const expected = inPercent('rel_1', id, 10)
        ? { pack: NEW, reason: 'rollout' }
        : { pack: OLD, reason: 'base' };
      expect(desiredPack(index, eu(id), at(10))).toEqual(expected);
    }
  });

  it('lets a matching unexpired pin win, and falls back once the pin expires', () => {
    const index = buildChannelIndex(
      input({
        pins: [
          {
            cohort: { matchLabels: { region: 'eu' } },
            pack: PINNED,
            expiresAt: at(600),
            reason: 'hold eu',
          },
        ],
        rollout: null,
      }),
    );
    expect(desiredPack(index, eu('t1'), at(599))).toEqual({ pack: PINNED, reason: 'pin' });
    expect(desiredPack(index, { id: 't1', labels: { region: 'us' } }, at(599))).toEqual({
      pack: OLD,
      reason: 'base',
    });
    expect(desiredPack(index, eu('t1'), at(600))).toEqual({ pack: OLD, reason: 'base' });
  });

  it('reaches only targets in the rollout cohorts', () => {
    const index = buildChannelIndex(
      input({
        rollout: {
          release: 'r',
          pack: NEW,
          salt: 's',
          percent: 100,
          cohorts: [{ matchLabels: { region: 'eu' } }],
        },
      }),
    );
    expect(desiredPack(index, eu('t1'), at(1)).pack).toBe(NEW);
    expect(desiredPack(index, { id: 't1', labels: { region: 'us' } }, at(1)).pack).toBe(OLD);
  });

  it('never gives a revoked pack: the rollout falls back to base, a revoked base to none', () => {
    const all = { release: 'r', pack: NEW, salt: 's', percent: 100, cohorts: [] };
    expect(
      desiredPack(buildChannelIndex(input({ rollout: all, revoked: [NEW] })), eu('t'), at(1)),
    ).toEqual({ pack: OLD, reason: 'base' });
    expect(
      desiredPack(buildChannelIndex(input({ rollout: all, revoked: [NEW, OLD] })), eu('t'), at(1)),
    ).toEqual({ pack: null, reason: 'none' });
    const pinned = input({
      pins: [{ cohort: null, pack: PINNED, expiresAt: at(100), reason: 'r' }],
      revoked: [PINNED],
    });
    expect(desiredPack(buildChannelIndex(pinned), eu('t'), at(1))).toEqual({
      pack: OLD,
      reason: 'base',
    });
  });

  it('gives a pack below the floor only with an unexpired rollback authorization', () => {
    const base = input({ base: OLDER, rollout: null, floor: 14 });
    expect(desiredPack(buildChannelIndex(base), eu('t'), at(1))).toEqual({
      pack: null,
      reason: 'none',
    });
    const authorized = buildChannelIndex({
      ...base,
      rollbackAuthorizations: [{ pack: OLDER, reason: '1.4 broke', expiresAt: at(100) }],
    });
    expect(desiredPack(authorized, eu('t'), at(1))).toEqual({ pack: OLDER, reason: 'base' });
    expect(desiredPack(authorized, eu('t'), at(100))).toEqual({ pack: null, reason: 'none' });
  });

  it('never moves a target off the rollout pack when the percentage grows', () => {
    fc.assert(
      fc.property(
        fc.string(),
        fc.double({ min: 0, max: 100, noNaN: true }),
        fc.double({ min: 0, max: 100, noNaN: true }),
        (id, a, b) => {
          const [p, q] = a <= b ? [a, b] : [b, a];
          const at1 = desiredPack(
            buildChannelIndex(
              input({ rollout: { release: 'r', pack: NEW, salt: 's', percent: p, cohorts: [] } }),
            ),
            eu(id),
            at(1),
          );
          const at2 = desiredPack(
            buildChannelIndex(
              input({ rollout: { release: 'r', pack: NEW, salt: 's', percent: q, cohorts: [] } }),
            ),
            eu(id),
            at(1),
          );
          return at1.pack !== NEW || at2.pack === NEW;
        },
      ),
    );
  });
});

describe('desiredPackStableUntil', () => {
  it('is the first pin or rollback authorization expiry after now, and +∞ without one', () => {
    const index = buildChannelIndex(
      input({
        pins: [{ cohort: null, pack: PINNED, expiresAt: at(600), reason: 'hold' }],
        rollbackAuthorizations: [{ pack: OLDER, reason: 'r', expiresAt: at(300) }],
      }),
    );
    expect(desiredPackStableUntil(index, at(1))).toBe(Date.parse(at(300)));
    expect(desiredPackStableUntil(index, at(300))).toBe(Date.parse(at(600)));
    expect(desiredPackStableUntil(index, at(600))).toBe(Number.POSITIVE_INFINITY);
    expect(desiredPackStableUntil(buildChannelIndex(input()), at(1))).toBe(
      Number.POSITIVE_INFINITY,
    );
  });

  it('bounds a time during which desiredPack gives every target the same answer', () => {
    const expiry = fc.integer({ min: 1, max: 900 }).map((s) => at(s));
    const pin = fc.record({
      cohort: fc.option(fc.constantFrom({ matchLabels: { region: 'eu' } }), { nil: null }),
      pack: fc.constantFrom(NEW, OLD, OLDER, PINNED),
      expiresAt: expiry,
      reason: fc.constant('hold'),
    });
    const authorization = fc.record({
      pack: fc.constantFrom(OLDER, PINNED),
      reason: fc.constant('r'),
      expiresAt: expiry,
    });
    const target = fc.record({
      id: fc.string(),
      labels: fc.constantFrom<Record<string, string>>({ region: 'eu' }, { region: 'us' }),
    });
    fc.assert(
      fc.property(
        fc.array(pin, { maxLength: 3 }),
        fc.array(authorization, { maxLength: 2 }),
        fc.constantFrom<number | null>(null, 14),
        fc.array(target, { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 0, max: 1000 }),
        fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }),
        (pins, rollbackAuthorizations, floor, targets, seconds, fraction) => {
          const index = buildChannelIndex(
            input({ pins, rollbackAuthorizations, floor, base: OLDER }),
          );
          const nowMs = Date.parse(at(seconds));
          const until = desiredPackStableUntil(index, at(seconds));
          if (until <= nowMs) return false;
          const span = Number.isFinite(until) ? until - nowMs : 3_600_000;
          const later = new Date(nowMs + Math.floor(span * fraction)).toISOString();
          const last = new Date(nowMs + span - 1).toISOString();
          return targets.every((t) => {
            const now = desiredPack(index, t, at(seconds));
            return [later, last].every((when) => {
              const then = desiredPack(index, t, when);
              return then.pack === now.pack && then.reason === now.reason;
            });
          });
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('uniformDesiredPack', () => {
  const rollout = (percent: number) => ({
    release: 'r',
    pack: NEW,
    salt: 's',
    percent,
    cohorts: [],
  });

  it('gives the base without a rollout, the rollout pack at 100% and the base at 0%', () => {
    const none = buildChannelIndex(input({ rollout: null }));
    expect(uniformDesiredPack(none, at(1))).toEqual({ pack: OLD, reason: 'base' });
    const all = buildChannelIndex(input({ rollout: rollout(100) }));
    expect(uniformDesiredPack(all, at(1))).toEqual({ pack: NEW, reason: 'rollout' });
    const zero = buildChannelIndex(input({ rollout: rollout(0) }));
    expect(uniformDesiredPack(zero, at(1))).toEqual({ pack: OLD, reason: 'base' });
  });

  it('answers null when the pack depends on the target: a part of the channel, a cohort pin', () => {
    expect(uniformDesiredPack(buildChannelIndex(input()), at(1))).toBeNull();
    const cohortPin = buildChannelIndex(
      input({
        rollout: null,
        pins: [
          {
            cohort: { matchLabels: { region: 'eu' } },
            pack: PINNED,
            expiresAt: at(600),
            reason: 'hold',
          },
        ],
        floor: null,
      }),
    );
    expect(uniformDesiredPack(cohortPin, at(1))).toBeNull();
    // once that pin expired, every target is back on the base
    expect(uniformDesiredPack(cohortPin, at(600))).toEqual({ pack: OLD, reason: 'base' });
  });

  it('gives a channel pin, and falls back like desiredPack when the chosen pack is revoked', () => {
    const pin = { cohort: null, pack: PINNED, expiresAt: at(600), reason: 'hold' };
    const pinned = buildChannelIndex(input({ pins: [pin], floor: null }));
    expect(uniformDesiredPack(pinned, at(1))).toEqual({ pack: PINNED, reason: 'pin' });
    const revoked = buildChannelIndex(input({ rollout: rollout(100), revoked: [NEW, OLD] }));
    expect(uniformDesiredPack(revoked, at(1))).toEqual({ pack: null, reason: 'none' });
  });

  it('when it answers, agrees with desiredPack for every target', () => {
    const digests = [NEW, OLD, OLDER, PINNED];
    const digest = fc.constantFrom(...digests);
    const selector = fc.option(fc.constantFrom({ matchLabels: { region: 'eu' } }, {}), {
      nil: null,
    });
    const bucket = fc.option(
      fc.record({
        salt: fc.string({ minLength: 1 }),
        percent: fc.double({ min: 0, max: 100, noNaN: true }),
      }),
      { nil: undefined },
    );
    const pin = fc.record({
      cohort: selector,
      bucket,
      pack: digest,
      expiresAt: fc.constantFrom(at(5), at(600)),
      reason: fc.constant('hold'),
    });
    const rolloutArb = fc.option(
      fc.record({
        release: fc.constant('r'),
        pack: digest,
        salt: fc.string({ minLength: 1 }),
        percent: fc.oneof(
          fc.constantFrom(0, 0.004, 99.995, 100),
          fc.double({ min: 0, max: 100, noNaN: true }),
        ),
        cohorts: fc.array(fc.constantFrom({ matchLabels: { region: 'eu' } }, {}), {
          maxLength: 2,
        }),
        bucket,
      }),
      { nil: null },
    );
    const target = fc.record({
      id: fc.string(),
      labels: fc.constantFrom<Record<string, string>>({ region: 'eu' }, { region: 'us' }, {}),
    });
    fc.assert(
      fc.property(
        fc.array(pin, { maxLength: 3 }),
        rolloutArb,
        fc.option(digest, { nil: null }),
        fc.subarray(digests),
        fc.constantFrom(null, 13, 15),
        fc.array(target, { minLength: 1, maxLength: 20 }),
        fc.constantFrom(1, 10, 700),
        (pins, rolloutValue, base, revoked, floor, targets, seconds) => {
          const index = buildChannelIndex(
            input({
              pins: pins.map(({ bucket: b, ...p }) => (b === undefined ? p : { ...p, bucket: b })),
              rollout:
                rolloutValue === null
                  ? null
                  : (({ bucket: b, ...r }) => (b === undefined ? r : { ...r, bucket: b }))(
                      rolloutValue,
                    ),
              base,
              revoked,
              floor,
            }),
          );
          const uniform = uniformDesiredPack(index, at(seconds));
          if (uniform === null) return true;
          return targets.every((t) => {
            const each = desiredPack(index, t, at(seconds));
            return each.pack === uniform.pack && each.reason === uniform.reason;
          });
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('channel index signing', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const other = generateKeyPairSync('ed25519');
  const trusted = [{ keyId: 'server-1', key: publicKey }];
  const payload = buildChannelIndex(input());
  const envelope = signChannelIndex(payload, privateKey, 'server-1');
  const opts = { now: at(60), highestSeenVersion: 41 };

  it('uses the DSSE v1 pre-authentication encoding', () => {
    const pae = preAuthEncoding(
      'http://example.com/HelloWorld',
      new TextEncoder().encode('hello world'),
    );
    expect(Buffer.from(pae).toString()).toBe(
      'DSSEv1 29 http://example.com/HelloWorld 11 hello world',
    );
  });

  it('signs the JCS payload and verifies back to the same payload', () => {
    expect(envelope.payloadType).toBe('application/vnd.lockgate.channel-index+json');
    expect(JSON.parse(Buffer.from(envelope.payload, 'base64').toString())).toEqual(payload);
    expect(verifyChannelIndex(envelope, trusted, opts)).toEqual(payload);
    expect(
      verifyChannelIndex(envelope, trusted, {
        now: at(60),
        highestSeenVersion: 42,
        env: 'prod-eu',
        channel: 'stable',
      }).version,
    ).toBe(42);
  });

  it('refuses a tampered payload with INDEX_SIGNATURE_INVALID', () => {
    const tampered: ChannelIndexPayload = { ...payload, base: NEW };
    const forged: DsseEnvelope = {
      ...envelope,
      payload: Buffer.from(JSON.stringify(tampered)).toString('base64'),
    };
    expect(codeOf(() => verifyChannelIndex(forged, trusted, opts))).toBe('INDEX_SIGNATURE_INVALID');
  });

  it('never verifies an envelope with any one payload byte changed', () => {
    const bytes = Buffer.from(envelope.payload, 'base64');
    fc.assert(
      fc.property(fc.nat(bytes.length - 1), fc.integer({ min: 1, max: 255 }), (i, flip) => {
        const copy = Buffer.from(bytes);
        copy[i] = (copy[i] ?? 0) ^ flip;
        const code = codeOf(() =>
          verifyChannelIndex({ ...envelope, payload: copy.toString('base64') }, trusted, opts),
        );
        return code === 'INDEX_SIGNATURE_INVALID';
      }),
    );
  });

  it('refuses an index signed by an unknown key with INDEX_SIGNER_UNTRUSTED', () => {
    const byOther = signChannelIndex(payload, other.privateKey, 'rogue');
    expect(codeOf(() => verifyChannelIndex(byOther, trusted, opts))).toBe('INDEX_SIGNER_UNTRUSTED');
    const lying = signChannelIndex(payload, other.privateKey, 'server-1');
    expect(codeOf(() => verifyChannelIndex(lying, trusted, opts))).toBe('INDEX_SIGNATURE_INVALID');
  });

  it('refuses an expired index with INDEX_EXPIRED', () => {
    expect(codeOf(() => verifyChannelIndex(envelope, trusted, { now: at(86_400) }))).toBe(
      'INDEX_EXPIRED',
    );
  });

  it('refuses an older version than one already seen with INDEX_REPLAYED', () => {
    expect(
      codeOf(() => verifyChannelIndex(envelope, trusted, { now: at(60), highestSeenVersion: 43 })),
    ).toBe('INDEX_REPLAYED');
  });

  it('refuses malformed envelopes, wrong payload types and other channels with INDEX_INVALID', () => {
    expect(codeOf(() => verifyChannelIndex({ payload: 'x' }, trusted, opts))).toBe('INDEX_INVALID');
    expect(
      codeOf(() =>
        verifyChannelIndex({ ...envelope, payloadType: 'application/json' }, trusted, opts),
      ),
    ).toBe('INDEX_INVALID');
    expect(codeOf(() => verifyChannelIndex({ ...envelope, payload: '%%%' }, trusted, opts))).toBe(
      'INDEX_INVALID',
    );
    expect(
      codeOf(() => verifyChannelIndex(envelope, trusted, { ...opts, channel: 'canary' })),
    ).toBe('INDEX_INVALID');
    const unknownField = signChannelIndex.bind(
      null,
      { ...payload, extra: 1 } as ChannelIndexPayload,
      privateKey,
      'server-1',
    );
    expect(codeOf(unknownField)).toBe('INDEX_INVALID');
  });
});
