import type { Command } from 'commander';
import type { GateResult } from '@lockgate/core';
import { itemsOf, objectField } from '../api-client.ts';
import type { BuildView } from '@lockgate/api';
import { addServerOptions, clientFor } from '../command-context.ts';
import type { CommandContext, ServerOptions } from '../command-context.ts';
import { collectGate, parseBuildStatus, parseDigestValue, parseLimit } from '../option-values.ts';
import { printResult } from '../output.ts';

interface ReportOptions extends ServerOptions {
  id: string;
  gate?: GateResult[];
  pack?: string;
  sourceRepo?: string;
  sourceCommit?: string;
}

interface ListOptions extends ServerOptions {
  status?: 'passed' | 'failed';
  limit?: number;
}

function buildLine(build: BuildView): string {
  const gates = build.gates.map((gate) => `${gate.name}=${gate.status}`).join(',');
  return `${build.id}  ${build.status}  ${gates === '' ? '(no gates)' : gates}${
    build.packDigest === null ? '' : `  ${build.packDigest}`
  }`;
}

/** Reports a build's gate results. A failed build is recorded too: reporting it succeeds. */
export async function reportBuild(context: CommandContext, options: ReportOptions): Promise<void> {
  const client = clientFor(context, options);
  const source =
    options.sourceRepo === undefined && options.sourceCommit === undefined
      ? undefined
      : {
          ...(options.sourceRepo === undefined ? {} : { repo: options.sourceRepo }),
          ...(options.sourceCommit === undefined ? {} : { commit: options.sourceCommit }),
        };
  const response = await client.request('POST', '/api/v1/builds', {
    json: {
      id: options.id,
      gates: options.gate ?? [],
      ...(options.pack === undefined ? {} : { packDigest: options.pack }),
      ...(source === undefined ? {} : { source }),
    },
  });
  const build = objectField<BuildView>(response.body, 'build');
  printResult(context.io, options.json === true, `reported build ${buildLine(build)}`, { build });
}

export async function listBuilds(context: CommandContext, options: ListOptions): Promise<void> {
  const client = clientFor(context, options);
  const response = await client.request('GET', '/api/v1/builds', {
    query: { status: options.status, limit: options.limit },
  });
  const items = itemsOf<BuildView>(response.body);
  printResult(
    context.io,
    options.json === true,
    items.length === 0 ? 'no builds' : items.map(buildLine).join('\n'),
    { items },
  );
}

export function registerBuildCommands(program: Command, context: CommandContext): void {
  const build = program
    .command('build')
    .description('report and list builds (gated pipeline runs)');

  addServerOptions(
    build
      .command('report')
      .description('report a build and its gate results to the server')
      .requiredOption('--id <ID>', 'build id (the buildId packs of this build carry)')
      .option(
        '--gate <NAME=STATUS>',
        'a gate result (PASS, FAIL, ERROR, SKIP); repeat',
        collectGate,
      )
      .option('--pack <DIGEST>', 'digest of the pack the build produced', parseDigestValue)
      .option('--source-repo <REPO>', 'source repository')
      .option('--source-commit <COMMIT>', 'source commit'),
  ).action((options: ReportOptions) => reportBuild(context, options));

  addServerOptions(
    build
      .command('list')
      .description('list reported builds')
      .option('--status <STATUS>', 'only passed or failed builds', parseBuildStatus)
      .option('--limit <N>', 'at most N builds (1-1000)', parseLimit),
  ).action((options: ListOptions) => listBuilds(context, options));
}
