import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applyReleaseResult,
  channelRules,
  createChannel,
  decideChannel,
  packRefusals,
  ROLLBACK_AUTHORIZATION_SECONDS,
} from '../../src/channel/index.ts';
import type {
  ChannelChange,
  ChannelEvent,
  ChannelPack,
  ChannelState,
  NamedPack,
} from '../../src/channel/index.ts';
import { isLockgateError } from '../../src/errors.ts';
import { at, digest } from '../release/fixtures.ts';
import type { DecideResult, ReleaseState } from '../../src/release/index.ts';

const now = at(0);
const PACKS: NamedPack[] = [1, 2, 3, 4].map((sequence) => ({
  digest: digest(`kb-${sequence}`),
  name: 'kb',
  version: `1.${sequence}.0`,
  sequence,
  requires: { runtime: '>=1.0.0' },
}));
const pack = (sequence: number): NamedPack => {
  const found = PACKS[sequence - 1];
  if (found === undefined) throw new Error(`no pack ${sequence}`);
  return found;
};

function state(overrides: Partial<ChannelState> = {}): ChannelState {
  return {
    env: 'prod-eu',
    name: 'stable',
    plan: 'canary',
    floor: null,
    constraints: {},
    cohorts: [{ name: 'eu', selector: { matchLabels: { region: 'eu' } } }],
    indexTtlSeconds: 3600,
    base: null,
    lkg: null,
    rollout: null,
    activeRelease: null,
    createdAt: at(-100),
    createdBy: 'ops',
    updatedAt: at(-100),
    updatedBy: 'ops',
    pins: [],
    rollbackAuthorizations: [],
    revoked: [],
    packs: Object.fromEntries(PACKS.map(({ requires: _r, ...p }) => [p.digest, p])),
    ...overrides,
  };
}

/** What the server's store holds after applying `changes` to the store of `before`. */
function applied(before: ChannelState, changes: readonly ChannelChange[]) {
  let pins = [...before.pins];
  let authorizations = [...before.rollbackAuthorizations];
  for (const change of changes) {
    if (change.kind === 'upsertPin') {
      pins = [...pins.filter((p) => p.cohort !== change.pin.cohort), change.pin];
    } else if (change.kind === 'deletePin') {
      pins = pins.filter((p) => p.cohort !== change.cohort);
    } else if (change.kind === 'insertRollbackAuthorization') {
      authorizations = [...authorizations, change.authorization];
    } else if (change.kind === 'updateRollbackAuthorization') {
      authorizations = authorizations.map((a) =>
        a.id === change.authorization.id ? change.authorization : a,
      );
    } else if (change.kind === 'deleteRollbackAuthorization') {
      authorizations = authorizations.filter((a) => a.id !== change.id);
    }
  }
  const byCohort = (a: { cohort: string }, b: { cohort: string }) =>
    a.cohort.localeCompare(b.cohort);
  const byId = (a: { id: string }, b: { id: string }) => a.id.localeCompare(b.id);
  return { pins: pins.sort(byCohort), rollbackAuthorizations: authorizations.sort(byId) };
}

/** The packs the channel tells targets to run (base and unexpired pins) that the rule refuses. */
function refusedInUse(s: ChannelState): string[] {
  const inUse = [
    ...(s.base === null ? [] : [s.base]),
    ...s.pins.filter((p) => p.expiresAt > now).map((p) => p.pack),
  ];
  return inUse.filter((d) => {
    const facts = s.packs[d];
    return facts !== undefined && packRefusals(channelRules(s), facts, now).length > 0;
  });
}

describe('decideChannel', () => {
  describe('pins', () => {
    it('sets a pin, authorizes its pack until the pin expires, and asks for a new index', () => {
      const result = decideChannel(
        state({ floor: 3 }),
        {
          kind: 'pin.set',
          cohort: '_',
          pack: pack(3),
          reason: 'incident 7',
          expiresAt: at(3600),
          actor: 'ops',
          authorizationId: 'rba_1',
        },
        now,
      );
      expect(result.resign).toBe(true);
      expect(result.state.pins).toMatchObject([{ cohort: '_', pack: pack(3).digest }]);
      expect(result.changes.map((c) => c.kind)).toEqual([
        'upsertPin',
        'insertRollbackAuthorization',
      ]);
      expect(result.drafts).toMatchObject([
        { kind: 'pin', rule: 'pin.set', inputs: { rollbackAuthorization: 'rba_1' } },
      ]);
    });

    it('refuses a pin the channel rule refuses: revoked, below the floor, or not meeting the constraints', () => {
      const pin = (overrides: Partial<ChannelState>, sequence: number) => () =>
        decideChannel(
          state(overrides),
          {
            kind: 'pin.set',
            cohort: '_',
            pack: pack(sequence),
            reason: 'r',
            expiresAt: at(60),
            actor: 'ops',
            authorizationId: 'rba_1',
          },
          now,
        );
      expect(pin({ revoked: [pack(2).digest] }, 2)).toThrow(
        expect.objectContaining({ code: 'PACK_REVOKED' }),
      );
      expect(pin({ floor: 3 }, 2)).toThrow(
        expect.objectContaining({ code: 'RELEASE_BELOW_FLOOR' }),
      );
      expect(pin({ constraints: { runtime: '>=0.5.0' } }, 2)).toThrow(
        expect.objectContaining({ code: 'PACK_INCOMPATIBLE' }),
      );
      expect(pin({ constraints: { runtime: '>=2.0.0' } }, 2)).not.toThrow();
    });

    it('refuses a pin on a cohort the channel does not have', () => {
      expect(() =>
        decideChannel(
          state(),
          {
            kind: 'pin.set',
            cohort: 'us',
            pack: pack(2),
            reason: 'r',
            expiresAt: at(60),
            actor: 'ops',
            authorizationId: 'rba_1',
          },
          now,
        ),
      ).toThrow(expect.objectContaining({ code: 'PIN_INVALID' }));
    });

    it('lapses only the pins whose expiry has come, once', () => {
      const pins = [
        {
          cohort: '_',
          selector: null,
          pack: pack(2).digest,
          reason: 'r',
          actor: 'a',
          createdAt: at(-9),
          expiresAt: at(0),
        },
        {
          cohort: 'eu',
          selector: { matchLabels: { region: 'eu' } },
          pack: pack(3).digest,
          reason: 'r',
          actor: 'a',
          createdAt: at(-9),
          expiresAt: at(1),
        },
      ];
      const first = decideChannel(state({ pins }), { kind: 'pins.lapse' }, now);
      expect(first.changes).toEqual([{ kind: 'deletePin', cohort: '_' }]);
      expect(first.drafts).toMatchObject([{ rule: 'pin.expired', actor: 'controller' }]);
      const again = decideChannel(first.state, { kind: 'pins.lapse' }, now);
      expect(again).toMatchObject({ changes: [], drafts: [], resign: false });
    });

    it('clears a pin, and refuses to clear one that is not set', () => {
      const pins = [
        {
          cohort: '_',
          selector: null,
          pack: pack(2).digest,
          reason: 'r',
          actor: 'a',
          createdAt: at(-9),
          expiresAt: at(60),
        },
      ];
      const event: ChannelEvent = { kind: 'pin.clear', cohort: '_', reason: 'done', actor: 'ops' };
      const cleared = decideChannel(state({ pins }), event, now);
      expect(cleared.state.pins).toEqual([]);
      expect(() => decideChannel(cleared.state, event, now)).toThrow(
        expect.objectContaining({ code: 'PIN_NOT_FOUND' }),
      );
    });
  });

  describe('rollback authorizations', () => {
    const grant = (expiresAt: string, id: string): ChannelEvent => ({
      kind: 'rollbackAuthorization.grant',
      pack: pack(1),
      reason: 'incident',
      expiresAt,
      actor: 'ops',
      authorizationId: id,
    });

    it('grants once, extends under the same id, and keeps a longer one unchanged', () => {
      const granted = decideChannel(state({ floor: 3 }), grant(at(60), 'rba_1'), now);
      expect(granted.drafts).toMatchObject([{ rule: 'rollback_authorization.granted' }]);
      const extended = decideChannel(granted.state, grant(at(120), 'rba_2'), now);
      expect(extended.drafts).toMatchObject([
        {
          rule: 'rollback_authorization.extended',
          inputs: { id: 'rba_1', previousExpiresAt: at(60) },
        },
      ]);
      const kept = decideChannel(extended.state, grant(at(90), 'rba_3'), now);
      expect(kept).toMatchObject({ changes: [], drafts: [], resign: false });
      expect(kept.state.rollbackAuthorizations).toHaveLength(1);
    });

    it('refuses to revoke the authorization the base below the floor runs on', () => {
      const authorized = decideChannel(
        state({ floor: 3, base: pack(1).digest }),
        grant(at(60), 'rba_1'),
        now,
      ).state;
      const revoke: ChannelEvent = {
        kind: 'rollbackAuthorization.revoke',
        id: 'rba_1',
        reason: 'r',
        actor: 'ops',
      };
      expect(() => decideChannel(authorized, revoke, now)).toThrow(
        expect.objectContaining({ code: 'CONFLICT' }),
      );
      const unused = decideChannel({ ...authorized, base: pack(4).digest }, revoke, now);
      expect(unused.changes).toEqual([{ kind: 'deleteRollbackAuthorization', id: 'rba_1' }]);
      expect(() => decideChannel(unused.state, revoke, now)).toThrow(
        expect.objectContaining({ code: 'ROLLBACK_AUTHORIZATION_NOT_FOUND' }),
      );
    });
  });

  describe('configuration', () => {
    it('refuses a floor above the base unless the operator accepts it, and records that', () => {
      const s = state({ base: pack(1).digest });
      const floor = (accept: boolean) =>
        decideChannel(
          s,
          {
            kind: 'config.change',
            config: { floor: 2 },
            actor: 'ops',
            reason: null,
            acceptBaseBelowFloor: accept,
          },
          now,
        );
      expect(() => floor(false)).toThrow(expect.objectContaining({ code: 'FLOOR_ABOVE_BASE' }));
      expect(floor(true)).toMatchObject({
        resign: true,
        changes: [{ kind: 'saveChannel' }],
        drafts: [{ rule: 'channel.updated', inputs: { baseBelowFloor: { accepted: true } } }],
      });
    });

    it('changes nothing, records nothing and signs nothing when the configuration is the same', () => {
      const s = state({ floor: 2 });
      const same = decideChannel(
        s,
        { kind: 'config.change', config: { floor: 2 }, actor: 'ops', reason: null },
        now,
      );
      expect(same).toEqual({ state: s, changes: [], drafts: [], resign: false });
    });

    it('re-signs the index for a floor or TTL change, not for a plan change', () => {
      const change = (config: Partial<ChannelState>) =>
        decideChannel(state(), { kind: 'config.change', config, actor: 'ops', reason: null }, now)
          .resign;
      expect(change({ indexTtlSeconds: 60 })).toBe(true);
      expect(change({ floor: 1 })).toBe(true);
      expect(change({ plan: 'fast' })).toBe(false);
    });

    it('refuses a floor above a pinned pack that no authorization covers', () => {
      const pins = [
        {
          cohort: 'eu',
          selector: { matchLabels: { region: 'eu' } },
          pack: pack(2).digest,
          reason: 'r',
          actor: 'a',
          createdAt: at(-9),
          expiresAt: at(60),
        },
      ];
      const raise = (s: ChannelState) => () =>
        decideChannel(
          s,
          { kind: 'config.change', config: { floor: 3 }, actor: 'ops', reason: null },
          now,
        );
      expect(raise(state({ pins }))).toThrow(expect.objectContaining({ code: 'CONFLICT' }));
      const authorized = state({
        pins,
        rollbackAuthorizations: [
          {
            id: 'rba_1',
            pack: pack(2).digest,
            reason: 'r',
            actor: 'a',
            createdAt: at(-9),
            expiresAt: at(60),
          },
        ],
      });
      expect(raise(authorized)).not.toThrow();
    });

    it('refuses to change a cohort a pin or the active release uses', () => {
      const pins = [
        {
          cohort: 'eu',
          selector: { matchLabels: { region: 'eu' } },
          pack: pack(2).digest,
          reason: 'r',
          actor: 'a',
          createdAt: at(-9),
          expiresAt: at(60),
        },
      ];
      expect(() =>
        decideChannel(
          state({ pins }),
          { kind: 'config.change', config: { cohorts: [] }, actor: 'ops', reason: null },
          now,
        ),
      ).toThrow(expect.objectContaining({ code: 'CONFLICT' }));
    });

    it('creates a channel with no base and records its configuration', () => {
      const created = createChannel(
        {
          env: 'prod-eu',
          name: 'lts',
          config: {
            plan: 'canary',
            floor: null,
            constraints: {},
            cohorts: [],
            indexTtlSeconds: 60,
          },
          actor: 'ops',
          reason: null,
          revoked: [],
        },
        now,
      );
      expect(created.changes).toEqual([{ kind: 'insertChannel' }]);
      expect(created.drafts).toMatchObject([{ rule: 'channel.created' }]);
      expect(created.state.base).toBeNull();
    });
  });

  describe('invariants', () => {
    const cohort = fc.constantFrom('_', 'eu');
    const sequence = fc.integer({ min: 1, max: 4 });
    const event: fc.Arbitrary<ChannelEvent> = fc.oneof(
      fc.record({
        kind: fc.constant('pin.set' as const),
        cohort,
        pack: sequence.map(pack),
        reason: fc.constant('r'),
        expiresAt: fc.integer({ min: 1, max: 100 }).map(at),
        actor: fc.constant('ops'),
        authorizationId: fc.uuid().map((u) => `rba_${u}`),
      }),
      fc.record({
        kind: fc.constant('pin.clear' as const),
        cohort,
        reason: fc.constant('r'),
        actor: fc.constant('ops'),
      }),
      fc.constant({ kind: 'pins.lapse' as const }),
      fc.record({
        kind: fc.constant('rollbackAuthorization.grant' as const),
        pack: sequence.map((s): ChannelPack => pack(s)),
        reason: fc.constant('r'),
        expiresAt: fc.integer({ min: 1, max: 100 }).map(at),
        actor: fc.constant('ops'),
        authorizationId: fc.uuid().map((u) => `rba_${u}`),
      }),
      fc.record({
        kind: fc.constant('rollbackAuthorization.revoke' as const),
        id: fc.constantFrom('rba_a', 'rba_b'),
        reason: fc.constant('r'),
        actor: fc.constant('ops'),
      }),
      fc.record({
        kind: fc.constant('config.change' as const),
        config: fc.record({ floor: fc.option(fc.integer({ min: 1, max: 4 })) }),
        actor: fc.constant('ops'),
        reason: fc.constant(null),
      }),
      fc.constant({ kind: 'index.refresh' as const }),
    );
    const start = fc
      .record({
        base: fc.option(sequence),
        floor: fc.option(fc.integer({ min: 1, max: 4 })),
        authorized: fc.subarray([1, 2, 3, 4]),
      })
      .map(({ base, floor, authorized }) =>
        state({
          base: base === null ? null : pack(base).digest,
          floor,
          rollbackAuthorizations: authorized.map((s, i) => ({
            id: i === 0 ? 'rba_a' : `rba_${String.fromCharCode(98 + i - 1)}`,
            pack: pack(s).digest,
            reason: 'r',
            actor: 'ops',
            createdAt: at(-1),
            expiresAt: at(50),
          })),
        }),
      )
      .filter((s) => refusedInUse(s).length === 0);

    it('no event leaves the base or a pin that the channel rule refuses (accepted floors aside)', () => {
      fc.assert(
        fc.property(start, fc.array(event, { maxLength: 12 }), (initial, events) => {
          let s = initial;
          for (const e of events) {
            try {
              s = decideChannel(s, e, now).state;
            } catch (error) {
              if (!isLockgateError(error)) throw error;
            }
            if (refusedInUse(s).length > 0) return false;
          }
          return true;
        }),
      );
    });

    it('the changes it returns turn the stored pins and authorizations into the new state', () => {
      fc.assert(
        fc.property(start, fc.array(event, { maxLength: 12 }), (initial, events) => {
          let s = initial;
          for (const e of events) {
            let decided;
            try {
              decided = decideChannel(s, e, now);
            } catch (error) {
              if (!isLockgateError(error)) throw error;
              continue;
            }
            const expected = applied(s, decided.changes);
            const got = applied(decided.state, []);
            expect(got).toEqual(expected);
            if (decided.changes.length === 0 && decided.drafts.length > 0) return false;
            s = decided.state;
          }
          return true;
        }),
      );
    });

    it('a refused event changes nothing: the same state decides the same way again', () => {
      fc.assert(
        fc.property(start, event, (initial, e) => {
          const copy = structuredClone(initial);
          try {
            decideChannel(initial, e, now);
          } catch {
            // refused
          }
          expect(initial).toEqual(copy);
        }),
      );
    });
  });
});

describe('applyReleaseResult', () => {
  const release = (overrides: Partial<ReleaseState>): ReleaseState => ({
    id: 'rel_1',
    env: 'prod-eu',
    channel: 'stable',
    pack: pack(4).digest,
    packSequence: 4,
    basePack: pack(3).digest,
    plan: { name: 'p', stages: [] },
    state: 'rolled_back',
    stageIndex: 0,
    stageStartedAt: at(-60),
    approvals: [],
    requestedBy: 'ops',
    reason: 'r',
    version: 3,
    ...overrides,
  });
  const result = (r: ReleaseState, actions: DecideResult['actions']): DecideResult => ({
    release: r,
    actions,
    decisions: [
      {
        release: r.id,
        at: now,
        kind: 'health',
        rule: 'gate.failed',
        actor: 'controller',
        reason: null,
        from: 'rolling',
        to: r.state,
        stageIndex: 0,
        inputs: {},
        verdict: 'rolled_back',
      },
    ],
  });

  it('rolls the channel back and authorizes the older target for agents, for a week', () => {
    const r = release({});
    const s = state({ base: pack(3).digest, activeRelease: 'rel_1', lkg: pack(2).digest });
    const decided = applyReleaseResult(
      s,
      result(r, [{ kind: 'rollback', release: 'rel_1', pack: pack(4).digest, to: pack(2).digest }]),
      now,
      'rba_r',
    );
    expect(decided.state).toMatchObject({
      base: pack(2).digest,
      rollout: null,
      activeRelease: null,
    });
    expect(decided.drafts.map((d) => d.rule)).toEqual([
      'gate.failed',
      'rollback_authorization.granted_by_rollback',
    ]);
    expect(decided.state.rollbackAuthorizations).toMatchObject([
      { id: 'rba_r', pack: pack(2).digest, expiresAt: at(ROLLBACK_AUTHORIZATION_SECONDS) },
    ]);
    expect(decided.changes.at(-1)).toEqual({ kind: 'saveChannel' });
    expect(decided.resign).toBe(true);
  });

  it('never authorizes a rollback target below the floor (that takes an operator)', () => {
    const s = state({ base: pack(3).digest, floor: 3, activeRelease: 'rel_1' });
    const decided = applyReleaseResult(
      s,
      result(release({}), [
        { kind: 'rollback', release: 'rel_1', pack: pack(4).digest, to: pack(2).digest },
      ]),
      now,
      'rba_r',
    );
    expect(decided.state.rollbackAuthorizations).toEqual([]);
    expect(decided.drafts).toHaveLength(1);
  });

  it('signs nothing for a step without actions and frees the channel only when the release ends', () => {
    const s = state({ activeRelease: 'rel_1' });
    const paused = applyReleaseResult(s, result(release({ state: 'paused' }), []), now, 'rba_r');
    expect(paused.resign).toBe(false);
    expect(paused.state.activeRelease).toBe('rel_1');
  });
});
