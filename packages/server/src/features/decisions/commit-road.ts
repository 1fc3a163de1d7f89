/**
 * The one road every decision takes:
 *
 *   event ──▶ core ──▶ commit ──▶ record ──▶ index ──▶ agents
 *
 * - event: an operator command (channel-service, release-service, revocation-service) or the
 *   controller (release reconcile, pin lapsing, index refresh) — features/controller/controller.ts;
 * - core: a pure function decides (`decideChannel`, `createChannel`, `applyReleaseResult`,
 *   `decide` / `applyCommand` for the release itself) on the channel state this module loads
 *   with the channel row locked (`loadChannelState`);
 * - commit: the changes core returned are stored in the same transaction
 *   (`commitLockedChannel`; the release row is saved with its version check by the caller's
 *   function before it returns the channel decision);
 * - record: `recordDecisions` appends one hash-chained decision record per draft — the single
 *   record step, also for decisions about no channel (tokens, environments, freezes, targets);
 *   each record carries the core version that decided, and a release decision's context (given
 *   by the caller that decided) is stored content-addressed in the same step, for replay; a
 *   channel decision is run here from its core call (`channelCall`: function, inputs, time),
 *   which is stored the same way and named by its records (`inputs.context`), so it replays too;
 * - index: when the decision changed what the index carries, the channel index is built from the
 *   store, signed and stored under a version check (`resignChannelIndex`);
 * - agents: the caller publishes what this returns after the transaction commits (SSE
 *   `indexChanged`, controller wake-up); agents fetch the new index.
 *
 * Invariants: nothing here decides — a refused event throws from core before anything is
 * written; records and the index are written in the transaction of the state change (record,
 * then act); `appendDecisions` and `resignChannelIndex` are called from this module only.
 */
import { randomUUID } from 'node:crypto';
import {
  buildChannelIndex,
  channelCall,
  channelCallDigest,
  channelCallDrafts,
  CORE_VERSION,
  LockgateError,
  runChannelCall,
  signChannelIndex,
  stampChannelCall,
} from '@lockgate/core';
import type {
  ChannelCall,
  ChannelDecision,
  ChannelPack,
  ChannelStateCall,
  ChannelState,
  IndexPackInfo,
  NamedPack,
  PackManifest,
  ReleaseContext,
} from '@lockgate/core';
import type { AnyWritePart, ReadPart } from '../../db/statement-parts.ts';
import type { StoresOf } from '../../stores.ts';
import { channelMissing, indexPins } from '../channels/public.ts';
import { logAppendOf } from '../log/public.ts';
import { contextListDigests } from '../replays/public.ts';
import type { EncodedContext } from '../replays/public.ts';
import { loadLogKey, logSigningKeyOf, TRANSPARENCY_LOG_KEY_USE } from '../server-keys/public.ts';
import { webhookDeliveriesOf } from '../webhooks/public.ts';
import type {
  ChannelKey,
  SignedIndex,
  StoredChannel,
  StoredPin,
  StoredRollbackAuthorization,
} from '../channels/public.ts';
import type { StoredPack } from '../packs/public.ts';
import type { StoredRevocation } from '../revocations/public.ts';
import type { IndexSigningKey } from '../server-keys/public.ts';
import { decisionRecordDigest } from './decision-log.ts';
import type { DecisionRecordDraft } from './decision-log.ts';
import type { DecisionRecord } from './decision-store.ts';

/** The stores this module uses, and no others. */
type UsedStores = StoresOf<
  | 'channels'
  | 'contexts'
  | 'decisions'
  | 'environments'
  | 'log'
  | 'packs'
  | 'revocations'
  | 'serverKeys'
  | 'statements'
  | 'webhooks'
>;

/** What recording a decision writes: the chain, its context, its log leaf, its webhook events. */
export type RecordStores = StoresOf<
  'contexts' | 'decisions' | 'log' | 'serverKeys' | 'statements' | 'webhooks'
>;

export interface RoadOptions {
  now: Date;
  key: IndexSigningKey;
  /** the controller that decided (recorded as `holder`); null or absent for operator commands */
  holder?: string | null;
  /** the context core decide / applyCommand decided the release on; stored with the records */
  context?: ReleaseContext;
  /** the channel's rows when the caller read them under this transaction's lock already */
  rows?: ChannelRows;
}

/**
 * What a channel function asks core to decide: the call (core `channelCall`: the function, its
 * inputs and the time; the road runs it and stores it as the context of its records), a value
 * for the caller, and the caller's own writes of the same decision (a release saved with its
 * version check), which the road writes with the decision's records.
 */
export type ChannelDecided<T> = {
  call: ChannelStateCall;
  value: T;
  writes?: readonly AnyWritePart[];
} | null;

export interface CommittedChannelChange<T> {
  value: T;
  /** the channel row as stored now (its index fields are the new index's) */
  channel: StoredChannel;
  state: ChannelState;
  records: DecisionRecord[];
  /** the channel's new index when the decision changed what it carries, else null */
  index: SignedIndex | null;
}

/**
 * Records decisions: appends one hash-chained record per draft in the caller's transaction. The
 * road's single record step (every decision of the server is recorded here). `context`, when
 * given, is what core decided the drafts on (their `inputs.context` names its digest): it is
 * stored content-addressed in the same transaction, so a committed record never names a context
 * that was not kept. `lists` are what the drafts hold by digest (a stage attestation's list of
 * targets), encoded before the transaction's record step and kept the same way.
 */
export async function recordDecisions(
  tx: RecordStores,
  drafts: readonly DecisionRecordDraft[],
  decided: { context?: ReleaseContext | undefined; lists?: readonly EncodedContext[] } = {},
): Promise<DecisionRecord[]> {
  return appendDecisions(tx, drafts, [
    ...(decided.context === undefined ? [] : [decided.context]),
    ...(decided.lists ?? []),
  ]);
}

/** A known pack's facts for the channel rule (and its name and version for messages). */
export function channelPackOf(pack: StoredPack): ChannelPack {
  return { digest: pack.digest, name: pack.name, version: pack.version, sequence: pack.sequence };
}

/** A pack an operator named, with its manifest's `requires` (the channel constraints apply). */
export function namedPackOf(pack: StoredPack): NamedPack {
  const { requires } = JSON.parse(pack.manifestJson) as PackManifest;
  return { ...channelPackOf(pack), requires };
}

/**
 * The rows a channel decision reads besides the channel's own, read in the caller's transaction
 * with the channel row locked: every pin and rollback authorization of the channel, every
 * revoked digest and every stored pack the channel names (base, LKG, rollout, pins,
 * authorizations). While the lock is held none of them changes (pins and authorizations are
 * written under it, revocations under every channel's, packs never), so one read serves the
 * release context and the commit of the same transaction.
 */
export interface ChannelRows {
  pins: StoredPin[];
  authorizations: StoredRollbackAuthorization[];
  revoked: string[];
  /**
   * by digest: those the channel names (and any its reader asked for); a named digest without a
   * stored pack is absent
   */
  packs: ReadonlyMap<string, StoredPack>;
}

export async function loadChannelRows(
  tx: StoresOf<'channels' | 'packs' | 'revocations' | 'statements'>,
  channel: StoredChannel,
): Promise<ChannelRows> {
  return channelRowsOf(tx, await tx.statements.read(channelRowParts(tx, channel)));
}

/**
 * `loadChannelRows` in two steps, for a caller that reads more in the same statement: the parts
 * of the channel's rows (pins, rollback authorizations, revoked digests, and the packs the
 * channel row names with any the caller adds), then `channelRowsOf` reads the packs that pins
 * and authorizations name besides, if any (one statement on PostgreSQL, two with such pins).
 */
export function channelRowParts(
  tx: StoresOf<'channels' | 'packs' | 'revocations'>,
  channel: StoredChannel,
  alsoPacks: readonly string[] = [],
): readonly [
  ReadPart<StoredPin[]>,
  ReadPart<StoredRollbackAuthorization[]>,
  ReadPart<string[]>,
  ReadPart<Map<string, StoredPack>>,
] {
  const named = new Set(alsoPacks);
  for (const digest of [channel.base, channel.lkg, channel.rollout?.pack ?? null]) {
    if (digest !== null) named.add(digest);
  }
  return [
    tx.channels.listPinsPart(channel.env, channel.name),
    tx.channels.listRollbackAuthorizationsPart(channel.env, channel.name),
    tx.revocations.digestsPart(),
    tx.packs.findByDigestsPart([...named]),
  ];
}

export async function channelRowsOf(
  tx: StoresOf<'packs' | 'statements'>,
  [pins, authorizations, revoked, read]: readonly [
    StoredPin[],
    StoredRollbackAuthorization[],
    string[],
    Map<string, StoredPack>,
  ],
  /** the channel row, when `read` may miss packs it names (read before the row, or beside it) */
  channel?: StoredChannel,
): Promise<ChannelRows> {
  const packs = new Map(read);
  const more = new Set<string>();
  const named = [
    ...pins.map((pin) => pin.pack),
    ...authorizations.map((a) => a.pack),
    ...(channel === undefined ? [] : [channel.base, channel.lkg, channel.rollout?.pack ?? null]),
  ];
  for (const digest of named) {
    if (digest !== null && !packs.has(digest)) more.add(digest);
  }
  if (more.size > 0) {
    const [found] = await tx.statements.read([tx.packs.findByDigestsPart([...more])]);
    for (const [digest, pack] of found) packs.set(digest, pack);
  }
  return { pins, authorizations, revoked, packs };
}

/**
 * The channel as core decides on it, read in the caller's transaction (the channel row locked):
 * its row and its rows (`loadChannelRows`, or those given, read under the same lock).
 */
export async function loadChannelState(
  tx: UsedStores,
  channel: StoredChannel,
  given?: ChannelRows,
): Promise<ChannelState> {
  const {
    pins,
    authorizations,
    revoked,
    packs: stored,
  } = given ?? (await loadChannelRows(tx, channel));
  const packs: ChannelState['packs'] = {};
  for (const [digest, pack] of stored) packs[digest] = channelPackOf(pack);
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
    rollout: channel.rollout,
    activeRelease: channel.activeRelease,
    createdAt: channel.createdAt,
    createdBy: channel.createdBy,
    updatedAt: channel.updatedAt,
    updatedBy: channel.updatedBy,
    pins: pins.map(({ env: _env, channel: _channel, ...pin }) => pin),
    rollbackAuthorizations: authorizations.map(({ env: _env, channel: _channel, ...a }) => a),
    revoked,
    packs,
  };
}

/**
 * Locks the channel (CHANNEL_NOT_FOUND / ENVIRONMENT_NOT_FOUND when it is missing), then runs
 * `commitLockedChannel`.
 */
export async function commitChannelChange<T>(
  tx: UsedStores,
  where: ChannelKey,
  options: RoadOptions,
  decideFn: (
    state: ChannelState,
    channel: StoredChannel,
  ) => ChannelDecided<T> | Promise<ChannelDecided<T>>,
): Promise<CommittedChannelChange<T> | null> {
  const channel = await tx.channels.lock(where.env, where.name);
  if (channel === null) throw await channelMissing(tx, where.env, where.name);
  return commitLockedChannel(tx, channel, options, decideFn);
}

/**
 * The road for a channel the caller has locked in this transaction: loads its state, runs the
 * decide function (core; it may save a release with a version check first, and returns null when
 * there is nothing to commit), stores the changes, records the drafts and re-signs the index when
 * the decision asks for it. `channel` is updated in place to what is stored.
 */
export async function commitLockedChannel<T>(
  tx: UsedStores,
  channel: StoredChannel,
  options: RoadOptions,
  decideFn: (
    state: ChannelState,
    channel: StoredChannel,
  ) => ChannelDecided<T> | Promise<ChannelDecided<T>>,
): Promise<CommittedChannelChange<T> | null> {
  const decided = await decideFn(await loadChannelState(tx, channel, options.rows), channel);
  if (decided === null) return null;
  const { call, value, writes = [] } = decided;
  return commitDecision(
    tx,
    channel,
    { decision: runChannelCall(call), value, call, writes },
    options,
  );
}

/** Stores a new channel decided by core `createChannel`, records it and signs its first index. */
export async function commitNewChannel(
  tx: UsedStores,
  call: Extract<ChannelStateCall, { fn: 'createChannel' }>,
  options: RoadOptions,
): Promise<CommittedChannelChange<null>> {
  const decision = runChannelCall(call);
  const { state } = decision;
  const channel: StoredChannel = {
    ...rowOf(state),
    indexVersion: 0,
    indexEnvelope: { payloadType: '', payload: '', signatures: [] },
    indexExpiresAt: state.createdAt,
  };
  return commitDecision(tx, channel, { decision, value: null, call }, options);
}

/**
 * Revokes a pack everywhere: locks every channel (in a fixed order), stores the revocation,
 * records it once and re-signs every channel's index (core `pack.revoked`). The caller has
 * checked that the pack is not revoked yet.
 */
export async function commitPackRevocation(
  tx: UsedStores,
  input: { pack: StoredPack; reason: string; actor: string },
  options: RoadOptions,
): Promise<{
  revocation: StoredRevocation;
  changed: { channel: StoredChannel; index: SignedIndex }[];
}> {
  const { pack, reason, actor } = input;
  const channels: { channel: StoredChannel; state: ChannelState }[] = [];
  for (const listed of await tx.channels.list()) {
    const locked = await tx.channels.lock(listed.env, listed.name);
    if (locked !== null)
      channels.push({ channel: locked, state: await loadChannelState(tx, locked) });
  }
  const revocation: StoredRevocation = {
    pack: pack.digest,
    reason,
    actor,
    revokedAt: options.now.toISOString(),
  };
  await tx.revocations.insert(revocation);
  const revocationCall = channelCall(
    {
      fn: 'revocation',
      input: {
        pack: channelPackOf(pack),
        reason,
        actor,
        channels: channels.map(({ channel }) => ({ env: channel.env, name: channel.name })),
      },
    },
    options.now,
  );
  await recordCall(tx, revocationCall, channelCallDrafts(revocationCall), options);
  const changed: { channel: StoredChannel; index: SignedIndex }[] = [];
  for (const { channel, state } of channels) {
    const call = channelCall(
      { fn: 'decideChannel', state, event: { kind: 'pack.revoked', pack: pack.digest } },
      options.now,
    );
    const decision = runChannelCall(call);
    const committed = await commitDecision(tx, channel, { decision, value: null, call }, options);
    if (committed.index !== null) changed.push({ channel, index: committed.index });
  }
  return { revocation, changed };
}

/** A new id for a rollback authorization core may store. */
export function newRollbackAuthorizationId(): string {
  return `rba_${randomUUID()}`;
}

async function commitDecision<T>(
  tx: UsedStores,
  channel: StoredChannel,
  decided: {
    decision: ChannelDecision;
    value: T;
    call: ChannelCall;
    writes?: readonly AnyWritePart[];
  },
  options: RoadOptions,
): Promise<CommittedChannelChange<T>> {
  const { decision, value } = decided;
  const { state } = decision;
  Object.assign(channel, rowOf(state));
  const { env, name } = channel;
  // the caller's writes and the channel row go with the records (one statement on PostgreSQL)
  const writes = [...(decided.writes ?? [])];
  for (const change of decision.changes) {
    switch (change.kind) {
      case 'insertChannel':
        if (!(await tx.channels.insert(channel))) {
          throw new LockgateError(
            'CONFLICT',
            `Channel ${env}/${name} was created by a concurrent request; retry.`,
            { details: { env, channel: name } },
          );
        }
        break;
      case 'saveChannel':
        writes.push(tx.channels.savePart(channel));
        break;
      case 'upsertPin':
        await tx.channels.upsertPin({ env, channel: name, ...change.pin });
        break;
      case 'deletePin':
        await tx.channels.deletePin(env, name, change.cohort);
        break;
      case 'insertRollbackAuthorization':
        await tx.channels.insertRollbackAuthorization({
          env,
          channel: name,
          ...change.authorization,
        });
        break;
      case 'updateRollbackAuthorization':
        await tx.channels.updateRollbackAuthorization({
          env,
          channel: name,
          ...change.authorization,
        });
        break;
      case 'deleteRollbackAuthorization':
        await tx.channels.deleteRollbackAuthorization(env, name, change.id);
        break;
    }
  }
  const records = await recordCall(tx, decided.call, decision.drafts, options, writes);
  const index = decision.resign ? await resignChannelIndex(tx, channel, options) : null;
  return { value, channel, state, records, index };
}

/**
 * Records the drafts of a channel call: those that name no context (a release step's own drafts
 * name theirs, given in `options.context`) name the call's digest, and the call is stored under
 * it in the same transaction, so each channel decision replays (core `replayChannelCall`).
 */
async function recordCall(
  tx: RecordStores,
  call: ChannelCall,
  drafts: readonly ChannelDecision['drafts'][number][],
  options: RoadOptions,
  writes: readonly AnyWritePart[] = [],
): Promise<DecisionRecord[]> {
  if (drafts.length === 0) return appendDecisions(tx, [], [], writes);
  const digest = channelCallDigest(call);
  const stamped = stampChannelCall(drafts, digest);
  const contexts: unknown[] = stamped.some((draft, i) => draft !== drafts[i]) ? [call] : [];
  if (options.context !== undefined) contexts.push(options.context);
  return appendDecisions(
    tx,
    stamped.map((draft) => withHolder(draft, options)),
    contexts,
    writes,
  );
}

function withHolder(
  draft: ChannelDecision['drafts'][number],
  options: RoadOptions,
): DecisionRecordDraft {
  return { ...draft, holder: options.holder ?? null };
}

/** The channel row of a state (without the index columns). */
function rowOf(
  state: ChannelState,
): Omit<StoredChannel, 'indexVersion' | 'indexEnvelope' | 'indexExpiresAt'> {
  return {
    env: state.env,
    name: state.name,
    plan: state.plan,
    floor: state.floor,
    constraints: state.constraints,
    cohorts: state.cohorts,
    indexTtlSeconds: state.indexTtlSeconds,
    base: state.base,
    lkg: state.lkg,
    rollout: state.rollout,
    activeRelease: state.activeRelease,
    createdAt: state.createdAt,
    createdBy: state.createdBy,
    updatedAt: state.updatedAt,
    updatedBy: state.updatedBy,
  };
}

/**
 * Appends records to the log inside the caller's transaction, with the contexts they name
 * (content-addressed): locks the chain head, links each record to the previous one and moves the
 * head; logs each record in the transparency log and queues the webhook deliveries they announce
 * (an outbox written in the same transaction). Inputs are normalized to plain JSON first, so the
 * stored record hashes to the same digest when read back.
 *
 * Two statements on PostgreSQL whatever the records (ADR 0024): the chain head's lock with the
 * reads (the log head, locked after it, the log key, the webhook subscriptions, which of the
 * contexts' lists are stored); then every write as one statement, with `writes`: the
 * state change the records record (a release, a channel row), written first on SQLite; a checked
 * one that changes no row fails the step, and the caller's transaction rolls back whole.
 */
export async function appendDecisions(
  tx: RecordStores,
  drafts: readonly DecisionRecordDraft[],
  contexts: readonly unknown[] = [],
  writes: readonly AnyWritePart[] = [],
): Promise<DecisionRecord[]> {
  const first = drafts[0];
  if (first === undefined) {
    await tx.statements.write(writes);
    return [];
  }
  // the chain head's lock first, then the log head's (readAfter keeps that order)
  const [head, logHead, logKeyRow, webhooks, storedLists] = await tx.statements.readAfter(
    tx.decisions.lockHeadPart(),
    (after) => [
      tx.log.lockHeadPart(after),
      tx.serverKeys.findByUsePart(TRANSPARENCY_LOG_KEY_USE),
      tx.webhooks.listPart(),
      tx.contexts.storedPart(contexts.flatMap(contextListDigests)),
    ],
  );
  let { lastSeq, lastDigest } = head;
  const records: DecisionRecord[] = [];
  for (const draft of drafts) {
    const unsealed: Omit<DecisionRecord, 'seq' | 'digest'> = {
      ...draft,
      id: `dec_${randomUUID()}`,
      inputs: JSON.parse(JSON.stringify(draft.inputs)) as Record<string, unknown>,
      prevDigest: lastDigest,
      coreVersion: CORE_VERSION,
    };
    const record: DecisionRecord = {
      ...unsealed,
      seq: lastSeq + 1,
      digest: decisionRecordDigest(unsealed),
    };
    records.push(record);
    lastSeq = record.seq;
    lastDigest = record.digest;
  }
  // The log key is made on the first record ever (another statement, once per database).
  const logKey = logKeyRow === null ? await loadLogKey(tx, first.at) : logSigningKeyOf(logKeyRow);
  const logged = await logAppendOf(tx, records, logHead, logKey);
  await tx.statements.write([
    ...writes,
    ...contexts.flatMap((context) => tx.contexts.putParts(context, first.at, storedLists).parts),
    ...tx.decisions.insertParts(records),
    tx.decisions.setHeadPart({ lastSeq, lastDigest }),
    ...(logged === null ? [] : tx.log.appendParts(logged.entries, logged.nodes, logged.head)),
    ...tx.webhooks.enqueueParts(webhookDeliveriesOf(webhooks, records)),
  ]);
  return records;
}

/**
 * Builds, signs and stores the next version of a channel's index from what the database holds
 * now (inside the caller's transaction, with the channel row locked). Updates `channel` in
 * place and returns the new index.
 */
async function resignChannelIndex(
  tx: UsedStores,
  channel: StoredChannel,
  options: RoadOptions,
): Promise<SignedIndex> {
  const { now, key } = options;
  // read again: this transaction may have changed the pins and authorizations
  const { pins, authorizations, revoked, packs: stored } = await loadChannelRows(tx, channel);
  const referenced = new Set<string>();
  if (channel.base !== null) referenced.add(channel.base);
  if (channel.rollout !== null) referenced.add(channel.rollout.pack);
  for (const pin of pins) referenced.add(pin.pack);
  for (const authorization of authorizations) referenced.add(authorization.pack);
  const packs: Record<string, IndexPackInfo> = {};
  for (const digest of [...referenced].sort()) {
    const pack = stored.get(digest);
    if (pack !== undefined) {
      packs[digest] = { name: pack.name, version: pack.version, sequence: pack.sequence };
    }
  }
  const payload = buildChannelIndex({
    env: channel.env,
    channel: channel.name,
    version: channel.indexVersion + 1,
    issuedAt: now,
    ttlSeconds: channel.indexTtlSeconds,
    packs,
    base: channel.base,
    rollout: channel.rollout,
    pins: indexPins(pins, channel),
    floor: channel.floor,
    revoked,
    rollbackAuthorizations: authorizations.map((a) => ({
      pack: a.pack,
      reason: a.reason,
      expiresAt: a.expiresAt,
    })),
  });
  const index: SignedIndex = {
    version: payload.version,
    envelope: signChannelIndex(payload, key.privateKey, key.keyId),
    expiresAt: payload.expiresAt,
  };
  if (!(await tx.channels.setIndex(channel, index, channel.indexVersion))) {
    throw new LockgateError(
      'VERSION_CONFLICT',
      `The index of channel ${channel.env}/${channel.name} changed while it was being signed.`,
      { details: { env: channel.env, channel: channel.name } },
    );
  }
  channel.indexVersion = index.version;
  channel.indexEnvelope = index.envelope;
  channel.indexExpiresAt = index.expiresAt;
  return index;
}
