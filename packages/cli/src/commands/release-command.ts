import type { Command } from 'commander';
import { RELEASE_STATES } from '@lockgate/core';
import type { CommandKind, ReleaseStatus } from '@lockgate/core';
import { itemsOf, objectField } from '../api-client.ts';
import type { DecisionRecordView, ReleaseView } from '../api-types.ts';
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
import {
  formatDecisionRecord,
  formatReleaseStatus,
  releaseProgress,
  stageSummary,
} from '../release-format.ts';

interface CreateOptions extends ServerOptions {
  to: ChannelRef;
  plan?: string;
  reason: string;
  notBefore?: string;
  idempotencyKey?: string;
}

interface ListOptions extends ServerOptions {
  env?: string;
  channel?: string;
  state?: ReleaseStatus;
  limit?: number;
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

function releaseLine(release: ReleaseView): string {
  return `${release.id}  ${release.env}/${release.channel}  ${release.state}  ${stageSummary(release)}  ${release.pack}  by ${release.requestedBy}  ${release.createdAt}`;
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
  printResult(
    context.io,
    options.json === true,
    `requested release ${release.id}: ${release.pack} into ${release.env}/${release.channel} with plan ${release.plan.name} (${release.state})`,
    { release },
  );
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
  printResult(
    context.io,
    options.json === true,
    items.length === 0 ? 'no releases' : items.map(releaseLine).join('\n'),
    { items },
  );
}

export async function releaseStatus(
  context: CommandContext,
  id: string,
  options: ServerOptions,
): Promise<void> {
  const client = clientFor(context, options);
  const response = await client.request('GET', releasePath(id));
  const release = objectField<ReleaseView>(response.body, 'release');
  const progress = releaseProgress(release, context.io.now());
  printResult(context.io, options.json === true, formatReleaseStatus(release, progress), {
    release,
    progress,
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
      .option('--idempotency-key <KEY>', IDEMPOTENCY_HELP, parseIdempotencyKey),
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
      .description('show a release: state, stage, soak remaining, approvals, outcome')
      .argument('<ID>', 'release id', parseReleaseId),
  ).action((id: string, options: ServerOptions) => releaseStatus(context, id, options));

  addServerOptions(
    release
      .command('timeline')
      .description('show the decision records of a release, one line each (--json: the records)')
      .argument('<ID>', 'release id', parseReleaseId),
  ).action((id: string, options: ServerOptions) => releaseTimeline(context, id, options));

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
