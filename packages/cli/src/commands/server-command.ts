import { join } from 'node:path';
import type { Command } from 'commander';
import { addJsonOption, resolvePath } from '../command-context.ts';
import type { CommandContext, JsonOption } from '../command-context.ts';
import { parsePort } from '../option-values.ts';
import { printResult } from '../output.ts';

interface ServerCommandOptions extends JsonOption {
  data?: string;
  host?: string;
  port?: number;
  db?: string;
  logLevel?: string;
  bodyLimit?: string;
  controllerInterval?: string;
  metricsAccess?: string;
  prometheusUrl?: string;
  errorBudgetFreeze?: string;
  errorBudgetObjective?: string;
  errorBudgetWindow?: string;
}

/** Runs the Lockgate server until SIGINT or SIGTERM, then closes it cleanly. */
export async function runServer(
  context: CommandContext,
  options: ServerCommandOptions,
): Promise<void> {
  // Loaded here, not at the top: the other commands need neither Fastify nor node:sqlite.
  const { ADMIN_TOKEN_FILE, loadServerConfig, startServer } = await import('@lockgate/server');
  const config = loadServerConfig(
    {
      data: options.data === undefined ? undefined : resolvePath(context, options.data),
      host: options.host,
      port: options.port,
      db: options.db,
      logLevel: options.logLevel,
      bodyLimit: options.bodyLimit,
      controllerInterval: options.controllerInterval,
      metricsAccess: options.metricsAccess,
      prometheusUrl: options.prometheusUrl,
      errorBudgetFreeze: options.errorBudgetFreeze,
      errorBudgetObjective: options.errorBudgetObjective,
      errorBudgetWindow: options.errorBudgetWindow,
    },
    context.config.env,
  );
  const server = await startServer(config);
  try {
    if (server.generatedAdminToken !== null) {
      context.io.stderr(
        `Generated admin token (shown once; also stored in ${join(config.dataDir, ADMIN_TOKEN_FILE)}):\n${server.generatedAdminToken}\n`,
      );
      if (server.signInUrl !== null) {
        context.io.stderr(
          `Sign in to the console once (within 15 minutes) with:\n${server.signInUrl}\n`,
        );
      }
    }
    printResult(
      context.io,
      options.json === true,
      `lockgate server listening on ${server.url} (stop with Ctrl-C)`,
      {
        url: server.url,
        metricsAccess: config.metricsAccess,
        prometheusUrl: config.prometheusUrl,
        errorBudget: config.errorBudget,
      },
    );
    const signal = await context.io.untilShutdown();
    context.io.stderr(`${signal}: stopping the server\n`);
  } finally {
    await server.close();
  }
}

export function registerServerCommand(program: Command, context: CommandContext): void {
  addJsonOption(
    program
      .command('server')
      .description('run the Lockgate server until SIGINT or SIGTERM')
      .option('--data <DIR>', 'data directory (default: ./.lockgate)')
      .option('--host <HOST>', 'listen address (default: 127.0.0.1)')
      .option('--port <PORT>', 'listen port (default: 7070; 0 picks a free one)', parsePort)
      .option('--db <URL>', 'postgres://... for PostgreSQL (default: embedded SQLite in DIR)')
      .option(
        '--log-level <LEVEL>',
        'fatal, error, warn, info, debug, trace or silent (default: info)',
      )
      .option('--body-limit <SIZE>', 'largest accepted pack upload, e.g. 256MiB (the default)')
      .option(
        '--controller-interval <MS>',
        'how often the release controller ticks: milliseconds or 500ms, 2s (default: 2000)',
      )
      .option(
        '--metrics-access <ACCESS>',
        'who may read /metrics: loopback (anyone on loopback, others with a token), open or token (default: LOCKGATE_METRICS_ACCESS or loopback)',
      )
      .option(
        '--prometheus-url <URL>',
        'base URL of the Prometheus that prometheus gates query (default: LOCKGATE_PROMETHEUS_URL; none)',
      )
      .option(
        '--error-budget-freeze <ENVS>',
        'freeze these environments (comma-separated, or all) when the availability error budget is exhausted (default: LOCKGATE_ERROR_BUDGET_FREEZE; off)',
      )
      .option(
        '--error-budget-objective <RATIO>',
        'the availability objective of that policy (default: LOCKGATE_ERROR_BUDGET_OBJECTIVE or 0.999)',
      )
      .option(
        '--error-budget-window <DURATION>',
        'the window of that policy: 30d, 12h, 90m (default: LOCKGATE_ERROR_BUDGET_WINDOW or 30d)',
      ),
  ).action((options: ServerCommandOptions) => runServer(context, options));
}
