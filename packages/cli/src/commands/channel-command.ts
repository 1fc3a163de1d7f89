import type { Command } from 'commander';
import { formatDuration } from '@lockgate/core';
import { itemsOf, objectField } from '../api-client.ts';
import type { ChannelView, EnvironmentView } from '@lockgate/api';
import { addServerOptions, clientFor } from '../command-context.ts';
import type { CommandContext, ServerOptions } from '../command-context.ts';
import {
  collectCohort,
  collectCohortPercent,
  collectPair,
  parseChannelRef,
  parseEnvName,
  parseFloor,
  parsePlanName,
  parseIndexTtl,
  parseReason,
} from '../option-values.ts';
import type { ChannelRef, CohortSpec } from '../option-values.ts';
import { printResult } from '../output.ts';
import { loadPackNames, packLabel, packNameSuffix } from '../pack-names.ts';
import type { PackNames } from '../pack-names.ts';
import { pinScope, selectorText } from '../release-format.ts';
import { channelLine, environmentPath } from './env-command.ts';

interface PutOptions extends ServerOptions {
  plan?: string;
  floor?: number | null;
  constraint?: Record<string, string>;
  cohort?: CohortSpec[];
  cohortPercent?: CohortSpec[];
  /** seconds */
  indexTtl?: number;
  reason?: string;
  acceptBaseBelowFloor?: boolean;
}

export function channelPath(ref: ChannelRef): string {
  return `${environmentPath(ref.env)}/channels/${encodeURIComponent(ref.channel)}`;
}

/** --cohort NAME=SELECTOR and --cohort-percent NAME=PCT of the same NAME make one cohort. */
export function mergedCohorts(
  selectors: readonly CohortSpec[] | undefined,
  percents: readonly CohortSpec[] | undefined,
): CohortSpec[] | undefined {
  if (selectors === undefined && percents === undefined) {
    return undefined;
  }
  const cohorts = (selectors ?? []).map((cohort) => ({ ...cohort }));
  for (const { name, percent } of percents ?? []) {
    const existing = cohorts.find((cohort) => cohort.name === name);
    if (existing === undefined) {
      cohorts.push(percent === undefined ? { name } : { name, percent });
    } else if (percent !== undefined) {
      existing.percent = percent;
    }
  }
  return cohorts;
}

/** The PUT body: only the fields given on the command line. */
export function channelBody(options: PutOptions): Record<string, unknown> {
  const cohorts = mergedCohorts(options.cohort, options.cohortPercent);
  return {
    ...(options.plan === undefined ? {} : { plan: options.plan }),
    ...(options.floor === undefined ? {} : { floor: options.floor }),
    ...(options.constraint === undefined ? {} : { constraints: options.constraint }),
    ...(cohorts === undefined ? {} : { cohorts }),
    ...(options.indexTtl === undefined ? {} : { indexTtlSeconds: options.indexTtl }),
    ...(options.reason === undefined ? {} : { reason: options.reason }),
    ...(options.acceptBaseBelowFloor === true ? { acceptBaseBelowFloor: true } : {}),
  };
}

function cohortText(cohort: CohortSpec): string {
  const parts = [
    ...(cohort.selector === undefined ? [] : [selectorText(cohort.selector)]),
    ...(cohort.percent === undefined ? [] : [`${cohort.percent}%`]),
  ];
  return `${cohort.name} (${parts.length === 0 ? 'every target' : parts.join(', ')})`;
}

/** Every digest a channel view names: base, LKG, pins, revoked packs, authorizations. */
export function channelDigests(channel: ChannelView): string[] {
  return [
    ...(channel.base === null ? [] : [channel.base]),
    ...(channel.lkg === null ? [] : [channel.lkg]),
    ...channel.pins.map((pin) => pin.pack),
    ...channel.revoked,
    ...(channel.rollbackAuthorizations ?? []).map((a) => a.pack),
  ];
}

export function channelDetails(
  channel: ChannelView,
  names: PackNames = new Map<string, string>(),
): string {
  const constraints = Object.entries(channel.constraints ?? {})
    .map(([key, value]) => `${key}=${value}`)
    .join(', ');
  const lines = [
    `channel ${channel.env}/${channel.name}`,
    `plan           ${channel.plan}`,
    `floor          ${channel.floor ?? 'none'}`,
    `constraints    ${constraints === '' ? 'none' : constraints}`,
    `cohorts        ${channel.cohorts.length === 0 ? 'none' : channel.cohorts.map(cohortText).join('; ')}`,
    ...(channel.indexTtlSeconds === undefined
      ? []
      : [`index ttl      ${formatDuration(channel.indexTtlSeconds)}`]),
    `base           ${packLabel(names, channel.base)}`,
    `lkg            ${packLabel(names, channel.lkg)}`,
    `active release ${channel.activeRelease ?? 'none'}`,
    `index version  ${channel.indexVersion}`,
    channel.pins.length === 0 ? 'pins           none' : 'pins:',
    ...channel.pins.map(
      (pin) =>
        `  ${pinScope(pin)} → ${pin.pack} until ${pin.expiresAt}${packNameSuffix(names, pin.pack)}${pin.actor === undefined ? '' : ` by ${pin.actor}`}: ${pin.reason}`,
    ),
    ...(channel.revoked.length === 0
      ? []
      : ['revoked:', ...channel.revoked.map((d) => `  ${packLabel(names, d)}`)]),
    ...((channel.rollbackAuthorizations ?? []).length === 0
      ? []
      : [
          'rollback authorizations:',
          ...channel.rollbackAuthorizations.map(
            (a) =>
              `  ${a.id === undefined ? '' : `${a.id}  `}${packLabel(names, a.pack)} until ${a.expiresAt}: ${a.reason}`,
          ),
        ]),
    `updated        ${channel.updatedAt}`,
  ];
  return lines.join('\n');
}

export async function putChannel(
  context: CommandContext,
  ref: ChannelRef,
  options: PutOptions,
): Promise<void> {
  const client = clientFor(context, options);
  const response = await client.request('PUT', channelPath(ref), { json: channelBody(options) });
  const channel = objectField<ChannelView>(response.body, 'channel');
  const created = response.status === 201;
  printResult(
    context.io,
    options.json === true,
    `${created ? 'created' : 'updated'} ${channelDetails(channel)}`,
    { channel, created },
  );
}

export async function showChannel(
  context: CommandContext,
  ref: ChannelRef,
  options: ServerOptions,
): Promise<void> {
  const client = clientFor(context, options);
  const response = await client.request('GET', channelPath(ref));
  const channel = objectField<ChannelView>(response.body, 'channel');
  const names =
    options.json === true
      ? new Map<string, string>()
      : await loadPackNames(client, channelDigests(channel));
  printResult(context.io, options.json === true, channelDetails(channel, names), { channel });
}

/** Channels of one environment, or of every environment (the API lists them per environment). */
export async function listChannels(
  context: CommandContext,
  env: string | undefined,
  options: ServerOptions,
): Promise<void> {
  const client = clientFor(context, options);
  let names: string[];
  if (env === undefined) {
    const response = await client.request('GET', '/api/v1/environments');
    names = itemsOf<EnvironmentView>(response.body).map((environment) => environment.name);
  } else {
    names = [env];
  }
  const items: ChannelView[] = [];
  for (const name of names) {
    const response = await client.request('GET', environmentPath(name));
    const body = response.body as { channels?: ChannelView[] };
    items.push(...(body.channels ?? []));
  }
  const packNames =
    options.json === true
      ? new Map<string, string>()
      : await loadPackNames(
          client,
          items.map((channel) => channel.base),
        );
  printResult(
    context.io,
    options.json === true,
    items.length === 0 ? 'no channels' : items.map((c) => channelLine(c, packNames)).join('\n'),
    { items },
  );
}

export function registerChannelCommands(program: Command, context: CommandContext): void {
  const channel = program
    .command('channel')
    .description('manage the release channels of an environment');

  addServerOptions(
    channel
      .command('create')
      .description('create a channel or update it (PUT: only the options given are sent)')
      .argument('<ENV/CHANNEL>', 'e.g. prod-eu/stable', parseChannelRef)
      .option('--plan <PLAN>', "default rollout plan (server default: 'canary')", parsePlanName)
      .option(
        '--floor <N>',
        "downgrade floor: the lowest pack sequence allowed, or 'none'",
        parseFloor,
      )
      .option(
        '--constraint <KEY=VALUE>',
        'a requirement packs must meet, e.g. runtime=>=2.3 <3; repeat',
        collectPair,
      )
      .option(
        '--cohort <NAME=SELECTOR>',
        "a cohort by label selector, e.g. 'eu=region=eu,tier in (a,b)'; repeat",
        collectCohort,
      )
      .option(
        '--cohort-percent <NAME=PCT>',
        'a cohort by percentage (0-100), alone or with --cohort of the same NAME; repeat',
        collectCohortPercent,
      )
      .option(
        '--index-ttl <DURATION>',
        'how long a signed channel index stays valid, 1m to 30d (server default: 24h)',
        parseIndexTtl,
      )
      .option('--reason <TEXT>', 'why the channel is created or changed (recorded)', parseReason)
      .option(
        '--accept-base-below-floor',
        "confirm a --floor above the base's sequence (its targets are left without a pack); recorded",
      ),
  ).action((ref: ChannelRef, options: PutOptions) => putChannel(context, ref, options));

  addServerOptions(
    channel
      .command('show')
      .description('show a channel: base, LKG, pins, active release, index version')
      .argument('<ENV/CHANNEL>', 'e.g. prod-eu/stable', parseChannelRef),
  ).action((ref: ChannelRef, options: ServerOptions) => showChannel(context, ref, options));

  addServerOptions(
    channel
      .command('list')
      .description('list the channels of one environment, or of all')
      .argument('[ENV]', 'environment name', parseEnvName),
  ).action((env: string | undefined, options: ServerOptions) =>
    listChannels(context, env, options),
  );
}
