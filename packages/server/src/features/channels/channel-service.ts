import {
  activeRollbackAuthorizations,
  channelCall,
  isUnexpired,
  LockgateError,
  pinSelector,
  validateCohort,
} from '@lockgate/core';
import type { Cohort, DsseEnvelope } from '@lockgate/core';
import type { Clock } from '../../clock.ts';
import type { Signals } from '../../signals.ts';
import type { StoresOf } from '../../stores.ts';
import { isoAfter, normalizeTime, positiveDuration } from '../../time.ts';
import {
  channelPackOf,
  commitChannelChange,
  commitLockedChannel,
  commitNewChannel,
  namedPackOf,
  newRollbackAuthorizationId,
} from '../decisions/public.ts';
import { findPackByRef } from '../packs/public.ts';
import { planExists } from '../plans/public.ts';
import type { ServerKeyService } from '../server-keys/public.ts';
import { environmentNotFound, findChannel } from './channel-lookup.ts';
import { WHOLE_CHANNEL } from './channel-store.ts';
import type {
  ChannelKey,
  SignedIndex,
  StoredChannel,
  StoredPin,
  StoredRollbackAuthorization,
} from './channel-store.ts';

/** The stores this module uses, and no others. */
type UsedStores = StoresOf<
  | 'channels'
  | 'contexts'
  | 'decisions'
  | 'environments'
  | 'log'
  | 'packs'
  | 'plans'
  | 'releases'
  | 'revocations'
  | 'serverKeys'
  | 'webhooks'
  | 'statements'
>;

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
  stores: UsedStores;
  clock: Clock;
  keys: ServerKeyService;
  signals: Signals;
}): ChannelService {
  const { stores, clock, keys, signals } = deps;

  const view = async (tx: UsedStores, channel: StoredChannel, now: Date): Promise<ChannelView> => {
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

  /** Tells subscribers and the controller: the tail of a committed channel-level change. */
  const published = (channel: ChannelKey, index: SignedIndex | null): void => {
    if (index !== null) signals.indexChanged(channel, index.version);
    signals.wakeController();
  };

  return {
    async put(env, name, input, actor) {
      const key = await keys.indexKey();
      const now = clock();
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
          const call = channelCall(
            {
              fn: 'createChannel',
              input: {
                env,
                name,
                config: {
                  plan: input.plan ?? DEFAULT_PLAN,
                  floor: input.floor ?? null,
                  constraints: input.constraints ?? {},
                  cohorts: cohorts ?? [],
                  indexTtlSeconds: input.indexTtlSeconds ?? DEFAULT_INDEX_TTL_SECONDS,
                },
                actor,
                reason,
                revoked: await tx.revocations.digests(),
              },
            },
            now,
          );
          const { channel, index } = await commitNewChannel(tx, call, { now, key });
          return { channel: await view(tx, channel, now), created: true, stored: channel, index };
        }
        const releaseCohorts =
          cohorts === undefined ? [] : await activeReleaseCohorts(tx, existing.activeRelease);
        const committed = await commitLockedChannel(tx, existing, { now, key }, (state) => ({
          call: channelCall(
            {
              fn: 'decideChannel',
              state,
              event: {
                kind: 'config.change',
                config: {
                  ...(input.plan === undefined ? {} : { plan: input.plan }),
                  ...(input.floor === undefined ? {} : { floor: input.floor }),
                  ...(input.constraints === undefined ? {} : { constraints: input.constraints }),
                  ...(cohorts === undefined ? {} : { cohorts }),
                  ...(input.indexTtlSeconds === undefined
                    ? {}
                    : { indexTtlSeconds: input.indexTtlSeconds }),
                },
                actor,
                reason,
                acceptBaseBelowFloor: input.acceptBaseBelowFloor === true,
                releaseCohorts,
              },
            },
            now,
          ),
          value: null,
        }));
        const stored =
          committed !== null && committed.records.length > 0 ? committed.channel : null;
        return {
          channel: await view(tx, existing, now),
          created: false,
          stored,
          index: committed?.index ?? null,
        };
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
      const reason = input.reason.trim();
      if (reason === '') throw pinInvalid('A pin needs a reason.', { cohort });
      const expiresAt = pinExpiry(input, now);
      const committed = await stores.transaction((tx) =>
        commitChannelChange(tx, { env, name }, { now, key }, async (state) => {
          pinSelector(state, cohort);
          const pack = namedPackOf(await findPackByRef(tx.packs, input.pack));
          const event = {
            kind: 'pin.set',
            cohort,
            pack,
            reason,
            expiresAt,
            actor,
            authorizationId: newRollbackAuthorizationId(),
          } as const;
          return { call: channelCall({ fn: 'decideChannel', state, event }, now), value: null };
        }),
      );
      const change = required(committed);
      published(change.channel, change.index);
      const pin = change.state.pins.find((p) => p.cohort === cohort);
      if (pin === undefined) throw new Error(`pin ${cohort} of ${env}/${name} was not set`);
      return pinView({ env, channel: name, ...pin });
    },

    async clearPin(env, name, cohort, reason, actor) {
      const key = await keys.indexKey();
      const now = clock();
      const committed = await stores.transaction((tx) =>
        commitChannelChange(tx, { env, name }, { now, key }, (state) => ({
          call: channelCall(
            { fn: 'decideChannel', state, event: { kind: 'pin.clear', cohort, reason, actor } },
            now,
          ),
          value: state.pins.find((p) => p.cohort === cohort) ?? null,
        })),
      );
      const change = required(committed);
      published(change.channel, change.index);
      if (change.value === null) throw new Error(`pin ${cohort} of ${env}/${name} was not cleared`);
      return pinView({ env, channel: name, ...change.value });
    },

    async authorizeRollback(env, name, input, actor) {
      const key = await keys.indexKey();
      const now = clock();
      const seconds = positiveDuration(input.expiresIn, 'expiresIn', 'VALIDATION_FAILED');
      const committed = await stores.transaction((tx) =>
        commitChannelChange(tx, { env, name }, { now, key }, async (state) => {
          const pack = channelPackOf(await findPackByRef(tx.packs, input.pack));
          const event = {
            kind: 'rollbackAuthorization.grant',
            pack,
            reason: input.reason,
            expiresAt: isoAfter(now, seconds),
            actor,
            authorizationId: newRollbackAuthorizationId(),
          } as const;
          return {
            call: channelCall({ fn: 'decideChannel', state, event }, now),
            value: pack.digest,
          };
        }),
      );
      const change = required(committed);
      // The channel's authorization of the pack: new, extended, or the one that already lasts.
      const authorization = activeRollbackAuthorizations(change.state, now)
        .filter((a) => a.pack === change.value)
        .sort((a, b) => Date.parse(b.expiresAt) - Date.parse(a.expiresAt))[0];
      if (authorization === undefined) throw new Error(`no authorization of ${change.value}`);
      if (change.records.length > 0) published(change.channel, change.index);
      return {
        rollbackAuthorization: authorizationView({ env, channel: name, ...authorization }),
        created: change.records[0]?.rule === 'rollback_authorization.granted',
      };
    },

    async listRollbackAuthorizations(env, name) {
      const now = clock();
      return stores.transaction(async (tx) => {
        const channel = await findChannel(tx, env, name);
        const all = await tx.channels.listRollbackAuthorizations(channel.env, channel.name);
        return all.filter((a) => isUnexpired(a.expiresAt, now)).map(authorizationView);
      });
    },

    async revokeRollbackAuthorization(env, name, id, reason, actor) {
      const key = await keys.indexKey();
      const now = clock();
      const committed = await stores.transaction((tx) =>
        commitChannelChange(tx, { env, name }, { now, key }, (state) => ({
          call: channelCall(
            {
              fn: 'decideChannel',
              state,
              event: { kind: 'rollbackAuthorization.revoke', id, reason, actor },
            },
            now,
          ),
          value: state.rollbackAuthorizations.find((a) => a.id === id) ?? null,
        })),
      );
      const change = required(committed);
      published(change.channel, change.index);
      if (change.value === null) throw new Error(`authorization ${id} was not revoked`);
      return authorizationView({ env, channel: name, ...change.value });
    },

    async index(env, name) {
      const channel = await stores.transaction((tx) => findChannel(tx, env, name));
      return { version: channel.indexVersion, envelope: channel.indexEnvelope };
    },
  };
}

/** A commit the road always makes for an operator command (its function never returns null). */
function required<T>(committed: T | null): T {
  if (committed === null) throw new Error('the channel change was not committed');
  return committed;
}

/** The cohorts the stages of the channel's active release name (they may not change). */
async function activeReleaseCohorts(
  tx: UsedStores,
  activeRelease: string | null,
): Promise<{ stage: string; cohort: string }[]> {
  if (activeRelease === null) return [];
  const active = await tx.releases.find(activeRelease);
  return (active?.release.plan.stages ?? []).flatMap((stage) =>
    stage.cohort === undefined ? [] : [{ stage: stage.name, cohort: stage.cohort }],
  );
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
