import {
  desiredPack,
  evaluateEligibility,
  isCompareGate,
  isLockgateError,
  isTerminal,
  measurablePlan,
  parsePublicKey,
  verifySignatures,
} from '@lockgate/core';
import type {
  ChannelContext,
  PackContext,
  PackManifest,
  ReleaseContext,
  ReleaseState,
  StageMeasures,
} from '@lockgate/core';
import type { BlobStore } from '../../blob-store.ts';
import type { Decoded, ReadPart } from '../../db/statement-parts.ts';
import type { StoresOf } from '../../stores.ts';
import type { StoredBuild } from '../builds/public.ts';
import type { StoredFreezeWindow } from '../environments/public.ts';
import { indexPayloadOf, indexPins } from '../channels/public.ts';
import type {
  ChannelKey,
  StoredChannel,
  StoredPin,
  StoredRollbackAuthorization,
} from '../channels/public.ts';
import { channelRowsOf, loadChannelRows } from '../decisions/public.ts';
import type { ChannelRows } from '../decisions/public.ts';
import type { StoredPack } from '../packs/public.ts';
import type { TrustedKey } from '../trust/public.ts';

/** The stores this module uses, and no others. */
type UsedStores = StoresOf<
  | 'builds'
  | 'channels'
  | 'environments'
  | 'packs'
  | 'revocations'
  | 'statements'
  | 'targets'
  | 'trust'
>;
import type { FirstReads, ReleaseInputs } from './release-inputs.ts';
import type { StoredRelease } from './release-store.ts';

/** Reports older than the largest gate window of a plan never count; 5 minutes without gates. */
const DEFAULT_REPORT_WINDOW_SECONDS = 300;

/**
 * The earliest report time (ms) a live release's context reads at `now`: its plan's largest gate
 * window back from `now`, and for a stage with a compare gate also since the stage started, less
 * the largest `historySeconds` of its compare gates. The controller keeps every report from here
 * on (prune), however long the stage soaks.
 */
export function reportWindowStartMs(release: ReleaseState, now: Date): number {
  const windowSeconds = Math.max(
    0,
    ...release.plan.stages.flatMap((stage) => stage.gates.map((gate) => gate.windowSeconds)),
  );
  let fromMs = now.getTime() - (windowSeconds || DEFAULT_REPORT_WINDOW_SECONDS) * 1000;
  // a compare gate recomputes its sequential test from every report since the stage started,
  // and from its members' reports of the historySeconds before it when it has a history
  const stage = release.plan.stages[release.stageIndex];
  const startedMs = release.stageStartedAt === null ? NaN : Date.parse(release.stageStartedAt);
  if (stage?.gates.some(isCompareGate) === true && Number.isFinite(startedMs)) {
    const historySeconds = Math.max(
      0,
      ...stage.gates.map((gate) => (isCompareGate(gate) ? (gate.historySeconds ?? 0) : 0)),
    );
    fromMs = Math.min(fromMs, startedMs - historySeconds * 1000);
  }
  return fromMs;
}

/** What a release context reads besides the channel's rows and the kept inputs. */
export interface ReleaseContextReads {
  /** the release's pack these were read for */
  pack: string;
  freezes: StoredFreezeWindow[];
  /** the build the pack names */
  build: StoredBuild | null;
  trusted: TrustedKey[];
}

/**
 * The parts a release's context reads but the kept inputs, in one statement on PostgreSQL: the
 * channel's rows (its pins, rollback authorizations, the revoked packs, and the packs the
 * release and the channel row name: its base and last-known-good as the statement reads the
 * row, so that the parts can join the row's lock; `releaseContextRowsOf` reads any other pack
 * the locked row names) and `ReleaseContextReads` (the environment's freeze windows, the build
 * of the pack, the trusted keys).
 */
function releaseContextParts(
  tx: StoresOf<'builds' | 'channels' | 'environments' | 'packs' | 'revocations' | 'trust'>,
  channel: ChannelKey,
  pack: string,
) {
  return [
    tx.channels.listPinsPart(channel.env, channel.name),
    tx.channels.listRollbackAuthorizationsPart(channel.env, channel.name),
    tx.revocations.digestsPart(),
    tx.packs.findForChannelPart(channel.env, channel.name, [pack]),
    tx.environments.listFreezeWindowsPart(channel.env),
    tx.builds.findOfPackPart(pack),
    tx.trust.listPart(),
  ] as const;
}

/**
 * The channel's rows and `ReleaseContextReads` from what `releaseContextParts` read, with the
 * packs the locked `channel` row names read too when those rows miss them.
 */
async function releaseContextRowsOf(
  tx: StoresOf<'packs' | 'statements'>,
  pack: string,
  [pins, authorizations, revoked, packs, freezes, build, trusted]: readonly [
    StoredPin[],
    StoredRollbackAuthorization[],
    string[],
    Map<string, StoredPack>,
    StoredFreezeWindow[],
    StoredBuild | null,
    TrustedKey[],
  ],
  channel: StoredChannel,
): Promise<{ rows: ChannelRows; read: ReleaseContextReads }> {
  return {
    rows: await channelRowsOf(tx, [pins, authorizations, revoked, packs], channel),
    read: { pack, freezes, build, trusted },
  };
}

/** The stores a locked read of a release uses. */
type LockedReadStores = StoresOf<
  | 'builds'
  | 'channels'
  | 'environments'
  | 'packs'
  | 'releases'
  | 'revocations'
  | 'statements'
  | 'targets'
  | 'trust'
>;

/**
 * The channel locked and `readLockedRelease`'s reads, in one statement on PostgreSQL (one round
 * trip less): the lock is taken only on the row version of the statement's snapshot (ChannelStore
 * `lockIfUnchangedPart`). When another transaction locked and changed the row while this one
 * waited, the reads may be older than the lock: the channel is then locked and read again, in
 * two statements, as `readLockedRelease` reads. Null when the channel does not exist.
 */
export async function lockAndReadRelease(
  tx: LockedReadStores,
  id: string,
  where: ChannelKey,
  pack: string,
  inputs?: ReleaseInputs,
): Promise<{
  channel: StoredChannel;
  stored: StoredRelease | null;
  rows: ChannelRows;
  read: ReleaseContextReads;
} | null> {
  const [channel, stored, ...read] = await readJoined(
    tx,
    [
      tx.channels.lockIfUnchangedPart(where.env, where.name),
      tx.releases.findPart(id),
      ...releaseContextParts(tx, where, pack),
    ],
    inputs?.firstReads(tx, where),
  );
  if (channel !== null) {
    return { channel, stored, ...(await releaseContextRowsOf(tx, pack, read, channel)) };
  }
  const locked = await tx.channels.lock(where.env, where.name);
  if (locked === null) return null;
  return { channel: locked, ...(await readLockedRelease(tx, id, locked, pack, inputs)) };
}

/**
 * A release and what its context reads but the kept inputs (the channel's rows, `read`), with
 * its channel locked in the caller's transaction: one statement on PostgreSQL (two when a pin or
 * the channel's rollout names a pack the release and the row's base and last-known-good are not). `pack` is the release's (a release never changes
 * pack); `stored` is null when the release is gone.
 */
export async function readLockedRelease(
  tx: LockedReadStores,
  id: string,
  channel: StoredChannel,
  pack: string,
  /** the kept inputs the context will be loaded with: their first reads join this statement */
  inputs?: ReleaseInputs,
): Promise<{ stored: StoredRelease | null; rows: ChannelRows; read: ReleaseContextReads }> {
  const [stored, ...read] = await readJoined(
    tx,
    [tx.releases.findPart(id), ...releaseContextParts(tx, channel, pack)],
    inputs?.firstReads(tx, channel),
  );
  return { stored, ...(await releaseContextRowsOf(tx, pack, read, channel)) };
}

/**
 * `parts` read in one statement with the kept inputs' first reads (ReleaseInputs.firstReads),
 * which keep their rows for the load that follows.
 */
async function readJoined<const P extends readonly ReadPart<unknown>[]>(
  tx: StoresOf<'statements'>,
  parts: P,
  first: FirstReads | undefined,
): Promise<Decoded<P>> {
  if (first === undefined || first.parts.length === 0) return tx.statements.read(parts);
  const rows: readonly unknown[] = await tx.statements.read([...parts, ...first.parts]);
  first.keep(rows.slice(parts.length));
  // the first parts.length rows are the parts', decoded in their order
  return rows.slice(0, parts.length) as Decoded<P>;
}

/**
 * Everything core `decide` / `applyCommand` read about a release, loaded inside the caller's
 * transaction (with the channel row locked): the channel context (pins, LKG, floor, revoked,
 * constraints, rollback authorizations), the pack context (eligibility by core
 * evaluateEligibility against the build record and signatures against the keys trusted now,
 * evidence = the pack row and its file are stored), the channel's targets, the channel's reports from `reportWindowStartMs`, the stage targets (the channel's targets whose desiredPack on the current index is the release pack) and the
 * environment's freeze windows.
 */
export async function loadReleaseContext(
  tx: UsedStores,
  blobs: BlobStore,
  release: ReleaseState,
  channel: StoredChannel,
  now: Date,
  /** the controller's memory between ticks (release-inputs.ts); without it everything is read */
  inputs?: ReleaseInputs,
  /** the channel's rows, read under the channel lock of this transaction (commit road) */
  given?: ChannelRows,
  /** what `releaseContextParts` read for this release, with the rows */
  read?: ReleaseContextReads,
): Promise<ReleaseContext> {
  let rows = given;
  let reads = read?.pack === release.pack ? read : undefined;
  if (rows === undefined && reads === undefined) {
    // one statement on PostgreSQL (see readLockedRelease for when two)
    const parts = releaseContextParts(tx, channel, release.pack);
    ({ rows, read: reads } = await releaseContextRowsOf(
      tx,
      release.pack,
      await readJoined(tx, parts, inputs?.firstReads(tx, channel)),
      channel,
    ));
  }
  rows ??= await loadChannelRows(tx, channel);
  const { pins, authorizations, revoked, packs: stored } = rows;
  const packs: ChannelContext['packs'] = {};
  for (const digest of [channel.base, channel.lkg, ...pins.map((pin) => pin.pack)]) {
    if (digest === null || Object.hasOwn(packs, digest)) continue;
    const pack = stored.get(digest);
    if (pack !== undefined) packs[digest] = { sequence: pack.sequence };
  }
  const channelContext: ChannelContext = {
    pins: indexPins(pins, channel),
    lkg: channel.lkg,
    base: channel.base,
    packs,
    cohorts: channel.cohorts,
    floor: channel.floor,
    revoked,
    constraints: channel.constraints,
    rollbackAuthorizations: authorizations.map((a) => ({
      pack: a.pack,
      reason: a.reason,
      expiresAt: a.expiresAt,
    })),
  };
  const fromMs = reportWindowStartMs(release, now);
  const from = new Date(fromMs).toISOString();
  const rolling = release.state === 'rolling' || release.state === 'paused';
  const to = now.toISOString();
  let stageTargets: string[] = [];
  // Every live release reads the channel's targets: the tick that starts a stage may be the one
  // that also verifies the release, and the stage's reach is decided from them.
  const targets = isTerminal(release.state)
    ? []
    : inputs === undefined
      ? await tx.targets.listRefs(channel.env, channel.name)
      : await inputs.targets(tx, channel);
  if (rolling) {
    const index = indexPayloadOf(channel.indexEnvelope);
    if (inputs === undefined) {
      for (const target of targets) {
        if (desiredPack(index, target, now).pack === release.pack) stageTargets.push(target.id);
      }
    } else {
      stageTargets = await inputs.stageTargets(tx, channel, targets, index, release.pack, now);
    }
  }
  // With the kept inputs, a plan without compare gates is decided on its stage measured from
  // the kept rollup (core stage-rollup.ts: the same verdicts), not on the window's reports.
  const measures: StageMeasures | null =
    rolling && inputs !== undefined && measurablePlan(release.plan)
      ? await inputs.measures(
          tx,
          channel,
          { release: release.id, pack: release.pack, plan: release.plan, stageTargets },
          from,
          to,
        )
      : null;
  const reports =
    !rolling || measures !== null
      ? []
      : inputs === undefined
        ? await tx.targets.listReports(channel.env, channel.name, from, to)
        : await inputs.reports(tx, channel, from, to);
  // the channel's rows hold the release's pack once it rolls (packs are never changed)
  const pack = stored.get(release.pack) ?? (await tx.packs.findByDigest(release.pack));
  if (reads === undefined) {
    const [freezes, build, trusted] = await tx.statements.read([
      tx.environments.listFreezeWindowsPart(channel.env),
      tx.builds.findOfPackPart(release.pack),
      tx.trust.listPart(),
    ]);
    reads = { pack: release.pack, freezes, build, trusted };
  }
  const { freezes, build, trusted } = reads;
  return {
    release,
    channel: channelContext,
    pack: await packContextOf(blobs, release, pack, build, trusted),
    reports,
    ...(measures === null ? {} : { measures }),
    stageTargets,
    targets,
    freezeWindows: freezes.map((f) => f.window),
  };
}

/**
 * The pack's eligibility now: core evaluateEligibility against its build record, its signatures
 * against the build keys trusted now (a pack whose only signer was removed from trust is no longer
 * eligible: PACK_SIGNER_UNTRUSTED), the build not having produced another pack, and its file
 * stored (evidence).
 */
export async function loadPackContext(
  tx: UsedStores,
  blobs: BlobStore,
  release: ReleaseState,
  /** the release's pack row when the caller read it already (packs are never changed) */
  read?: StoredPack,
): Promise<PackContext> {
  const stored = read ?? (await tx.packs.findByDigest(release.pack));
  if (stored === null) return packContextOf(blobs, release, null, null, []);
  const [build, trusted] = await tx.statements.read([
    tx.builds.findPart(stored.buildId),
    tx.trust.listPart(),
  ]);
  return packContextOf(blobs, release, stored, build, trusted);
}

/** The pack context of a release from the rows it is decided on (`loadPackContext`). */
async function packContextOf(
  blobs: BlobStore,
  release: ReleaseState,
  stored: StoredPack | null,
  storedBuild: StoredBuild | null,
  trusted: readonly TrustedKey[],
): Promise<PackContext> {
  if (stored === null) {
    return {
      digest: release.pack,
      sequence: release.packSequence,
      eligible: false,
      eligibilityReasons: [
        { code: 'PACK_NOT_FOUND', message: `pack ${release.pack} is not stored` },
      ],
      requires: {},
      evidenceComplete: false,
    };
  }
  const manifest = JSON.parse(stored.manifestJson) as PackManifest;
  const build = storedBuild?.record ?? null;
  const verdict = evaluateEligibility({ manifest, build });
  const reasons = [...verdict.reasons];
  const trustedKeys = trusted.map((key) => parsePublicKey(key.publicKeyPem));
  try {
    verifySignatures(manifest, trustedKeys);
  } catch (error) {
    if (!isLockgateError(error)) throw error;
    reasons.push({
      code: error.code,
      message: `pack ${stored.digest} is not signed by a build key trusted now: ${error.message}`,
    });
  }
  if (build !== null && build.packDigest !== null && build.packDigest !== stored.digest) {
    reasons.push({
      code: 'BUILD_CONFLICT',
      message: `build ${build.id} produced pack ${build.packDigest}, not ${stored.digest}`,
    });
  }
  const fileStored = (await blobs.size(stored.digest.slice('sha256:'.length))) === stored.size;
  return {
    digest: stored.digest,
    sequence: stored.sequence,
    eligible: reasons.length === 0,
    eligibilityReasons: reasons,
    requires: manifest.requires,
    evidenceComplete: fileStored,
  };
}
