import { randomUUID } from 'node:crypto';
import { LockgateError, validateFreezeWindow } from '@lockgate/core';
import type { FreezeWindow, Weekday } from '@lockgate/core';
import type { Clock } from '../../clock.ts';
import type { Signals } from '../../signals.ts';
import type { StoresOf } from '../../stores.ts';
import { normalizeTime } from '../../time.ts';
import { environmentNotFound } from '../channels/public.ts';
import type { ChannelService, ChannelView } from '../channels/public.ts';
import { recordDecisions } from '../decisions/public.ts';
import type { DecisionRecordDraft } from '../decisions/public.ts';
import type { StoredEnvironment, StoredFreezeWindow } from './environment-store.ts';

/** The stores this module uses, and no others. */
type UsedStores = StoresOf<
  'contexts' | 'decisions' | 'environments' | 'log' | 'serverKeys' | 'webhooks' | 'statements'
>;

export interface EnvironmentView {
  name: string;
  description: string;
  createdAt: string;
}

/** A core freeze window with where and by whom it was made. */
export type FreezeWindowView = FreezeWindow & { env: string; createdAt: string; createdBy: string };

/** A freeze window as a request gives it: without its id. */
export type FreezeWindowInput =
  | { reason: string; kind: 'once'; start: string; end: string }
  | {
      reason: string;
      kind: 'weekly';
      days: Weekday[];
      start: string;
      durationMinutes: number;
    };

export interface EnvironmentService {
  put(
    name: string,
    input: { description?: string },
    actor: string,
  ): Promise<{ environment: EnvironmentView; created: boolean }>;
  list(): Promise<EnvironmentView[]>;
  get(name: string): Promise<{
    environment: EnvironmentView;
    channels: ChannelView[];
    freezeWindows: FreezeWindowView[];
  }>;
  addFreezeWindow(env: string, input: FreezeWindowInput, actor: string): Promise<FreezeWindowView>;
  removeFreezeWindow(
    env: string,
    id: string,
    reason: string,
    actor: string,
  ): Promise<FreezeWindowView>;
}

export function createEnvironmentService(deps: {
  stores: UsedStores;
  clock: Clock;
  channels: ChannelService;
  signals: Signals;
}): EnvironmentService {
  const { stores, clock, channels, signals } = deps;

  const findOrThrow = async (tx: UsedStores, name: string): Promise<StoredEnvironment> => {
    const environment = await tx.environments.find(name);
    if (environment === null) throw environmentNotFound(name);
    return environment;
  };

  return {
    async put(name, input, actor) {
      const at = clock().toISOString();
      return stores.transaction(async (tx) => {
        const environment: StoredEnvironment = {
          name,
          description: input.description ?? '',
          createdAt: at,
          createdBy: actor,
        };
        if (await tx.environments.insert(environment)) {
          return { environment: environmentView(environment), created: true };
        }
        const existing = await findOrThrow(tx, name);
        if (input.description !== undefined && input.description !== existing.description) {
          await tx.environments.updateDescription(name, input.description);
          existing.description = input.description;
        }
        return { environment: environmentView(existing), created: false };
      });
    },

    async list() {
      return (await stores.environments.list()).map(environmentView);
    },

    async get(name) {
      const environment = await findOrThrow(stores, name);
      const freezeWindows = await stores.environments.listFreezeWindows(name);
      return {
        environment: environmentView(environment),
        channels: await channels.list(name),
        freezeWindows: freezeWindows.map(freezeView),
      };
    },

    async addFreezeWindow(env, input, actor) {
      const at = clock().toISOString();
      const candidate =
        input.kind === 'once'
          ? {
              ...input,
              start: normalizeTime(input.start, 'start', 'VALIDATION_FAILED'),
              end: normalizeTime(input.end, 'end', 'VALIDATION_FAILED'),
            }
          : input;
      const window = validateFreezeWindow({ ...candidate, id: `frz_${randomUUID()}` });
      const stored: StoredFreezeWindow = { env, window, createdAt: at, createdBy: actor };
      await stores.transaction(async (tx) => {
        await findOrThrow(tx, env);
        await tx.environments.insertFreezeWindow(stored);
        await recordDecisions(tx, [
          freezeRecord(env, at, actor, window.reason, 'freeze.created', 'created', window),
        ]);
      });
      signals.wakeController();
      return freezeView(stored);
    },

    async removeFreezeWindow(env, id, reason, actor) {
      const at = clock().toISOString();
      const removed = await stores.transaction(async (tx) => {
        await findOrThrow(tx, env);
        const existing = await tx.environments.findFreezeWindow(env, id);
        if (existing === null || !(await tx.environments.deleteFreezeWindow(env, id))) {
          throw new LockgateError('NOT_FOUND', `No freeze window ${id} in environment ${env}.`, {
            details: { env, id },
          });
        }
        await recordDecisions(tx, [
          freezeRecord(env, at, actor, reason, 'freeze.removed', 'removed', existing.window),
        ]);
        return existing;
      });
      signals.wakeController();
      return freezeView(removed);
    },
  };
}

function freezeRecord(
  env: string,
  at: string,
  actor: string,
  reason: string,
  rule: string,
  verdict: string,
  window: FreezeWindow,
): DecisionRecordDraft {
  return {
    release: null,
    env,
    channel: null,
    at,
    kind: 'freeze',
    rule,
    actor,
    reason,
    from: null,
    to: null,
    stageIndex: null,
    inputs: { freezeWindow: window },
    verdict,
    holder: null,
  };
}

function environmentView(environment: StoredEnvironment): EnvironmentView {
  return {
    name: environment.name,
    description: environment.description,
    createdAt: environment.createdAt,
  };
}

function freezeView(stored: StoredFreezeWindow): FreezeWindowView {
  return {
    ...stored.window,
    env: stored.env,
    createdAt: stored.createdAt,
    createdBy: stored.createdBy,
  };
}
