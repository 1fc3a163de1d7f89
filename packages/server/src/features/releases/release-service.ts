import { randomUUID } from 'node:crypto';
import { applyCommand, isTerminal, LockgateError, newRelease } from '@lockgate/core';
import type { CommandKind, ReleaseState, ReleaseStatus } from '@lockgate/core';
import type { RollbackPreviewResponse, RollbackScope } from '@lockgate/api';
import type { BlobStore } from '../../blob-store.ts';
import type { Clock } from '../../clock.ts';
import { aheadInLine } from '../../db/sqlite-dialect.ts';
import type { Signals } from '../../signals.ts';
import type { StoresOf } from '../../stores.ts';
import { channelMissing, lockChannel } from '../channels/public.ts';
import type { SignedIndex, StoredChannel } from '../channels/public.ts';
import { recordDecisions } from '../decisions/public.ts';
import type { DecisionRecord } from '../decisions/public.ts';
import { isEvidenceRecordKind } from '../evidence/public.ts';
import { runIdempotent } from '../idempotency/public.ts';
import { findPackByRef } from '../packs/public.ts';
import { resolvePlan } from '../plans/public.ts';
import type { ServerKeyService } from '../server-keys/public.ts';
import { commitReleaseChange } from './release-commit.ts';
import { loadPackContext, loadReleaseContext, lockAndReadRelease } from './release-context.ts';
import { withInputsHeld } from './release-inputs.ts';
import type { ReleaseInputs } from './release-inputs.ts';
import { previewRollback } from './release-preview.ts';
import type { StoredRelease } from './release-store.ts';
import { loadReleaseWhy } from './release-why.ts';
import type { ReleaseWhy } from './release-why.ts';

/** A release's channel and pack: where a command on it locks and reads. */
type ReleasePlace = { env: string; name: string; pack: string };

/** How many releases' places a service keeps in memory before it forgets them all. */
const KNOWN_RELEASE_PLACES = 10_000;

/** The stores this module uses, and no others. */
type UsedStores = StoresOf<
  | 'builds'
  | 'channels'
  | 'contexts'
  | 'decisions'
  | 'environments'
  | 'idempotency'
  | 'log'
  | 'packs'
  | 'plans'
  | 'releases'
  | 'revocations'
  | 'serverKeys'
  | 'targets'
  | 'trust'
  | 'webhooks'
  | 'statements'
>;

export interface CurrentStage {
  name: string;
  percent: number;
  cohort: string | null;
  /** null while the stage waits for approvals or a freeze to end */
  startedAt: string | null;
  soakSeconds: number;
}

/** The core ReleaseState with when it was created and changed, and its current stage. */
export type ReleaseView = ReleaseState & {
  createdAt: string;
  updatedAt: string;
  /** null before the rollout starts (requested, verifying) and after it ended */
  currentStage: CurrentStage | null;
};

export interface CreateReleaseInput {
  /** a digest or name@version of a stored pack */
  pack: string;
  env: string;
  channel: string;
  /** a plan name; the channel's default plan when absent */
  plan?: string;
  reason: string;
  schedule?: { notBefore?: string; window?: unknown };
}

export interface CommandInput {
  reason: string;
  /** promote only: straight to the last stage */
  full?: boolean;
}

export interface ReleaseService {
  /** RELEASE_CONFLICT when the channel has an active release; PACK_NOT_FOUND, PLAN_NOT_FOUND. */
  create(input: CreateReleaseInput, actor: string, idempotencyKey?: string): Promise<ReleaseView>;
  list(query: {
    env?: string;
    channel?: string;
    state?: ReleaseStatus;
    limit: number;
  }): Promise<ReleaseView[]>;
  /** RELEASE_NOT_FOUND when unknown. */
  get(id: string): Promise<ReleaseView>;
  /** The release and why it is (not) moving now (null once it ended); RELEASE_NOT_FOUND. */
  status(id: string): Promise<{ release: ReleaseView; why: ReleaseWhy | null }>;
  /** An operator command through core applyCommand, committed like a controller decision. */
  command(
    id: string,
    kind: CommandKind,
    input: CommandInput,
    actor: string,
    idempotencyKey?: string,
  ): Promise<ReleaseView>;
  /** The release's decision records in order. */
  timeline(id: string): Promise<DecisionRecord[]>;
  /** What a rollback or a whole-channel pin would do now, without doing it (release-preview.ts). */
  rollbackPreview(
    id: string,
    query: { scope: RollbackScope; to?: string },
    actor: string,
  ): Promise<RollbackPreviewResponse>;
}

interface Effects {
  channel: StoredChannel;
  index: SignedIndex | null;
}

export function createReleaseService(deps: {
  stores: UsedStores;
  blobs: BlobStore;
  clock: Clock;
  keys: ServerKeyService;
  signals: Signals;
  /**
   * the controller's kept inputs (release-inputs.ts): a command reads what changed since the
   * last tick instead of every target and report; both run with the channel row locked, so
   * they never catch up at the same time
   */
  inputs?: ReleaseInputs;
}): ReleaseService {
  const { stores, blobs, clock, keys, signals, inputs } = deps;

  const findOrThrow = async (tx: UsedStores, id: string): Promise<StoredRelease> => {
    const stored = await tx.releases.find(id);
    if (stored === null) {
      throw new LockgateError('RELEASE_NOT_FOUND', `No release has id ${id}.`, {
        details: { id },
      });
    }
    return stored;
  };

  /**
   * Where each release created, read or commanded here is, and its pack (a release never moves
   * nor changes pack): a command reads it before its transaction, once per release.
   */
  const places = new Map<string, ReleasePlace>();
  const rememberPlace = (release: {
    id: string;
    env: string;
    channel: string;
    pack: string;
  }): ReleasePlace => {
    const { env, channel: name, pack } = release;
    if (places.size >= KNOWN_RELEASE_PLACES) places.clear();
    places.set(release.id, { env, name, pack });
    return { env, name, pack };
  };
  const placeOfRelease = async (id: string): Promise<ReleasePlace> =>
    places.get(id) ?? rememberPlace((await findOrThrow(stores, id)).release);

  const after = (effects: Effects | null): void => {
    if (effects === null) return;
    if (effects.index !== null) signals.indexChanged(effects.channel, effects.index.version);
    signals.wakeController();
  };

  return {
    async create(input, actor, idempotencyKey) {
      const now = clock();
      const at = now.toISOString();
      const request =
        idempotencyKey === undefined
          ? null
          : { key: idempotencyKey, actor, scope: 'release.create', body: input };
      const outcome = await runIdempotent(stores, request, now, async (tx) => {
        const channel = await lockChannel(tx, input.env, input.channel);
        const pack = await findPackByRef(tx.packs, input.pack);
        const plan = await resolvePlan(tx, input.plan ?? channel.plan);
        if (channel.activeRelease !== null) throw conflict(channel);
        const release = newRelease({
          id: `rel_${randomUUID()}`,
          env: channel.env,
          channel: channel.name,
          pack: pack.digest,
          packSequence: pack.sequence,
          basePack: channel.base,
          plan,
          requestedBy: actor,
          reason: input.reason,
          ...(input.schedule === undefined ? {} : { schedule: input.schedule }),
          cohorts: channel.cohorts.map((cohort) => cohort.name),
        });
        // Eligibility is decided now, against the build keys trusted now (the controller checks
        // it again on every tick): a pack that lost its signer is refused before anything starts.
        const packContext = await loadPackContext(tx, blobs, release);
        if (!packContext.eligible) {
          throw new LockgateError(
            'RELEASE_NOT_ELIGIBLE',
            `Pack ${pack.name}@${pack.version} may not be released: ${packContext.eligibilityReasons
              .map((r) => r.message)
              .join('; ')}.`,
            { details: { pack: pack.digest, reasons: packContext.eligibilityReasons } },
          );
        }
        if (!(await tx.channels.claimActiveRelease(channel, release.id))) throw conflict(channel);
        channel.activeRelease = release.id;
        await tx.releases.insert({ release, createdAt: at, updatedAt: at });
        await recordDecisions(tx, [
          {
            release: release.id,
            env: channel.env,
            channel: channel.name,
            at,
            kind: 'command',
            rule: 'release.create',
            actor,
            reason: input.reason,
            from: null,
            to: release.state,
            stageIndex: 0,
            inputs: {
              pack: pack.digest,
              packName: pack.name,
              packVersion: pack.version,
              packSequence: pack.sequence,
              basePack: channel.base,
              plan: release.plan,
              schedule: release.schedule ?? null,
            },
            verdict: 'requested',
            holder: null,
          },
        ]);
        const effects: Effects = { channel, index: null };
        return { response: releaseView({ release, createdAt: at, updatedAt: at }), effects };
      });
      rememberPlace(outcome.response);
      after(outcome.effects);
      return outcome.response;
    },

    async list(query) {
      return (await stores.releases.list(query)).map(releaseView);
    },

    async get(id) {
      return releaseView(await findOrThrow(stores, id));
    },

    async status(id) {
      const stored = await findOrThrow(stores, id);
      rememberPlace(stored.release);
      const why = await loadReleaseWhy(stores, blobs, stored, clock(), inputs);
      return { release: releaseView(stored), why };
    },

    async command(id, kind, input, actor, idempotencyKey) {
      const key = await keys.indexKey();
      const now = clock();
      const request =
        idempotencyKey === undefined
          ? null
          : { key: idempotencyKey, actor, scope: `release.${kind}:${id}`, body: input };
      // A release stays on its channel: read before the transaction (once per release), so that
      // the channel's kept inputs are held before it opens (ReleaseInputs.hold).
      const { env, name, pack } = await placeOfRelease(id);
      // on SQLite its turns at the file go before those the controller and the reports wait for
      const outcome = await aheadInLine(() =>
        withInputsHeld(inputs, { env, name }, () =>
          runIdempotent(stores, request, now, async (tx) => {
            const locked = await lockAndReadRelease(tx, id, { env, name }, pack, inputs);
            if (locked === null) throw await channelMissing(tx, env, name);
            const { channel, rows, read } = locked;
            const stored = locked.stored ?? (await findOrThrow(tx, id));
            const before = stored.release;
            // decided no earlier than the kept inputs were last read (a tick may have read them
            // since this command read the clock): the command reads on from there
            const at = inputs?.notBefore(channel, now) ?? now;
            const context = await loadReleaseContext(
              tx,
              blobs,
              before,
              channel,
              at,
              inputs,
              rows,
              read,
            );
            const result = applyCommand(
              before,
              {
                kind,
                actor,
                reason: input.reason,
                ...(input.full === undefined ? {} : { full: input.full }),
              },
              context,
              at,
            );
            const committed = await commitReleaseChange(tx, before, result, {
              channel,
              now: at,
              holder: null,
              key,
              context,
              rows,
            });
            if (committed === null) {
              throw new LockgateError(
                'VERSION_CONFLICT',
                `Release ${id} changed while the command was applied; retry.`,
                { details: { id, version: before.version } },
              );
            }
            const effects: Effects = { channel, index: committed.index };
            const view = releaseView({
              release: committed.release,
              createdAt: stored.createdAt,
              updatedAt: at.toISOString(),
            });
            return { response: view, effects };
          }),
        ),
      );
      after(outcome.effects);
      return outcome.response;
    },

    async timeline(id) {
      await findOrThrow(stores, id);
      // state changes only: the stage attestations and the seal are in the release's evidence
      return (await stores.decisions.list({ release: id, limit: 100_000 })).filter(
        (r) => !isEvidenceRecordKind(r.kind),
      );
    },

    async rollbackPreview(id, query, actor) {
      return previewRollback(stores, blobs, { id, ...query, actor, now: clock() });
    },
  };
}

function conflict(channel: StoredChannel): LockgateError {
  return new LockgateError(
    'RELEASE_CONFLICT',
    `Release ${channel.activeRelease ?? '?'} is active in ${channel.env}/${channel.name}.`,
    { details: { env: channel.env, channel: channel.name, activeRelease: channel.activeRelease } },
  );
}

/** A stage cohort must be a selector-only cohort of the channel (its percent is the stage's). */
export function releaseView(stored: StoredRelease): ReleaseView {
  const { release } = stored;
  const stage = release.plan.stages[release.stageIndex];
  const active = release.state === 'rolling' || release.state === 'paused';
  return {
    ...release,
    createdAt: stored.createdAt,
    updatedAt: stored.updatedAt,
    currentStage:
      active && stage !== undefined && !isTerminal(release.state)
        ? {
            name: stage.name,
            percent: stage.percent,
            cohort: stage.cohort ?? null,
            startedAt: release.stageStartedAt,
            soakSeconds: stage.soakSeconds,
          }
        : null,
  };
}
