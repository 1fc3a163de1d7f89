import type { Command } from 'commander';
import type { AgentEventMap, AgentOptions, HealthCheckSpec } from '@lockgate/agent';
import { UsageError } from '../cli-error.ts';
import { addJsonOption, readInputFile, resolvePath } from '../command-context.ts';
import type { CommandContext, JsonOption } from '../command-context.ts';
import { DEFAULT_SERVER_URL } from '../config.ts';
import { collectPair, collectString, parseServerUrl } from '../option-values.ts';
import { printResult } from '../output.ts';

interface AgentCommandOptions extends JsonOption {
  server?: string;
  token?: string;
  id: string;
  env: string;
  channel: string;
  label?: Record<string, string>;
  dir: string;
  trustServer?: string[];
  trustBuild?: string[];
  healthUrl?: string;
  healthCmd?: string;
  runtimeMetrics?: string;
  runtimeVersion?: string;
  capability?: Record<string, string>;
  metricsListen?: string;
}

const EVENTS: (keyof AgentEventMap)[] = [
  'verified',
  'activated',
  'committed',
  'reverted',
  'rejected',
  'repaired',
  'warning',
];

/** One line per agent event: `event key=value …`, or a JSON object per line with --json. */
function eventLine(name: keyof AgentEventMap, event: object, json: boolean): string {
  if (json) return `${JSON.stringify({ event: name, ...event })}\n`;
  const fields = Object.entries(event)
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' ');
  return `${name} ${fields}\n`;
}

async function readKeys(
  context: CommandContext,
  files: readonly string[] | undefined,
  flag: string,
): Promise<string[]> {
  if (files === undefined || files.length === 0) {
    throw new UsageError(`At least one ${flag} KEY_FILE is required`);
  }
  return Promise.all(
    files.map(async (file) => (await readInputFile(context, file, 'public key')).toString('utf8')),
  );
}

function healthCheckOf(options: AgentCommandOptions): HealthCheckSpec | undefined {
  if (options.healthUrl !== undefined && options.healthCmd !== undefined) {
    throw new UsageError('Pass either --health-url or --health-cmd, not both');
  }
  if (options.healthUrl !== undefined) return { url: options.healthUrl };
  if (options.healthCmd !== undefined) return { cmd: options.healthCmd };
  return undefined;
}

/** Runs the runtime agent until SIGINT or SIGTERM, then stops it cleanly. */
export async function runAgent(
  context: CommandContext,
  options: AgentCommandOptions,
): Promise<void> {
  const server = options.server ?? context.config.server ?? DEFAULT_SERVER_URL;
  const token = options.token ?? context.config.token;
  if (token === undefined || token === '') {
    throw new UsageError('A token is required: pass --token or set LOCKGATE_TOKEN');
  }
  const agentOptions: AgentOptions = {
    server,
    token,
    targetId: options.id,
    env: options.env,
    channel: options.channel,
    labels: options.label ?? {},
    capabilities: options.capability ?? {},
    dir: resolvePath(context, options.dir),
    trustedServerKeys: await readKeys(context, options.trustServer, '--trust-server'),
    trustedBuildKeys: await readKeys(context, options.trustBuild, '--trust-build'),
    clock: { now: () => context.io.now() },
    fetch: context.io.fetch,
  };
  const healthCheck = healthCheckOf(options);
  if (healthCheck !== undefined) agentOptions.healthCheck = healthCheck;
  if (options.runtimeMetrics !== undefined) {
    agentOptions.runtimeMetrics = { url: options.runtimeMetrics };
  }
  if (options.runtimeVersion !== undefined) agentOptions.runtimeVersion = options.runtimeVersion;
  if (options.metricsListen !== undefined) agentOptions.metricsListen = options.metricsListen;
  // Loaded here, not at the top: the other commands do not need the agent.
  const { createAgent } = await import('@lockgate/agent');
  const agent = createAgent(agentOptions);
  const json = options.json === true;
  for (const name of EVENTS) {
    agent.on(name, (event: object) => {
      const line = eventLine(name, event, json);
      if (json) context.io.stdout(line);
      else context.io.stderr(line);
    });
  }
  await agent.start();
  try {
    const listen = agent.metricsAddress;
    const metrics =
      listen === null
        ? null
        : `http://${listen.host.includes(':') ? `[${listen.host}]` : listen.host}:${listen.port}/metrics`;
    printResult(
      context.io,
      json,
      `lockgate agent ${options.id} running in ${agent.options.dir} against ${server}${
        metrics === null ? '' : `, metrics on ${metrics}`
      } (stop with Ctrl-C)`,
      { event: 'started', id: options.id, dir: agent.options.dir, server, metrics },
    );
    const signal = await context.io.untilShutdown();
    context.io.stderr(`${signal}: stopping the agent\n`);
  } finally {
    await agent.stop();
  }
}

export function registerAgentCommand(program: Command, context: CommandContext): void {
  addJsonOption(
    program
      .command('agent')
      .description('run the runtime agent for one target until SIGINT or SIGTERM')
      .option(
        '--server <URL>',
        `Lockgate server URL (default: LOCKGATE_SERVER or ${DEFAULT_SERVER_URL})`,
        parseServerUrl,
      )
      .option('--token <TOKEN>', 'bearer token for the server API (default: LOCKGATE_TOKEN)')
      .requiredOption('--id <ID>', 'the target id')
      .requiredOption('--env <ENV>', 'environment')
      .requiredOption('--channel <CHANNEL>', 'channel')
      .option('--label <KEY=VALUE>', 'a target label (repeatable)', collectPair)
      .requiredOption('--dir <DIR>', 'agent directory: state, cache, packs and the current link')
      .option(
        '--trust-server <KEY_FILE>',
        'PEM public key of a channel index signer (repeatable; at least one)',
        collectString,
      )
      .option(
        '--trust-build <KEY_FILE>',
        'PEM public key of a pack signer (repeatable; at least one)',
        collectString,
      )
      .option('--health-url <URL>', 'healthy when GET answers 200', parseServerUrl)
      .option('--health-cmd <CMD>', 'healthy when the shell command exits 0')
      .option(
        '--runtime-metrics <URL>',
        "the runtime's Prometheus metrics, for traffic in reports",
        parseServerUrl,
      )
      .option('--runtime-version <VERSION>', "this runtime's version, for packs' requires.runtime")
      .option(
        '--capability <KEY=VALUE>',
        "a capability value for packs' requires (repeatable)",
        collectPair,
      )
      .option(
        '--metrics-listen <HOST:PORT>',
        "serve the agent's own Prometheus metrics at /metrics on this address, e.g. 127.0.0.1:9464 (default: off)",
      ),
  ).action((options: AgentCommandOptions) => runAgent(context, options));
}
