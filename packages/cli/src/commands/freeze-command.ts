import type { Command } from 'commander';
import { itemsOf } from '../api-client.ts';
import { UsageError } from '../cli-error.ts';
import { addServerOptions, clientFor } from '../command-context.ts';
import type { CommandContext, ServerOptions } from '../command-context.ts';
import { collectString, parseEnvName, parseReason, parseTimeValue } from '../option-values.ts';
import { printResult } from '../output.ts';

interface ActiveFreeze {
  env: string;
  id: string;
  reason: string;
  from: string;
  until: string;
  source: 'stop-the-line' | 'error-budget' | 'window';
  createdBy: string;
}

interface ScopeOptions extends ServerOptions {
  all?: boolean;
  env?: string[];
  reason: string;
}

interface NowOptions extends ScopeOptions {
  until?: string;
}

const UNTIL_LIFTED = '9999-12-31T23:59:59.000Z';

export function activeFreezeLine(freeze: ActiveFreeze): string {
  const until = freeze.until === UNTIL_LIFTED ? 'until lifted' : `until ${freeze.until}`;
  return `${freeze.env}  ${freeze.source}  since ${freeze.from} ${until}  ${freeze.reason}  (${freeze.id})`;
}

/** `--all` or one or more `--env`: never both, never neither (stopping everything is explicit). */
function envsOf(options: ScopeOptions): string[] | undefined {
  const envs = options.env ?? [];
  if (options.all === true && envs.length > 0)
    throw new UsageError('Give --all or --env, not both');
  if (options.all !== true && envs.length === 0) {
    throw new UsageError('Say which environments: --all, or --env ENV (repeatable)');
  }
  return options.all === true ? undefined : envs;
}

const collectEnv = (value: string, previous: string[] | undefined): string[] =>
  collectString(parseEnvName(value), previous);

export function registerFreezeCommands(program: Command, context: CommandContext): void {
  const freeze = program
    .command('freeze')
    .description(
      'stop the line: freeze environments now (no release starts or advances; pauses and rollbacks still happen)',
    );

  addServerOptions(
    freeze
      .command('now')
      .description('freeze every environment (--all) or some (--env) from now until lifted')
      .option('--all', 'every environment')
      .option('--env <ENV>', 'an environment, repeatable', collectEnv)
      .requiredOption(
        '--reason <TEXT>',
        'why (recorded, and sent with freeze.started)',
        parseReason,
      )
      .option('--until <TIME>', 'end the freeze by itself at TIME (RFC 3339)', parseTimeValue),
  ).action(async (options: NowOptions) => {
    const envs = envsOf(options);
    const client = clientFor(context, options);
    const response = await client.request('POST', '/api/v1/freezes', {
      json: {
        reason: options.reason,
        ...(envs === undefined ? {} : { envs }),
        ...(options.until === undefined ? {} : { until: options.until }),
      },
    });
    const items = itemsOf<ActiveFreeze>(response.body);
    printResult(
      context.io,
      options.json === true,
      items.length === 0
        ? 'every environment named is already stopped'
        : ['froze:', ...items.map((f) => `  ${activeFreezeLine(f)}`)].join('\n'),
      { items },
    );
  });

  addServerOptions(
    freeze
      .command('lift')
      .description(
        'lift stop-the-line and error-budget freezes (--all, or --env); scheduled windows stay',
      )
      .option('--all', 'every environment')
      .option('--env <ENV>', 'an environment, repeatable', collectEnv)
      .requiredOption('--reason <TEXT>', 'why the line may move again (recorded)', parseReason),
  ).action(async (options: ScopeOptions) => {
    const envs = envsOf(options);
    const client = clientFor(context, options);
    const response = await client.request('POST', '/api/v1/freezes/lift', {
      json: { reason: options.reason, ...(envs === undefined ? {} : { envs }) },
    });
    const items = itemsOf<ActiveFreeze>(response.body);
    printResult(
      context.io,
      options.json === true,
      items.length === 0
        ? 'nothing to lift'
        : ['lifted:', ...items.map((f) => `  ${activeFreezeLine(f)}`)].join('\n'),
      { items },
    );
  });

  addServerOptions(
    freeze.command('status').description('every freeze in effect now, in every environment'),
  ).action(async (options: ServerOptions) => {
    const client = clientFor(context, options);
    const items = itemsOf<ActiveFreeze>((await client.request('GET', '/api/v1/freezes')).body);
    printResult(
      context.io,
      options.json === true,
      items.length === 0 ? 'no freeze in effect' : items.map(activeFreezeLine).join('\n'),
      { items },
    );
  });
}
