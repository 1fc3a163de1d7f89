import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';
import { addJsonOption, resolvePath } from '../command-context.ts';
import type { CommandContext, JsonOption } from '../command-context.ts';
import { DemoFailedError } from '../demo/demo-errors.ts';
import { humanReport, runDemo } from '../demo/run-demo.ts';
import type { DemoSummary } from '../demo/run-demo.ts';
import { parsePort } from '../option-values.ts';
import { printResult } from '../output.ts';

export const DEFAULT_DEMO_AGENTS = 20;

export interface DemoCommandOptions extends JsonOption {
  data?: string;
  port?: number;
  agents?: number;
  exit?: boolean;
}

function parseAgents(value: string): number {
  const count = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(count) || count < 2 || count > 200) {
    throw new InvalidArgumentError('must be an integer from 2 to 200');
  }
  return count;
}

/**
 * `lockgate demo`: the whole flow on one machine. A server on the embedded database, a fleet
 * of agents each with the example runtime, traffic, a good release that completes its stages
 * and a bad one that the controller rolls back on a failed health gate. Exit 0 only when
 * everything happened as expected.
 */
export async function runDemoCommand(
  context: CommandContext,
  options: DemoCommandOptions,
): Promise<void> {
  const json = options.json === true;
  let summary: DemoSummary | null = null;
  await runDemo(context.io, {
    ...(options.data === undefined ? {} : { dataDir: resolvePath(context, options.data) }),
    port: options.port ?? 0,
    agents: options.agents ?? DEFAULT_DEMO_AGENTS,
    exit: options.exit === true,
    json,
    env: context.config.env,
    onSummary: (result) => {
      summary = result;
      if (!json) {
        context.io.stdout(humanReport(result));
      } else if (result.ok) {
        printResult(context.io, true, '', result);
      }
    },
  });
  const result = summary as DemoSummary | null;
  if (result !== null && !result.ok) {
    // With --json the summary rides in the error's details: one JSON document on stdout.
    throw new DemoFailedError(`The demo did not go as expected: ${result.failures.join('; ')}`, {
      summary: result,
    });
  }
}

export function registerDemoCommand(program: Command, context: CommandContext): void {
  addJsonOption(
    program
      .command('demo')
      .description(
        'run a server, a fleet of agents with example runtimes, a good and a bad release, and show their timelines',
      )
      .option(
        '--data <DIR>',
        'server data directory (default: a temporary one, removed at the end)',
      )
      .option('--port <PORT>', 'server port (default: 0, a free one)', parsePort)
      .option(
        '--agents <N>',
        `number of agents, each with its own runtime (default: ${DEFAULT_DEMO_AGENTS})`,
        parseAgents,
      )
      .option('--exit', 'end after the scenario instead of running until Ctrl-C'),
  ).action((options: DemoCommandOptions) => runDemoCommand(context, options));
}
