/**
 * The channel core: `decideChannel(state, event, now)` decides every change to a channel that is
 * not a release step — configuration (floor, TTL, constraints, cohorts, plan), pins set, cleared
 * and lapsed, rollback authorizations granted and revoked, a revocation reaching the channel and
 * the periodic re-issue of its index — and returns the next state, the changes to store, the
 * decision drafts to record and whether the index must be re-signed (`ChannelDecision`).
 * `createChannel` decides a new channel; `applyReleaseResult` (release-changes.ts) the channel
 * side of a release step.
 *
 * Invariants: pure (time is `now`, new ids come in the event); a refused event throws a
 * LockgateError with a stable code and changes nothing; an event that changes nothing returns no
 * change, no draft and `resign: false` (idempotent); every pin it sets is a pack the channel
 * allows (`packRefusals`), a floor change never leaves a pin refused nor the base unless the
 * operator accepted it (`acceptBaseBelowFloor`, recorded), and removing an authorization never
 * leaves the base or a pin refused. (A revocation does: a revoked pack is never run.)
 */
import { canonicalJson } from '../canonical-json.ts';
import { LockgateError } from '../errors.ts';
import { isoOf, toMillis } from '../release/instant.ts';
import type { Instant } from '../release/instant.ts';
import { isUnexpired } from '../release/pin.ts';
import type { LabelSelector } from '../release/selector.ts';
import { channelDraft, configOf, WHOLE_CHANNEL } from './channel-state.ts';
import type {
  ChannelConfig,
  ChannelDecision,
  ChannelPack,
  ChannelPin,
  ChannelRollbackAuthorization,
  ChannelState,
} from './channel-state.ts';
import { packRefusals } from './pack-refusal.ts';
import type { ChannelRules, PackFacts } from './pack-refusal.ts';
import { grantRollbackAuthorization } from './rollback-grant.ts';

/** A pack named by an operator, as the server found it (with its manifest's `requires`). */
export type NamedPack = ChannelPack & { requires: Record<string, string> };

export type ChannelEvent =
  | {
      kind: 'config.change';
      config: Partial<ChannelConfig>;
      actor: string;
      reason: string | null;
      /** confirms a floor that leaves the base below it (recorded) */
      acceptBaseBelowFloor?: boolean;
      /** the cohorts the channel's active release's stages name (they may not change) */
      releaseCohorts?: readonly { stage: string; cohort: string }[];
    }
  | {
      kind: 'pin.set';
      cohort: string;
      pack: NamedPack;
      reason: string;
      expiresAt: string;
      actor: string;
      /** the id of the rollback authorization the pin grants, when a new one is stored */
      authorizationId: string;
    }
  | { kind: 'pin.clear'; cohort: string; reason: string; actor: string }
  /** the controller removes the pins whose expiry is at or before `now` */
  | { kind: 'pins.lapse' }
  | {
      kind: 'rollbackAuthorization.grant';
      pack: ChannelPack;
      reason: string;
      expiresAt: string;
      actor: string;
      authorizationId: string;
    }
  | { kind: 'rollbackAuthorization.revoke'; id: string; reason: string; actor: string }
  /** a pack was revoked everywhere (the revocation's own record is `revocationDraft`'s) */
  | { kind: 'pack.revoked'; pack: string }
  /** the index nears its expiry: issue it again, nothing else changes */
  | { kind: 'index.refresh' };

/** The channel rule's view of a channel (floor, constraints, revocations, authorizations). */
export function channelRules(state: ChannelState): ChannelRules {
  return {
    floor: state.floor,
    constraints: state.constraints,
    revoked: state.revoked,
    rollbackAuthorizations: state.rollbackAuthorizations,
  };
}

/** Decides one channel event at `now` (see the file header). */
export function decideChannel(
  state: ChannelState,
  event: ChannelEvent,
  now: Instant,
): ChannelDecision {
  const at = isoOf(toMillis(now));
  switch (event.kind) {
    case 'config.change':
      return changeConfig(state, event, at);
    case 'pin.set':
      return setPin(state, event, at);
    case 'pin.clear':
      return clearPin(state, event, at);
    case 'pins.lapse':
      return lapsePins(state, at);
    case 'rollbackAuthorization.grant':
      return grantAuthorization(state, event, at);
    case 'rollbackAuthorization.revoke':
      return revokeAuthorization(state, event, at);
    case 'pack.revoked':
      if (state.revoked.includes(event.pack)) return unchanged(state);
      return {
        state: { ...state, revoked: [...state.revoked, event.pack].sort() },
        changes: [],
        drafts: [],
        resign: true,
      };
    case 'index.refresh':
      return { state, changes: [], drafts: [], resign: true };
  }
}

export interface NewChannelInput {
  env: string;
  name: string;
  config: ChannelConfig;
  actor: string;
  reason: string | null;
  /** the revoked packs the new index lists */
  revoked: readonly string[];
}

/** A new channel with no base, no pins and no authorizations: stored, recorded, signed. */
export function createChannel(input: NewChannelInput, now: Instant): ChannelDecision {
  const at = isoOf(toMillis(now));
  const state: ChannelState = {
    env: input.env,
    name: input.name,
    ...configOf(input.config),
    base: null,
    lkg: null,
    rollout: null,
    activeRelease: null,
    createdAt: at,
    createdBy: input.actor,
    updatedAt: at,
    updatedBy: input.actor,
    pins: [],
    rollbackAuthorizations: [],
    revoked: [...input.revoked],
    packs: {},
  };
  return {
    state,
    changes: [{ kind: 'insertChannel' }],
    drafts: [
      channelDraft(state, at, {
        kind: 'channel',
        rule: 'channel.created',
        actor: input.actor,
        reason: input.reason,
        verdict: 'created',
        inputs: { config: configOf(state) },
      }),
    ],
    resign: true,
  };
}

/** The record of a pack revoked everywhere (one for every channel it reaches). */
export function revocationDraft(input: {
  pack: ChannelPack;
  reason: string;
  actor: string;
  channels: readonly { env: string; name: string }[];
  now: Instant;
}): ChannelDecision['drafts'][number] {
  const { pack } = input;
  return {
    release: null,
    env: null,
    channel: null,
    at: isoOf(toMillis(input.now)),
    kind: 'revocation',
    rule: 'pack.revoked',
    actor: input.actor,
    reason: input.reason,
    from: null,
    to: null,
    stageIndex: null,
    inputs: {
      pack: pack.digest,
      name: pack.name,
      version: pack.version,
      sequence: pack.sequence,
      channels: input.channels.map((c) => `${c.env}/${c.name}`),
    },
    verdict: 'revoked',
  };
}

function unchanged(state: ChannelState): ChannelDecision {
  return { state, changes: [], drafts: [], resign: false };
}

function changeConfig(
  state: ChannelState,
  event: Extract<ChannelEvent, { kind: 'config.change' }>,
  at: string,
): ChannelDecision {
  const { config } = event;
  const next: ChannelState = {
    ...state,
    ...(config.plan === undefined ? {} : { plan: config.plan }),
    ...(config.floor === undefined ? {} : { floor: config.floor }),
    ...(config.constraints === undefined ? {} : { constraints: config.constraints }),
    ...(config.cohorts === undefined ? {} : { cohorts: config.cohorts }),
    ...(config.indexTtlSeconds === undefined ? {} : { indexTtlSeconds: config.indexTtlSeconds }),
  };
  const changes = changesOf(configOf(state), configOf(next));
  const stranded = 'floor' in changes ? baseBelowFloor(next, at) : null;
  if (stranded !== null && event.acceptBaseBelowFloor !== true) {
    throw new LockgateError(
      'FLOOR_ABOVE_BASE',
      `Floor ${next.floor} of ${state.env}/${state.name} is above its base ${stranded.name}@${stranded.version} (sequence ${stranded.sequence}): targets on the base would be left without a pack the channel allows. Release a pack at or above the floor first, authorize a rollback to the base, or confirm with acceptBaseBelowFloor (--accept-base-below-floor).`,
      {
        details: {
          env: state.env,
          channel: state.name,
          floor: next.floor,
          base: stranded.digest,
          sequence: stranded.sequence,
        },
      },
    );
  }
  if ('floor' in changes) checkPinsAllowed(next, at);
  if ('cohorts' in changes) checkCohortsInUse(state, next, event.releaseCohorts ?? []);
  if (Object.keys(changes).length === 0) return unchanged(state);
  next.updatedAt = at;
  next.updatedBy = event.actor;
  return {
    state: next,
    changes: [{ kind: 'saveChannel' }],
    drafts: [
      channelDraft(next, at, {
        kind: 'channel',
        rule: 'channel.updated',
        actor: event.actor,
        reason: event.reason,
        verdict: 'updated',
        inputs: {
          changes,
          ...(stranded === null
            ? {}
            : {
                baseBelowFloor: {
                  base: stranded.digest,
                  sequence: stranded.sequence,
                  accepted: true,
                },
              }),
        },
      }),
    ],
    resign: 'floor' in changes || 'indexTtlSeconds' in changes,
  };
}

/** The base when the channel rule refuses it for being below the floor, else null. */
function baseBelowFloor(state: ChannelState, at: string): ChannelPack | null {
  if (state.base === null) return null;
  const base = state.packs[state.base];
  if (base === undefined) return null;
  const refusals = packRefusals(channelRules(state), factsOf(base), at);
  return refusals.some((r) => r.code === 'RELEASE_BELOW_FLOOR') ? base : null;
}

/**
 * Refuses (CONFLICT) a floor that leaves an unexpired pin on a pack the channel rule refuses for
 * being below it: the targets the pin holds would have nothing to run. Unlike the base, no flag
 * accepts it; clear the pin or authorize a rollback to its pack first.
 */
function checkPinsAllowed(state: ChannelState, at: string): void {
  for (const pin of state.pins) {
    const pack = state.packs[pin.pack];
    if (!isUnexpired(pin.expiresAt, at) || pack === undefined) continue;
    const refusals = packRefusals(channelRules(state), factsOf(pack), at);
    if (!refusals.some((r) => r.code === 'RELEASE_BELOW_FLOOR')) continue;
    throw new LockgateError(
      'CONFLICT',
      `Floor ${state.floor} of ${state.env}/${state.name} is above ${pack.name}@${pack.version} (sequence ${pack.sequence}), the pack of pin ${pin.cohort}, and no rollback authorization covers it: the targets the pin holds would be left without a pack the channel allows. Clear the pin or authorize a rollback to its pack first.`,
      {
        details: {
          env: state.env,
          channel: state.name,
          floor: state.floor,
          cohort: pin.cohort,
          pack: pack.digest,
          sequence: pack.sequence,
        },
      },
    );
  }
}

/**
 * A cohort that a pin holds or that the active release's plan names cannot be removed or changed
 * (the pin or the stage would silently hold other targets): CONFLICT.
 */
function checkCohortsInUse(
  before: ChannelState,
  after: ChannelState,
  releaseCohorts: readonly { stage: string; cohort: string }[],
): void {
  const used = new Map<string, string>();
  for (const pin of before.pins) {
    if (pin.cohort !== WHOLE_CHANNEL) used.set(pin.cohort, `the pin on ${pin.cohort}`);
  }
  for (const { stage, cohort } of releaseCohorts) {
    used.set(cohort, `stage ${stage} of release ${before.activeRelease ?? '?'}`);
  }
  for (const [name, user] of used) {
    const was = before.cohorts.find((c) => c.name === name);
    const now = after.cohorts.find((c) => c.name === name);
    if (canonicalJson(was ?? null) !== canonicalJson(now ?? null)) {
      throw new LockgateError(
        'CONFLICT',
        `Cohort ${name} of ${before.env}/${before.name} is used by ${user}; it cannot be changed or removed until that ends.`,
        { details: { env: before.env, channel: before.name, cohort: name } },
      );
    }
  }
}

function changesOf(
  before: ChannelConfig,
  after: ChannelConfig,
): Record<string, { from: unknown; to: unknown }> {
  const changes: Record<string, { from: unknown; to: unknown }> = {};
  const was = before as unknown as Record<string, unknown>;
  const is = after as unknown as Record<string, unknown>;
  for (const field of Object.keys(is)) {
    if (canonicalJson(was[field] ?? null) !== canonicalJson(is[field] ?? null)) {
      changes[field] = { from: was[field] ?? null, to: is[field] ?? null };
    }
  }
  return changes;
}

/**
 * The selector a pin on `cohort` holds: null for the whole channel, the cohort's selector (`{}`
 * for a percentage-only cohort); PIN_INVALID when the channel has no such cohort.
 */
export function pinSelector(state: ChannelState, cohort: string): LabelSelector | null {
  if (cohort === WHOLE_CHANNEL) return null;
  const found = state.cohorts.find((c) => c.name === cohort);
  if (found === undefined) {
    throw new LockgateError(
      'PIN_INVALID',
      `Channel ${state.env}/${state.name} has no cohort ${cohort}.`,
      { details: { cohort } },
    );
  }
  return found.selector ?? {};
}

function setPin(
  state: ChannelState,
  event: Extract<ChannelEvent, { kind: 'pin.set' }>,
  at: string,
): ChannelDecision {
  const { cohort, pack, reason, actor, expiresAt } = event;
  const selector = pinSelector(state, cohort);
  const refusal = packRefusals(channelRules(state), factsOf(pack), at)[0];
  if (refusal !== undefined) throw pinRefused(state, pack, refusal);
  const previous = state.pins.find((pin) => pin.cohort === cohort) ?? null;
  const pin: ChannelPin = {
    cohort,
    selector,
    pack: pack.digest,
    reason,
    actor,
    createdAt: at,
    expiresAt,
  };
  const pinned: ChannelState = {
    ...state,
    pins: [...state.pins.filter((p) => p.cohort !== cohort), pin],
    packs: { ...state.packs, [pack.digest]: pack },
  };
  // Targets that committed a newer pack go back to the pinned one only when the signed index
  // authorizes it: the pin authorizes its pack until it expires (reusing the channel's
  // authorization of that pack when there is one).
  const grant = grantRollbackAuthorization(
    pinned,
    { pack: pack.digest, reason: `pin ${cohort}: ${reason}`, actor, expiresAt },
    at,
    event.authorizationId,
  );
  return {
    state: grant.state,
    changes: [{ kind: 'upsertPin', pin }, ...grant.changes],
    drafts: [
      channelDraft(state, at, {
        kind: 'pin',
        rule: 'pin.set',
        actor,
        reason,
        verdict: 'pinned',
        inputs: {
          cohort,
          selector,
          pack: pack.digest,
          expiresAt,
          previous:
            previous === null ? null : { pack: previous.pack, expiresAt: previous.expiresAt },
          rollbackAuthorization: grant.authorization.id,
        },
      }),
    ],
    resign: true,
  };
}

/** The operator's error for a pin the channel refuses, with what to do about it. */
function pinRefused(
  state: ChannelState,
  pack: NamedPack,
  refusal: { code: string; message: string },
): LockgateError {
  const where = `${state.env}/${state.name}`;
  switch (refusal.code) {
    case 'PACK_REVOKED':
      return new LockgateError('PACK_REVOKED', `Pack ${pack.digest} is revoked.`, {
        details: { pack: pack.digest },
      });
    case 'RELEASE_BELOW_FLOOR':
      return new LockgateError(
        'RELEASE_BELOW_FLOOR',
        `Pack ${pack.name}@${pack.version} (sequence ${pack.sequence}) is below the floor ${state.floor} of ${where}; authorize a rollback to it first (lockgate rollback-auth add ${where} ${pack.name}@${pack.version}).`,
        { details: { pack: pack.digest, sequence: pack.sequence, floor: state.floor } },
      );
    case 'PACK_INCOMPATIBLE':
      return new LockgateError(
        'PACK_INCOMPATIBLE',
        `Pack ${pack.name}@${pack.version} may not be pinned on ${where}: ${refusal.message}.`,
        { details: { pack: pack.digest, constraints: state.constraints } },
      );
    default:
      return new LockgateError(
        'PIN_INVALID',
        `Pack ${pack.digest} may not be pinned on ${where}: ${refusal.message}.`,
        { details: { pack: pack.digest } },
      );
  }
}

function clearPin(
  state: ChannelState,
  event: Extract<ChannelEvent, { kind: 'pin.clear' }>,
  at: string,
): ChannelDecision {
  const { cohort, reason, actor } = event;
  const removed = state.pins.find((pin) => pin.cohort === cohort);
  if (removed === undefined) {
    throw new LockgateError(
      'PIN_NOT_FOUND',
      `No pin is set on ${state.env}/${state.name} ${cohort}.`,
      { details: { env: state.env, channel: state.name, cohort } },
    );
  }
  return {
    state: { ...state, pins: state.pins.filter((pin) => pin.cohort !== cohort) },
    changes: [{ kind: 'deletePin', cohort }],
    drafts: [
      channelDraft(state, at, {
        kind: 'pin',
        rule: 'pin.cleared',
        actor,
        reason,
        verdict: 'unpinned',
        inputs: { cohort, pack: removed.pack, expiresAt: removed.expiresAt },
      }),
    ],
    resign: true,
  };
}

function lapsePins(state: ChannelState, at: string): ChannelDecision {
  const lapsed = state.pins.filter((pin) => !(pin.expiresAt > at));
  if (lapsed.length === 0) return unchanged(state);
  return {
    state: { ...state, pins: state.pins.filter((pin) => pin.expiresAt > at) },
    changes: lapsed.map((pin) => ({ kind: 'deletePin', cohort: pin.cohort })),
    drafts: lapsed.map((pin) =>
      channelDraft(state, at, {
        kind: 'pin',
        rule: 'pin.expired',
        actor: 'controller',
        reason: null,
        verdict: 'unpinned',
        inputs: {
          cohort: pin.cohort,
          pack: pin.pack,
          expiresAt: pin.expiresAt,
          pinnedBy: pin.actor,
          pinReason: pin.reason,
        },
      }),
    ),
    resign: true,
  };
}

function grantAuthorization(
  state: ChannelState,
  event: Extract<ChannelEvent, { kind: 'rollbackAuthorization.grant' }>,
  at: string,
): ChannelDecision {
  const { pack, reason, actor } = event;
  const known: ChannelState = { ...state, packs: { ...state.packs, [pack.digest]: pack } };
  const grant = grantRollbackAuthorization(
    known,
    { pack: pack.digest, reason, actor, expiresAt: event.expiresAt },
    at,
    event.authorizationId,
  );
  if (grant.outcome === 'unchanged') return { ...unchanged(state), state: grant.state };
  const { authorization } = grant;
  return {
    state: grant.state,
    changes: grant.changes,
    drafts: [
      channelDraft(state, at, {
        kind: 'rollback_authorization',
        rule:
          grant.outcome === 'granted'
            ? 'rollback_authorization.granted'
            : 'rollback_authorization.extended',
        actor,
        reason,
        verdict: 'authorized',
        inputs: {
          id: authorization.id,
          pack: pack.digest,
          sequence: pack.sequence,
          floor: state.floor,
          expiresAt: authorization.expiresAt,
          ...(grant.previousExpiresAt === null
            ? {}
            : { previousExpiresAt: grant.previousExpiresAt }),
        },
      }),
    ],
    resign: true,
  };
}

function revokeAuthorization(
  state: ChannelState,
  event: Extract<ChannelEvent, { kind: 'rollbackAuthorization.revoke' }>,
  at: string,
): ChannelDecision {
  const { id, reason, actor } = event;
  const found = state.rollbackAuthorizations.find(
    (a) => a.id === id && isUnexpired(a.expiresAt, at),
  );
  if (found === undefined) {
    throw new LockgateError(
      'ROLLBACK_AUTHORIZATION_NOT_FOUND',
      `Channel ${state.env}/${state.name} has no unexpired rollback authorization ${id}.`,
      { details: { env: state.env, channel: state.name, id } },
    );
  }
  const next: ChannelState = {
    ...state,
    rollbackAuthorizations: state.rollbackAuthorizations.filter((a) => a.id !== id),
  };
  checkNotInUse(next, found, at);
  return {
    state: next,
    changes: [{ kind: 'deleteRollbackAuthorization', id }],
    drafts: [
      channelDraft(state, at, {
        kind: 'rollback_authorization',
        rule: 'rollback_authorization.revoked',
        actor,
        reason,
        verdict: 'revoked',
        inputs: { id, pack: found.pack, floor: state.floor, expiresAt: found.expiresAt },
      }),
    ],
    resign: true,
  };
}

/**
 * Refuses (CONFLICT) to remove the last authorization of a pack below the floor that targets are
 * told to run (the channel's base or an unexpired pin's pack): they would be left with nothing.
 * `after` is the channel without the authorization.
 */
function checkNotInUse(
  after: ChannelState,
  authorization: ChannelRollbackAuthorization,
  at: string,
): void {
  const pack = after.packs[authorization.pack];
  if (pack === undefined) return;
  const refusals = packRefusals(channelRules(after), factsOf(pack), at);
  if (!refusals.some((r) => r.code === 'RELEASE_BELOW_FLOOR')) return;
  const pins = after.pins.filter((pin) => isUnexpired(pin.expiresAt, at));
  const uses = [
    ...(after.base === authorization.pack ? ['the channel base'] : []),
    ...pins.filter((pin) => pin.pack === authorization.pack).map((pin) => `pin ${pin.cohort}`),
  ];
  if (uses.length === 0) return;
  throw new LockgateError(
    'CONFLICT',
    `Pack ${authorization.pack} (sequence ${pack.sequence}) is below the floor ${after.floor} of ${after.env}/${after.name} and is ${uses.join(' and ')}; targets would have nothing to run. Release a newer pack, clear the pin or lower the floor first.`,
    { details: { id: authorization.id, pack: authorization.pack, uses } },
  );
}

/** The rule's facts of a pack (with its `requires` when the caller knows them). */
function factsOf(pack: PackFacts): PackFacts {
  return pack.requires === undefined
    ? { digest: pack.digest, sequence: pack.sequence }
    : { digest: pack.digest, sequence: pack.sequence, requires: pack.requires };
}
