import type { Command } from 'commander';
import { itemsOf } from '../api-client.ts';
import type { TargetView } from '@lockgate/api';
import { addServerOptions, clientFor } from '../command-context.ts';
import type { CommandContext, ServerOptions } from '../command-context.ts';
import { parseChannelName, parseEnvName, parseLimit } from '../option-values.ts';
import { printResult } from '../output.ts';
import { loadPackNames, packLabel } from '../pack-names.ts';
import type { PackNames } from '../pack-names.ts';

interface ListOptions extends ServerOptions {
  env?: string;
  channel?: string;
  limit?: number;
}

/**
 * One target per line: id, env/channel, labels, active pack (with name@version when known), last
 * report and, once the agent reported one, its last attempt (`kind result [code] pack at time`).
 */
export function targetLine(
  target: TargetView,
  names: PackNames = new Map<string, string>(),
): string {
  const labels = Object.entries(target.labels)
    .map(([key, value]) => `${key}=${value}`)
    .join(',');
  const line = `${target.id}  ${target.env}/${target.channel}  ${labels === '' ? '(no labels)' : labels}  active ${packLabel(
    names,
    target.activePack,
  )}  last report ${target.lastReportAt ?? 'never'}`;
  const attempt = target.lastAttempt ?? null;
  if (attempt === null) return line;
  const code = attempt.code === undefined ? '' : ` ${attempt.code}`;
  return `${line}  last attempt ${attempt.kind} ${attempt.result}${code} ${packLabel(names, attempt.pack)} at ${attempt.at}`;
}

export async function listTargets(context: CommandContext, options: ListOptions): Promise<void> {
  const client = clientFor(context, options);
  const response = await client.request('GET', '/api/v1/targets', {
    query: { env: options.env, channel: options.channel, limit: options.limit },
  });
  const items = itemsOf<TargetView>(response.body);
  const names =
    options.json === true || items.length === 0
      ? new Map<string, string>()
      : await loadPackNames(
          client,
          items.map((t) => t.activePack),
        );
  printResult(
    context.io,
    options.json === true,
    items.length === 0 ? 'no targets' : items.map((t) => targetLine(t, names)).join('\n'),
    { items },
  );
}

export function registerTargetCommands(program: Command, context: CommandContext): void {
  const target = program.command('target').description('inspect the registered targets');

  addServerOptions(
    target
      .command('list')
      .description('list targets: id, labels, active pack, last report, last attempt')
      .option('--env <ENV>', 'only targets of this environment', parseEnvName)
      .option('--channel <CHANNEL>', 'only targets of this channel', parseChannelName)
      .option('--limit <N>', 'at most N targets (1-1000)', parseLimit),
  ).action((options: ListOptions) => listTargets(context, options));
}
