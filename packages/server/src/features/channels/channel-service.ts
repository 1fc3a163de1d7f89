import {
  canonicalJson,
  isUnexpired,
  LockgateError,
  rollbackAuthorized,
  validateCohort,
} from '@lockgate/core';
import type { Cohort, DsseEnvelope, LabelSelector } from '@lockgate/core';
import type { Clock } from '../../clock.ts';
import type { Signals } from '../../signals.ts';
import type { Stores } from '../../stores.ts';
import { isoAfter, normalizeTime, positiveDuration } from '../../time.ts';
import { appendDecisions } from '../decisions/decision-log.ts';
import type { DecisionRecordDraft } from '../decisions/decision-log.ts';
import { findPackByRef } from '../packs/pack-ref.ts';
import { planExists } from '../plans/plan-service.ts';
import type { ServerKeyService } from '../server-keys/server-key-service.ts';
import { resignChannelIndex } from './channel-index.ts';
import {
  activeRollbackAuthorizations,
  grantRollbackAuthorization,
} from './rollback-authorization.ts';
import { WHOLE_CHANNEL } from './channel-store.ts';
import type {
  SignedIndex,
  StoredChannel,
  StoredPin,
  StoredRollbackAuthorization,
} from './channel-store.ts';

export const DEFAULT_PLAN = 'canary';
export const DEFAULT_INDEX_TTL_SECONDS = 86_400;

/** A pin as the API shows it: exactly what the store holds. */
export type PinView = StoredPin;

export interface RollbackAuthorizationView {
  id: string;
  env: string;
  channel: string;
  pack: string;
  reason: string;
  actor: string;
  createdAt: string;
  expiresAt: string;
}

export interface ChannelView {
  env: string;
  name: string;
  plan: string;
  floor: number | null;
  constraints: Record<string, string>;
  cohorts: Cohort[];
  indexTtlSeconds: number;
  base: string | null;
  lkg: string | null;
  pins: PinView[];
  revoked: string[];
  rollbackAuthorizations: RollbackAuthorizationView[];
  activeRelease: string | null;
  indexVersion: number;
  updatedAt: string;
}

export interface ChannelInput {
  plan?: string;
  floor?: number | null;
  constraints?: Record<string, string>;
  cohorts?: unknown[];
  indexTtlSeconds?: number;
  /** why the channel is created or changed (recorded) */
  reason?: string;
  /**
   * Confirms a floor above the base's sequence (the base's targets are then left without a
   * pack the channel allows); recorded with the change. Without it such a floor is refused.
   */
  acceptBaseBelowFloor?: boolean;
}

export interface PinInput {
  pack: string;
  reason: string;
  expiresIn?: string | number;
  expiresAt?: string;
}

export interface RollbackAuthorizationInput {
  pack: string;
  reason: string;
  expiresIn: string | number;
}

export interface ChannelService {
  /** Creates the channel (created: true) or changes the given fields. */
  put(
    env: string,
    name: string,
    input: ChannelInput,
    actor: string,
  ): Promise<{ channel: ChannelView; created: boolean }>;
  get(env: string, name: string): Promise<ChannelView>;
  list(env: string): Promise<ChannelView[]>;
  setPin(
    env: string,
    name: string,
    cohort: string,
    input: PinInput,
    actor: string,
  ): Promise<PinView>;
  clearPin(
    env: string,
    name: string,
    cohort: string,
    reason: string,
    actor: string,
  ): Promise<PinView>;
  /**
   * Allows a pack below the floor until an expiry. An identical unexpired authorization (same
   * channel and pack) is reused, extended when the new expiry is later (see
   * rollback-authorization.ts); `created` is true only for a new one.
   */
  authorizeRollback(
    env: string,
    name: string,
    input: RollbackAuthorizationInput,
    actor: string,
  ): Promise<{ rollbackAuthorization: RollbackAuthorizationView; created: boolean }>;
  /** The channel's unexpired rollback authorizations, oldest first. */
  listRollbackAuthorizations(env: string, name: string): Promise<RollbackAuthorizationView[]>;
  /**
   * Removes an unexpired authorization (recorded, index re-signed). ROLLBACK_AUTHORIZATION_NOT_FOUND
   * when the channel has none with this id; CONFLICT when removing it would leave targets without
   * a pack they may run (its pack is below the floor and is the channel's base or a pin's pack).
   */
  revokeRollbackAuthorization(
    env: string,
    name: string,
    id: string,
    reason: string,
    actor: string,
  ): Promise<RollbackAuthorizationView>;
  /** The current signed index and its version. */
  index(env: string, name: string): Promise<{ version: number; envelope: DsseEnvelope }>;
}

export function createChannelService(deps: {
  stores: Stores;
  clock: Clock;
  keys: ServerKeyService;
  signals: Signals;
}): ChannelService {
  const { stores, clock, keys, signals } = deps;

  const view = async (tx: Stores, channel: StoredChannel, now: Date): Promise<ChannelView> => {
    const pins = await tx.channels.listPins(channel.env, channel.name);
    const authorizations = await tx.channels.listRollbackAuthorizations(channel.env, channel.name);
    return {
      env: channel.env,
      name: channel.name,
      plan: channel.plan,
      floor: channel.floor,
      constraints: channel.constraints,
      cohorts: channel.cohorts,
      indexTtlSeconds: channel.indexTtlSeconds,
      base: channel.base,
      lkg: channel.lkg,
      pins: pins.filter((pin) => isUnexpired(pin.expiresAt, now)).map(pinView),
      revoked: await tx.revocations.digests(),
      rollbackAuthorizations: authorizations
        .filter((a) => isUnexpired(a.expiresAt, now))
        .map(authorizationView),
      activeRelease: channel.activeRelease,
      indexVersion: channel.indexVersion,
      updatedAt: channel.updatedAt,
    };
  };

  /** Records, re-signs and tells subscribers: the common tail of a channel-level change. */
  const published = (channel: StoredChannel, index: SignedIndex | null): void => {
    if (index !== null) signals.indexChanged(channel, index.version);
    signals.wakeController();
  };

  return {
    async put(env, name, input, actor) {
      const key = await keys.indexKey();
      const now = clock();
      const at = now.toISOString();
      const cohorts = input.cohorts === undefined ? undefined : checkCohorts(input.cohorts);
      const reason = input.reason ?? null;
      const result = await stores.transaction(async (tx) => {
        if ((await tx.environments.find(env)) === null) throw environmentNotFound(env);
        if (input.plan !== undefined && !(await planExists(tx, input.plan))) {
          throw new LockgateError('PLAN_NOT_FOUND', `No plan is named ${input.plan}.`, {
            details: { plan: input.plan },
          });
        }
        const existing = await tx.channels.lock(env, name);
        if (existing === null) {
          const channel: StoredChannel = {
            env,
            name,
            plan: input.plan ?? DEFAULT_PLAN,
            floor: input.floor ?? null,
            constraints: input.constraints ?? {},
            cohorts: cohorts ?? [],
            indexTtlSeconds: input.indexTtlSeconds ?? DEFAULT_INDEX_TTL_SECONDS,
            base: null,
            lkg: null,
            rollout: null,
            activeRelease: null,
            indexVersion: 0,
            indexEnvelope: { payloadType: '', payload: '', signatures: [] },
            indexExpiresAt: at,
            createdAt: at,
            createdBy: actor,
            updatedAt: at,
            updatedBy: actor,
          };
          if (!(await tx.channels.insert(channel))) {
            throw new LockgateError(
              'CONFLICT',
              `Channel ${env}/${name} was created by a concurrent request; retry.`,
              { details: { env, channel: name } },
            );
          }
          await appendDecisions(tx, [
            channelRecord(channel, at, {
              kind: 'channel',
              rule: 'channel.created',
              actor,
              reason,
              verdict: 'created',
              inputs: { config: configOf(channel) },
            }),
          ]);
          const index = await resignChannelIndex(tx, channel, now, key);
          return { channel: await view(tx, channel, now), created: true, stored: channel, index };
        }
        const next: StoredChannel = {
          ...existing,
          ...(input.plan === undefined ? {} : { plan: input.plan }),
          ...(input.floor === undefined ? {} : { floor: input.floor }),
          ...(input.constraints === undefined ? {} : { constraints: input.constraints }),
          ...(cohorts === undefined ? {} : { cohorts }),
          ...(input.indexTtlSeconds === undefined
            ? {}
            : { indexTtlSeconds: input.indexTtlSeconds }),
        };
        const changes = changesOf(configOf(existing), configOf(next));
        const stranded = 'floor' in changes ? await baseBelowFloor(tx, next, now) : null;
        if (stranded !== null && input.acceptBaseBelowFloor !== true) {
          throw new LockgateError(
            'FLOOR_ABOVE_BASE',
            `Floor ${next.floor} of ${env}/${name} is above its base ${stranded.name}@${stranded.version} (sequence ${stranded.sequence}): targets on the base would be left without a pack the channel allows. Release a pack at or above the floor first, authorize a rollback to the base, or confirm with acceptBaseBelowFloor (--accept-base-below-floor).`,
            {
              details: {
                env,
                channel: name,
                floor: next.floor,
                base: stranded.digest,
                sequence: stranded.sequence,
              },
            },
          );
        }
        if ('cohorts' in changes) await checkCohortsInUse(tx, existing, next);
        if (Object.keys(changes).length === 0) {
          return {
            channel: await view(tx, existing, now),
            created: false,
            stored: null,
            index: null,
          };
        }
        next.updatedAt = at;
        next.updatedBy = actor;
        await tx.channels.save(next);
        await appendDecisions(tx, [
          channelRecord(next, at, {
            kind: 'channel',
            rule: 'channel.updated',
            actor,
            reason,
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
        ]);
        const signed =
          'floor' in changes || 'indexTtlSeconds' in changes
            ? await resignChannelIndex(tx, next, now, key)
            : null;
        return { channel: await view(tx, next, now), created: false, stored: next, index: signed };
      });
      if (result.stored !== null) published(result.stored, result.index);
      return { channel: result.channel, created: result.created };
    },

    async get(env, name) {
      const now = clock();
      return stores.transaction(async (tx) => view(tx, await findChannel(tx, env, name), now));
    },

    async list(env) {
      const now = clock();
      return stores.transaction(async (tx) => {
        if ((await tx.environments.find(env)) === null) throw environmentNotFound(env);
        const channels = await tx.channels.list(env);
        const views: ChannelView[] = [];
        for (const channel of channels) views.push(await view(tx, channel, now));
        return views;
      });
    },

    async setPin(env, name, cohort, input, actor) {
      const key = await keys.indexKey();
      const now = clock();
      const at = now.toISOString();
      const reason = input.reason.trim();
      if (reason === '') throw pinInvalid('A pin needs a reason.', { cohort });
      const expiresAt = pinExpiry(input, now);
      const result = await stores.transaction(async (tx) => {
        const channel = await lockChannel(tx, env, name);
        const selector = pinSelector(channel, cohort);
        const pack = await findPackByRef(tx.packs, input.pack);
        if ((await tx.revocations.find(pack.digest)) !== null) {
          throw new LockgateError('PACK_REVOKED', `Pack ${pack.digest} is revoked.`, {
            details: { pack: pack.digest },
          });
        }
        const authorizations = await tx.channels.listRollbackAuthorizations(env, name);
        if (
          channel.floor !== null &&
          pack.sequence < channel.floor &&
          !rollbackAuthorized(authorizations, pack.digest, now)
        ) {
          throw new LockgateError(
            'RELEASE_BELOW_FLOOR',
            `Pack ${pack.name}@${pack.version} (sequence ${pack.sequence}) is below the floor ${channel.floor} of ${env}/${name}; authorize a rollback to it first (lockgate rollback-auth add ${env}/${name} ${pack.name}@${pack.version}).`,
            { details: { pack: pack.digest, sequence: pack.sequence, floor: channel.floor } },
          );
        }
        const previous = await tx.channels.findPin(env, name, cohort);
        const pin: StoredPin = {
          env,
          channel: name,
          cohort,
          selector,
          pack: pack.digest,
          reason,
          actor,
          createdAt: at,
          expiresAt,
        };
        await tx.channels.upsertPin(pin);
        // Targets that committed a newer pack go back to the pinned one only when the signed
        // index authorizes it: the pin authorizes its pack until it expires (reusing the
        // channel's authorization of that pack when there is one).
        const { authorization } = await grantRollbackAuthorization(
          tx,
          {
            env,
            channel: name,
            pack: pack.digest,
            reason: `pin ${cohort}: ${reason}`,
            actor,
            expiresAt,
          },
          now,
        );
        await appendDecisions(tx, [
          channelRecord(channel, at, {
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
              rollbackAuthorization: authorization.id,
            },
          }),
        ]);
        const index = await resignChannelIndex(tx, channel, now, key);
        return { pin, channel, index };
      });
      published(result.channel, result.index);
      return pinView(result.pin);
    },

    async clearPin(env, name, cohort, reason, actor) {
      const key = await keys.indexKey();
      const now = clock();
      const at = now.toISOString();
      const result = await stores.transaction(async (tx) => {
        const channel = await lockChannel(tx, env, name);
        const removed = await tx.channels.deletePin(env, name, cohort);
        if (removed === null) {
          throw new LockgateError('PIN_NOT_FOUND', `No pin is set on ${env}/${name} ${cohort}.`, {
            details: { env, channel: name, cohort },
          });
        }
        await appendDecisions(tx, [
          channelRecord(channel, at, {
            kind: 'pin',
            rule: 'pin.cleared',
            actor,
            reason,
            verdict: 'unpinned',
            inputs: { cohort, pack: removed.pack, expiresAt: removed.expiresAt },
          }),
        ]);
        const index = await resignChannelIndex(tx, channel, now, key);
        return { removed, channel, index };
      });
      published(result.channel, result.index);
      return pinView(result.removed);
    },

    async authorizeRollback(env, name, input, actor) {
      const key = await keys.indexKey();
      const now = clock();
      const at = now.toISOString();
      const seconds = positiveDuration(input.expiresIn, 'expiresIn', 'VALIDATION_FAILED');
      const result = await stores.transaction(async (tx) => {
        const channel = await lockChannel(tx, env, name);
        const pack = await findPackByRef(tx.packs, input.pack);
        const grant = await grantRollbackAuthorization(
          tx,
          {
            env,
            channel: name,
            pack: pack.digest,
            reason: input.reason,
            actor,
            expiresAt: isoAfter(now, seconds),
          },
          now,
        );
        const { authorization } = grant;
        if (grant.outcome === 'unchanged') return { grant, channel: null, index: null };
        await appendDecisions(tx, [
          channelRecord(channel, at, {
            kind: 'rollback_authorization',
            rule:
              grant.outcome === 'granted'
                ? 'rollback_authorization.granted'
                : 'rollback_authorization.extended',
            actor,
            reason: input.reason,
            verdict: 'authorized',
            inputs: {
              id: authorization.id,
              pack: pack.digest,
              sequence: pack.sequence,
              floor: channel.floor,
              expiresAt: authorization.expiresAt,
              ...(grant.previousExpiresAt === null
                ? {}
                : { previousExpiresAt: grant.previousExpiresAt }),
            },
          }),
        ]);
        const index = await resignChannelIndex(tx, channel, now, key);
        return { grant, channel, index };
      });
      if (result.channel !== null) published(result.channel, result.index);
      return {
        rollbackAuthorization: authorizationView(result.grant.authorization),
        created: result.grant.outcome === 'granted',
      };
    },

    async listRollbackAuthorizations(env, name) {
      const now = clock();
      return stores.transaction(async (tx) => {
        const channel = await findChannel(tx, env, name);
        const active = await activeRollbackAuthorizations(tx, channel.env, channel.name, now);
        return active.map(authorizationView);
      });
    },

    async revokeRollbackAuthorization(env, name, id, reason, actor) {
      const key = await keys.indexKey();
      const now = clock();
      const at = now.toISOString();
      const result = await stores.transaction(async (tx) => {
        const channel = await lockChannel(tx, env, name);
        const active = await activeRollbackAuthorizations(tx, env, name, now);
        const found = active.find((a) => a.id === id);
        if (found === undefined) {
          throw new LockgateError(
            'ROLLBACK_AUTHORIZATION_NOT_FOUND',
            `Channel ${env}/${name} has no unexpired rollback authorization ${id}.`,
            { details: { env, channel: name, id } },
          );
        }
        await checkNotInUse(tx, channel, found, active, now);
        await tx.channels.deleteRollbackAuthorization(env, name, id);
        await appendDecisions(tx, [
          channelRecord(channel, at, {
            kind: 'rollback_authorization',
            rule: 'rollback_authorization.revoked',
            actor,
            reason,
            verdict: 'revoked',
            inputs: { id, pack: found.pack, floor: channel.floor, expiresAt: found.expiresAt },
          }),
        ]);
        const index = await resignChannelIndex(tx, channel, now, key);
        return { found, channel, index };
      });
      published(result.channel, result.index);
      return authorizationView(result.found);
    },

    async index(env, name) {
      const channel = await stores.transaction((tx) => findChannel(tx, env, name));
      return { version: channel.indexVersion, envelope: channel.indexEnvelope };
    },
  };
}

/** A decision record about a channel (no release, no state change). */
export function channelRecord(
  channel: { env: string; name: string },
  at: string,
  fields: Pick<DecisionRecordDraft, 'kind' | 'rule' | 'actor' | 'reason' | 'verdict' | 'inputs'> & {
    holder?: string | null;
  },
): DecisionRecordDraft {
  return {
    release: null,
    env: channel.env,
    channel: channel.name,
    at,
    kind: fields.kind,
    rule: fields.rule,
    actor: fields.actor,
    reason: fields.reason,
    from: null,
    to: null,
    stageIndex: null,
    inputs: fields.inputs,
    verdict: fields.verdict,
    holder: fields.holder ?? null,
  };
}

/** The channel, or CHANNEL_NOT_FOUND / ENVIRONMENT_NOT_FOUND. */
export async function findChannel(tx: Stores, env: string, name: string): Promise<StoredChannel> {
  const channel = await tx.channels.find(env, name);
  if (channel === null) throw await channelMissing(tx, env, name);
  return channel;
}

/** The channel, locked until the transaction ends; CHANNEL_NOT_FOUND / ENVIRONMENT_NOT_FOUND. */
export async function lockChannel(tx: Stores, env: string, name: string): Promise<StoredChannel> {
  const channel = await tx.channels.lock(env, name);
  if (channel === null) throw await channelMissing(tx, env, name);
  return channel;
}

async function channelMissing(tx: Stores, env: string, name: string): Promise<LockgateError> {
  if ((await tx.environments.find(env)) === null) return environmentNotFound(env);
  return new LockgateError('CHANNEL_NOT_FOUND', `No channel ${name} in environment ${env}.`, {
    details: { env, channel: name },
  });
}

export function environmentNotFound(env: string): LockgateError {
  return new LockgateError('ENVIRONMENT_NOT_FOUND', `No environment is named ${env}.`, {
    details: { env },
  });
}

function checkCohorts(values: unknown[]): Cohort[] {
  const cohorts = values.map((value) => validateCohort(value));
  const names = new Set<string>();
  for (const cohort of cohorts) {
    if (cohort.name === WHOLE_CHANNEL || names.has(cohort.name)) {
      throw new LockgateError(
        'COHORT_INVALID',
        `Cohort name "${cohort.name}" is used twice or reserved.`,
        { details: { cohort: cohort.name } },
      );
    }
    names.add(cohort.name);
  }
  return cohorts;
}

function configOf(channel: StoredChannel): Record<string, unknown> {
  return {
    plan: channel.plan,
    floor: channel.floor,
    constraints: channel.constraints,
    cohorts: channel.cohorts,
    indexTtlSeconds: channel.indexTtlSeconds,
  };
}

function changesOf(
  before: Record<string, unknown>,
  after: Record<string, unknown>,
): Record<string, { from: unknown; to: unknown }> {
  const changes: Record<string, { from: unknown; to: unknown }> = {};
  for (const field of Object.keys(after)) {
    if (canonicalJson(before[field] ?? null) !== canonicalJson(after[field] ?? null)) {
      changes[field] = { from: before[field] ?? null, to: after[field] ?? null };
    }
  }
  return changes;
}

/**
 * Refuses to remove the last authorization of a pack below the floor that targets are told to
 * run (the channel's base or an unexpired pin's pack): they would be left with nothing to run.
 */
async function checkNotInUse(
  tx: Stores,
  channel: StoredChannel,
  authorization: StoredRollbackAuthorization,
  active: readonly StoredRollbackAuthorization[],
  now: Date,
): Promise<void> {
  if (channel.floor === null) return;
  if (active.some((a) => a.id !== authorization.id && a.pack === authorization.pack)) return;
  const pack = await tx.packs.findByDigest(authorization.pack);
  if (pack === null || pack.sequence >= channel.floor) return;
  const pins = (await tx.channels.listPins(channel.env, channel.name)).filter((pin) =>
    isUnexpired(pin.expiresAt, now),
  );
  const uses = [
    ...(channel.base === authorization.pack ? ['the channel base'] : []),
    ...pins.filter((pin) => pin.pack === authorization.pack).map((pin) => `pin ${pin.cohort}`),
  ];
  if (uses.length === 0) return;
  throw new LockgateError(
    'CONFLICT',
    `Pack ${authorization.pack} (sequence ${pack.sequence}) is below the floor ${channel.floor} of ${channel.env}/${channel.name} and is ${uses.join(' and ')}; targets would have nothing to run. Release a newer pack, clear the pin or lower the floor first.`,
    { details: { id: authorization.id, pack: authorization.pack, uses } },
  );
}

/**
 * The selector a pin on `cohort` holds: null for the whole channel, the cohort's selector (`{}`
 * for a percentage-only cohort). A percentage cohort's bucket goes into the index with the pin
 * (`indexPins`), with the channel's cohort salt, so a pin holds the same targets a stage on that
 * cohort reaches.
 */
function pinSelector(channel: StoredChannel, cohort: string): LabelSelector | null {
  if (cohort === WHOLE_CHANNEL) return null;
  const found = channel.cohorts.find((c) => c.name === cohort);
  if (found === undefined) {
    throw pinInvalid(`Channel ${channel.env}/${channel.name} has no cohort ${cohort}.`, { cohort });
  }
  return found.selector ?? {};
}

/** The channel's base pack when its sequence is below the channel's floor, else null. */
async function baseBelowFloor(
  tx: Stores,
  channel: StoredChannel,
  now: Date,
): Promise<{ digest: string; name: string; version: string; sequence: number } | null> {
  if (channel.floor === null || channel.base === null) return null;
  const base = await tx.packs.findByDigest(channel.base);
  if (base === null || base.sequence >= channel.floor) return null;
  const authorizations = await tx.channels.listRollbackAuthorizations(channel.env, channel.name);
  if (rollbackAuthorized(authorizations, base.digest, now)) return null;
  return { digest: base.digest, name: base.name, version: base.version, sequence: base.sequence };
}

/**
 * A cohort that a pin holds or that the active release's plan names cannot be removed or changed
 * (the pin or the stage would silently hold other targets): CONFLICT, clear the pin or end the
 * release first.
 */
async function checkCohortsInUse(
  tx: Stores,
  before: StoredChannel,
  after: StoredChannel,
): Promise<void> {
  const used = new Map<string, string>();
  for (const pin of await tx.channels.listPins(before.env, before.name)) {
    if (pin.cohort !== WHOLE_CHANNEL) used.set(pin.cohort, `the pin on ${pin.cohort}`);
  }
  if (before.activeRelease !== null) {
    const active = await tx.releases.find(before.activeRelease);
    for (const stage of active?.release.plan.stages ?? []) {
      if (stage.cohort !== undefined) {
        used.set(stage.cohort, `stage ${stage.name} of release ${before.activeRelease}`);
      }
    }
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

function pinExpiry(input: PinInput, now: Date): string {
  if ((input.expiresIn === undefined) === (input.expiresAt === undefined)) {
    throw pinInvalid('A pin needs exactly one of expiresIn and expiresAt.', {});
  }
  const expiresAt =
    input.expiresAt === undefined
      ? isoAfter(now, positiveDuration(input.expiresIn ?? 0, 'expiresIn', 'PIN_INVALID'))
      : normalizeTime(input.expiresAt, 'expiresAt', 'PIN_INVALID');
  if (Date.parse(expiresAt) <= now.getTime()) {
    throw pinInvalid('The pin expiry must be in the future.', { expiresAt });
  }
  return expiresAt;
}

function pinInvalid(message: string, details: Record<string, unknown>): LockgateError {
  return new LockgateError('PIN_INVALID', message, { details });
}

function pinView(pin: StoredPin): PinView {
  return {
    env: pin.env,
    channel: pin.channel,
    cohort: pin.cohort,
    selector: pin.selector,
    pack: pin.pack,
    reason: pin.reason,
    actor: pin.actor,
    createdAt: pin.createdAt,
    expiresAt: pin.expiresAt,
  };
}

function authorizationView(a: StoredRollbackAuthorization): RollbackAuthorizationView {
  return {
    id: a.id,
    env: a.env,
    channel: a.channel,
    pack: a.pack,
    reason: a.reason,
    actor: a.actor,
    createdAt: a.createdAt,
    expiresAt: a.expiresAt,
  };
}
