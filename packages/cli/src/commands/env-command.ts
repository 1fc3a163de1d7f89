import type { Command } from 'commander';
import { formatDuration } from '@lockgate/core';
import type { Weekday } from '@lockgate/core';
import { itemsOf, objectField } from '../api-client.ts';
import type { ChannelView, EnvironmentView, FreezeWindowView } from '@lockgate/api';
import { UsageError } from '../cli-error.ts';
import { addServerOptions, clientFor } from '../command-context.ts';
import type { CommandContext, ServerOptions } from '../command-context.ts';
import {
  parseClockTime,
  parseEnvName,
  parsePositiveDuration,
  parseReason,
  parseTimeValue,
  parseWeekdays,
} from '../option-values.ts';
import { printResult } from '../output.ts';
import { loadPackNames, packLabel } from '../pack-names.ts';
import type { PackNames } from '../pack-names.ts';

interface CreateOptions extends ServerOptions {
  description?: string;
}

interface FreezeOptions extends ServerOptions {
  reason: string;
  from?: string;
  until?: string;
  weekly?: Weekday[];
  start?: string;
  /** seconds */
  duration?: number;
}

interface ReasonOptions extends ServerOptions {
  reason: string;
}

/** The longest weekly freeze the server accepts: one week. */
const MAX_WEEKLY_SECONDS = 7 * 24 * 3600;

export function environmentPath(env: string): string {
  return `/api/v1/environments/${encodeURIComponent(env)}`;
}

function environmentLine(environment: EnvironmentView): string {
  const description =
    environment.description === undefined ||
    environment.description === null ||
    environment.description === ''
      ? ''
      : `  ${environment.description}`;
  return `${environment.name}${description}  created ${environment.createdAt}`;
}

export function freezeWindowLine(window: FreezeWindowView): string {
  const when =
    window.kind === 'once'
      ? `once ${window.start} → ${window.end}`
      : `weekly ${(window.days ?? []).join(',')} ${window.start} UTC for ${formatDuration((window.durationMinutes ?? 0) * 60)}`;
  return `${window.id}  ${when}  ${window.reason}`;
}

export function channelLine(
  channel: ChannelView,
  names: PackNames = new Map<string, string>(),
): string {
  const release = channel.activeRelease === null ? '' : `  release ${channel.activeRelease}`;
  return `${channel.env}/${channel.name}  plan ${channel.plan}  base ${packLabel(names, channel.base)}  index v${channel.indexVersion}${release}`;
}

/** The freeze window body from the flags: once (--from/--until) or weekly (--weekly/--start/--duration). */
export function freezeWindowBody(options: FreezeOptions): Record<string, unknown> {
  const once = options.from !== undefined || options.until !== undefined;
  const weekly =
    options.weekly !== undefined || options.start !== undefined || options.duration !== undefined;
  if (once === weekly) {
    throw new UsageError(
      'Give either --from TIME --until TIME (one window) or --weekly DAYS --start HH:MM --duration D (every week)',
    );
  }
  if (once) {
    if (options.from === undefined || options.until === undefined) {
      throw new UsageError('A one-time freeze needs both --from and --until');
    }
    if (Date.parse(options.until) <= Date.parse(options.from)) {
      throw new UsageError('--until must be after --from');
    }
    return { reason: options.reason, kind: 'once', start: options.from, end: options.until };
  }
  if (
    options.weekly === undefined ||
    options.start === undefined ||
    options.duration === undefined
  ) {
    throw new UsageError('A weekly freeze needs --weekly, --start and --duration');
  }
  if (options.duration % 60 !== 0 || options.duration > MAX_WEEKLY_SECONDS) {
    throw new UsageError('--duration of a weekly freeze must be whole minutes, at most 7d');
  }
  return {
    reason: options.reason,
    kind: 'weekly',
    days: options.weekly,
    start: options.start,
    durationMinutes: options.duration / 60,
  };
}

export async function createEnvironment(
  context: CommandContext,
  env: string,
  options: CreateOptions,
): Promise<void> {
  const client = clientFor(context, options);
  const response = await client.request('PUT', environmentPath(env), {
    json: options.description === undefined ? {} : { description: options.description },
  });
  const environment = objectField<EnvironmentView>(response.body, 'environment');
  const created = response.status === 201;
  printResult(
    context.io,
    options.json === true,
    `${created ? 'created' : 'updated'} environment ${environmentLine(environment)}`,
    { environment, created },
  );
}

export async function listEnvironments(
  context: CommandContext,
  options: ServerOptions,
): Promise<void> {
  const client = clientFor(context, options);
  const response = await client.request('GET', '/api/v1/environments');
  const items = itemsOf<EnvironmentView>(response.body);
  printResult(
    context.io,
    options.json === true,
    items.length === 0 ? 'no environments' : items.map(environmentLine).join('\n'),
    { items },
  );
}

export async function showEnvironment(
  context: CommandContext,
  env: string,
  options: ServerOptions,
): Promise<void> {
  const client = clientFor(context, options);
  const response = await client.request('GET', environmentPath(env));
  const environment = objectField<EnvironmentView>(response.body, 'environment');
  const body = response.body as { channels?: ChannelView[]; freezeWindows?: FreezeWindowView[] };
  const channels = body.channels ?? [];
  const freezeWindows = body.freezeWindows ?? [];
  const names =
    options.json === true
      ? new Map<string, string>()
      : await loadPackNames(
          client,
          channels.map((c) => c.base),
        );
  const lines = [
    `environment ${environmentLine(environment)}`,
    channels.length === 0 ? 'channels: none' : 'channels:',
    ...channels.map((channel) => `  ${channelLine(channel, names)}`),
    freezeWindows.length === 0 ? 'freeze windows: none' : 'freeze windows:',
    ...freezeWindows.map((window) => `  ${freezeWindowLine(window)}`),
  ];
  printResult(context.io, options.json === true, lines.join('\n'), {
    environment,
    channels,
    freezeWindows,
  });
}

export async function freezeEnvironment(
  context: CommandContext,
  env: string,
  options: FreezeOptions,
): Promise<void> {
  const body = freezeWindowBody(options);
  const client = clientFor(context, options);
  const response = await client.request('POST', `${environmentPath(env)}/freeze-windows`, {
    json: body,
  });
  const freezeWindow = objectField<FreezeWindowView>(response.body, 'freezeWindow');
  printResult(
    context.io,
    options.json === true,
    `froze ${env}: ${freezeWindowLine(freezeWindow)}`,
    {
      freezeWindow,
    },
  );
}

export async function unfreezeEnvironment(
  context: CommandContext,
  env: string,
  id: string,
  options: ReasonOptions,
): Promise<void> {
  const client = clientFor(context, options);
  const response = await client.request(
    'DELETE',
    `${environmentPath(env)}/freeze-windows/${encodeURIComponent(id)}`,
    { json: { reason: options.reason } },
  );
  const freezeWindow = objectField<FreezeWindowView>(response.body, 'freezeWindow');
  printResult(
    context.io,
    options.json === true,
    `removed freeze window ${freezeWindowLine(freezeWindow)}`,
    { freezeWindow },
  );
}

export function registerEnvCommands(program: Command, context: CommandContext): void {
  const env = program.command('env').description('manage environments and their freeze windows');

  addServerOptions(
    env
      .command('create')
      .description('create an environment, or update its description')
      .argument('<ENV>', 'environment name, e.g. prod-eu', parseEnvName)
      .option('--description <TEXT>', 'what the environment is'),
  ).action((name: string, options: CreateOptions) => createEnvironment(context, name, options));

  addServerOptions(env.command('list').description('list environments')).action(
    (options: ServerOptions) => listEnvironments(context, options),
  );

  addServerOptions(
    env
      .command('show')
      .description('show an environment, its channels and freeze windows')
      .argument('<ENV>', 'environment name', parseEnvName),
  ).action((name: string, options: ServerOptions) => showEnvironment(context, name, options));

  addServerOptions(
    env
      .command('freeze')
      .description(
        'add a freeze window: no release starts or advances while it is in effect (times in UTC)',
      )
      .argument('<ENV>', 'environment name', parseEnvName)
      .requiredOption('--reason <TEXT>', 'why the environment is frozen', parseReason)
      .option('--from <TIME>', 'start of a one-time window (RFC 3339)', parseTimeValue)
      .option('--until <TIME>', 'end of a one-time window (RFC 3339)', parseTimeValue)
      .option(
        '--weekly <DAYS>',
        'weekdays of a weekly window, e.g. mon-fri or sat,sun',
        parseWeekdays,
      )
      .option('--start <HH:MM>', 'UTC start time of a weekly window', parseClockTime)
      .option('--duration <DURATION>', 'length of a weekly window, e.g. 2h', parsePositiveDuration),
  ).action((name: string, options: FreezeOptions) => freezeEnvironment(context, name, options));

  addServerOptions(
    env
      .command('unfreeze')
      .description('remove a freeze window')
      .argument('<ENV>', 'environment name', parseEnvName)
      .argument('<ID>', 'freeze window id (see env show)')
      .requiredOption('--reason <TEXT>', 'why the freeze ends', parseReason),
  ).action((name: string, id: string, options: ReasonOptions) =>
    unfreezeEnvironment(context, name, id, options),
  );
}
