import type { Command } from 'commander';
import { RELEASE_STATES } from '@lockgate/core';
import type { CommandKind, ReleaseStatus } from '@lockgate/core';
import { itemsOf, objectField } from '../api-client.ts';
import type { ApiClient } from '../api-client.ts';
import type { DecisionRecordView, ReleaseView, ReleaseWhyView, ReplayView } from '@lockgate/api';
import { CliError } from '../cli-error.ts';
import { addServerOptions, clientFor } from '../command-context.ts';
import type { CommandContext, ServerOptions } from '../command-context.ts';
import {
  parseChannelName,
  parseChannelRef,
  parseEnvName,
  parseIdempotencyKey,
  parseLimit,
  parsePackRef,
  parsePlanName,
  parseReason,
  parseReleaseId,
  parseReleaseState,
  parseTimeValue,
} from '../option-values.ts';
import type { ChannelRef } from '../option-values.ts';
import { printResult } from '../output.ts';
import { loadPackNames, packLabel } from '../pack-names.ts';
import type { PackNames } from '../pack-names.ts';
import { watchRelease } from './release-watch.ts';
import {
  formatDecisionRecord,
  formatReleaseStatus,
  releaseProgress,
  stageSummary,
} from '../release-format.ts';
import { formatReplay, replayFigures } from '../replay-format.ts';

interface CreateOptions extends ServerOptions {
  to: ChannelRef;
  plan?: string;
  reason: string;
  notBefore?: string;
  idempotencyKey?: string;
  wait?: boolean;
}

interface ListOptions extends ServerOptions {
  env?: string;
  channel?: string;
  state?: ReleaseStatus;
  limit?: number;
}

interface ReplayOptions extends ServerOptions {
  reason: string;
}

interface CommandOptions extends ServerOptions {
  reason: string;
  full?: boolean;
  idempotencyKey?: string;
}

function releasePath(id: string): string {
  return `/api/v1/releases/${encodeURIComponent(id)}`;
}

function idempotencyHeader(key: string | undefined): { headers?: Record<string, string> } {
  return key === undefined ? {} : { headers: { 'idempotency-key': key } };
}

const IDEMPOTENCY_HELP = 'repeat the request safely: the same key and body return the first answer';

function releaseLine(release: ReleaseView, names: PackNames): string {
  return `${release.id}  ${release.env}/${release.channel}  ${release.state}  ${stageSummary(release)}  ${packLabel(names, release.pack)}  by ${release.requestedBy}  ${release.createdAt}`;
}

/** How often `--wait` asks for the release's status. */
const WAIT_POLL_MS = 1000;

/** Digests a release status names: its pack, its base and where it rolled back to. */
function releaseDigests(release: ReleaseView): (string | null | undefined)[] {
  return [release.pack, release.basePack, release.outcome?.rollbackTo];
}

async function fetchStatus(
  client: ApiClient,
  id: string,
): Promise<{ release: ReleaseView; why: ReleaseWhyView | null }> {
  const response = await client.request('GET', releasePath(id));
  const release = objectField<ReleaseView>(response.body, 'release');
  const why = (response.body as { why?: ReleaseWhyView | null }).why ?? null;
  return { release, why };
}

/** A release the controller will not move on its own: ended, paused, or waiting for approvals. */
function needsNoMoreWaiting(release: ReleaseView, why: ReleaseWhyView | null): boolean {
  if (why === null) return true;
  return (
    release.state === 'paused' ||
    why.blockers.some((b) => b.kind === 'approval' || b.kind === 'paused')
  );
}

/**
 * `release create --wait`: polls the release, printing a line whenever its state or stage
 * changes, until it ends, pauses or waits for approvals. Exit 0 only when it completed; otherwise
 * the status says why and RELEASE_NOT_COMPLETED.
 */
async function waitForRelease(
  context: CommandContext,
  client: ApiClient,
  release: ReleaseView,
  json: boolean,
): Promise<void> {
  let last = '';
  let status: { release: ReleaseView; why: ReleaseWhyView | null } = { release, why: null };
  for (;;) {
    status = await fetchStatus(client, release.id);
    const line = `${status.release.state}  ${stageSummary(status.release)}${
      status.release.currentStage?.startedAt === null ? ' (not started)' : ''
    }`;
    if (line !== last && !json) context.io.stdout(`  ${line}\n`);
    last = line;
    if (needsNoMoreWaiting(status.release, status.why)) break;
    await new Promise((resolve) => setTimeout(resolve, WAIT_POLL_MS));
  }
  const names = json
    ? new Map<string, string>()
    : await loadPackNames(client, releaseDigests(status.release));
  const progress = releaseProgress(status.release, context.io.now());
  printResult(
    context.io,
    json,
    formatReleaseStatus(status.release, progress, { why: status.why, names }),
    { release: status.release, progress, why: status.why },
  );
  if (status.release.state !== 'completed') {
    throw new CliError(
      'RELEASE_NOT_COMPLETED',
      `Release ${status.release.id} is ${status.release.state}${
        status.why !== null && status.why.blockers.length > 0
          ? `: ${status.why.blockers.map((b) => b.message).join('; ')}`
          : status.release.outcome === undefined
            ? ''
            : `: ${status.release.outcome.summary}`
      }`,
      { details: { release: status.release.id, state: status.release.state } },
    );
  }
}

export async function createRelease(
  context: CommandContext,
  pack: string,
  options: CreateOptions,
): Promise<void> {
  const client = clientFor(context, options);
  const response = await client.request('POST', '/api/v1/releases', {
    json: {
      pack,
      env: options.to.env,
      channel: options.to.channel,
      reason: options.reason,
      ...(options.plan === undefined ? {} : { plan: options.plan }),
      ...(options.notBefore === undefined ? {} : { schedule: { notBefore: options.notBefore } }),
    },
    ...idempotencyHeader(options.idempotencyKey),
  });
  const release = objectField<ReleaseView>(response.body, 'release');
  const json = options.json === true;
  const names = json ? new Map<string, string>() : await loadPackNames(client, [release.pack]);
  const requested = `requested release ${release.id}: ${packLabel(names, release.pack)} into ${release.env}/${release.channel} with plan ${release.plan.name} (${release.state})`;
  if (options.wait === true) {
    if (!json) context.io.stdout(`${requested}\n`);
    await waitForRelease(context, client, release, json);
    return;
  }
  printResult(context.io, json, requested, { release });
}

export async function listReleases(context: CommandContext, options: ListOptions): Promise<void> {
  const client = clientFor(context, options);
  const response = await client.request('GET', '/api/v1/releases', {
    query: {
      env: options.env,
      channel: options.channel,
      state: options.state,
      limit: options.limit,
    },
  });
  const items = itemsOf<ReleaseView>(response.body);
  const names =
    options.json === true || items.length === 0
      ? new Map<string, string>()
      : await loadPackNames(
          client,
          items.map((release) => release.pack),
        );
  printResult(
    context.io,
    options.json === true,
    items.length === 0 ? 'no releases' : items.map((r) => releaseLine(r, names)).join('\n'),
    { items },
  );
}

export async function releaseStatus(
  context: CommandContext,
  id: string,
  options: ServerOptions & { watch?: boolean },
): Promise<void> {
  const client = clientFor(context, options);
  if (options.watch === true) {
    await watchRelease(context, client, id, {
      json: options.json === true,
      deps: { fetchStatus: (releaseId) => fetchStatus(client, releaseId) },
    });
    return;
  }
  const { release, why } = await fetchStatus(client, id);
  const progress = releaseProgress(release, context.io.now());
  const json = options.json === true;
  const names = json
    ? new Map<string, string>()
    : await loadPackNames(client, releaseDigests(release));
  printResult(context.io, json, formatReleaseStatus(release, progress, { why, names }), {
    release,
    progress,
    why,
  });
}

export async function releaseTimeline(
  context: CommandContext,
  id: string,
  options: ServerOptions,
): Promise<void> {
  const client = clientFor(context, options);
  const response = await client.request('GET', `${releasePath(id)}/timeline`);
  const items = itemsOf<DecisionRecordView>(response.body);
  printResult(
    context.io,
    options.json === true,
    items.length === 0 ? 'no decisions yet' : items.map(formatDecisionRecord).join('\n'),
    { items },
  );
}

/**
 * Replays every decision of a release on the server's current core and prints the figures and
 * each mismatch; REPLAY_MISMATCH (exit 1) when any decision does not replay to its digest or the
 * replay could not run.
 */
export async function replayReleaseDecisions(
  context: CommandContext,
  id: string,
  options: ReplayOptions,
): Promise<void> {
  const client = clientFor(context, options);
  const response = await client.request('POST', `${releasePath(id)}/replays`, {
    json: { reason: options.reason },
  });
  const replay = objectField<ReplayView>(response.body, 'replay');
  printResult(context.io, options.json === true, formatReplay(replay), { replay });
  if (replay.status !== 'completed' || replay.mismatches > 0) {
    throw new CliError(
      'REPLAY_MISMATCH',
      `Release ${replay.release} does not replay on core ${replay.coreVersion}: ${replayFigures(replay)}${
        replay.error === null ? '' : ` (${replay.error})`
      }.`,
      {
        details: {
          release: replay.release,
          replay: replay.id,
          mismatches: replay.mismatched.map((m) => ({ seq: m.seq, field: m.field })),
        },
      },
    );
  }
}

export async function commandRelease(
  context: CommandContext,
  kind: CommandKind,
  id: string,
  options: CommandOptions,
): Promise<void> {
  const client = clientFor(context, options);
  const response = await client.request('POST', `${releasePath(id)}/${kind}`, {
    json: { reason: options.reason, ...(options.full === true ? { full: true } : {}) },
    ...idempotencyHeader(options.idempotencyKey),
  });
  const release = objectField<ReleaseView>(response.body, 'release');
  printResult(
    context.io,
    options.json === true,
    `${kind}: release ${release.id} is ${release.state}, ${stageSummary(release)}`,
    { release },
  );
}

const COMMAND_HELP: Readonly<Record<Exclude<CommandKind, 'promote'>, string>> = {
  pause: 'pause a rolling release (health gates still roll it back)',
  resume: 'resume a paused release; the stage soak starts again',
  abort: 'abort a release; what was rolled out returns to the base',
  approve: 'approve the stage that waits for approval (not by the requester)',
  reject: 'reject the stage that waits for approval, which aborts the release',
  retry: 'retry a release whose verification failed',
  rollback: 'roll the channel back to its pin or last-known-good pack',
};

export function registerReleaseCommands(program: Command, context: CommandContext): void {
  const release = program
    .command('release')
    .description('roll a pack into a channel in stages, and steer the rollout');

  addServerOptions(
    release
      .command('create')
      .description('request a release of an eligible pack into a channel')
      .argument('<PACK>', 'pack digest (sha256:...) or NAME@VERSION', parsePackRef)
      .requiredOption('--to <ENV/CHANNEL>', 'the channel, e.g. prod-eu/stable', parseChannelRef)
      .option('--plan <PLAN>', "rollout plan (default: the channel's)", parsePlanName)
      .requiredOption('--reason <TEXT>', 'why this release', parseReason)
      .option('--not-before <TIME>', 'do not start before this time (RFC 3339)', parseTimeValue)
      .option('--idempotency-key <KEY>', IDEMPOTENCY_HELP, parseIdempotencyKey)
      .option(
        '--wait',
        'follow the release until it ends, pauses or waits for approvals; exit 0 only when it completed',
      ),
  ).action((pack: string, options: CreateOptions) => createRelease(context, pack, options));

  addServerOptions(
    release
      .command('list')
      .description('list releases, newest first')
      .option('--env <ENV>', 'only releases into this environment', parseEnvName)
      .option('--channel <CHANNEL>', 'only releases into this channel', parseChannelName)
      .option(
        '--state <STATE>',
        `only releases in this state (${RELEASE_STATES.join(', ')})`,
        parseReleaseState,
      )
      .option('--limit <N>', 'at most N releases (1-1000)', parseLimit),
  ).action((options: ListOptions) => listReleases(context, options));

  addServerOptions(
    release
      .command('status')
      .description(
        'show a release: state, stage, soak remaining, approvals, outcome, and why it is not moving',
      )
      .argument('<ID>', 'release id', parseReleaseId)
      .option(
        '--watch',
        'draw the status again on every change from the server event stream until the release ends (Ctrl-C stops)',
      ),
  ).action((id: string, options: ServerOptions & { watch?: boolean }) =>
    releaseStatus(context, id, options),
  );

  addServerOptions(
    release
      .command('timeline')
      .description('show the decision records of a release, one line each (--json: the records)')
      .argument('<ID>', 'release id', parseReleaseId),
  ).action((id: string, options: ServerOptions) => releaseTimeline(context, id, options));

  addServerOptions(
    release
      .command('replay')
      .description(
        'replay every decision of a release on the current core and compare digests; exit 1 on any mismatch',
      )
      .argument('<ID>', 'release id', parseReleaseId)
      .requiredOption('--reason <TEXT>', 'why replay (kept with the replay request)', parseReason),
  ).action((id: string, options: ReplayOptions) => replayReleaseDecisions(context, id, options));

  for (const [kind, help] of Object.entries(COMMAND_HELP) as [CommandKind, string][]) {
    addServerOptions(
      release
        .command(kind)
        .description(help)
        .argument('<ID>', 'release id', parseReleaseId)
        .requiredOption('--reason <TEXT>', `why ${kind}`, parseReason)
        .option('--idempotency-key <KEY>', IDEMPOTENCY_HELP, parseIdempotencyKey),
    ).action((id: string, options: CommandOptions) => commandRelease(context, kind, id, options));
  }

  addServerOptions(
    release
      .command('promote')
      .description('move a release to its next stage now, or with --full to its last (100%) stage')
      .argument('<ID>', 'release id', parseReleaseId)
      .option('--full', 'go straight to the last stage')
      .requiredOption('--reason <TEXT>', 'why promote', parseReason)
      .option('--idempotency-key <KEY>', IDEMPOTENCY_HELP, parseIdempotencyKey),
  ).action((id: string, options: CommandOptions) =>
    commandRelease(context, 'promote', id, options),
  );
}
