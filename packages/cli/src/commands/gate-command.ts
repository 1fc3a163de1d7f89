import type { GateReportView } from '@lockgate/api';
import type { Command } from 'commander';
import { addServerOptions, clientFor } from '../command-context.ts';
import type { CommandContext, ServerOptions } from '../command-context.ts';
import { parseChannelRef } from '../option-values.ts';
import type { ChannelRef } from '../option-values.ts';
import { printResult } from '../output.ts';

interface ReportOptions extends ServerOptions {
  channel: ChannelRef;
}

/** One shadow gate's row of `GET /channels/{env}/{channel}/gate-report`. */
export type ShadowGateAgreementView = GateReportView['gates'][number];

/** The report in words: one paragraph per shadow gate. Pure, so tests call it directly. */
export function formatGateReport(report: GateReportView): string {
  const { completed, rolledBack } = report.releases;
  const lines = [
    `shadow gates of ${report.env}/${report.channel}: ${completed} release(s) completed, ${rolledBack} rolled back`,
  ];
  if (report.gates.length === 0) {
    lines.push('  no shadow gate was evaluated in a release that ended');
    return lines.join('\n');
  }
  for (const g of report.gates) {
    const share = g.agreement === null ? 'n/a' : `${Math.round(100 * g.agreement)}%`;
    lines.push(
      `  ${g.stage}: ${g.gate}${g.onFail === 'pause' ? ' (would pause)' : ''}`,
      `    agreed with the outcome in ${g.agreed} of ${g.releases} release(s) (${share}): ` +
        `${g.falseAlarms} false alarm(s) (failed, yet the release completed), ` +
        `${g.missed} miss(es) (passed, yet it was rolled back)`,
    );
  }
  return lines.join('\n');
}

export async function gateReport(context: CommandContext, options: ReportOptions): Promise<void> {
  const client = clientFor(context, options);
  const { env, channel } = options.channel;
  const response = await client.request(
    'GET',
    `/api/v1/channels/${encodeURIComponent(env)}/${encodeURIComponent(channel)}/gate-report`,
  );
  const report = response.body as GateReportView;
  printResult(context.io, options.json === true, formatGateReport(report), report);
}

export function registerGateCommands(program: Command, context: CommandContext): void {
  const gate = program.command('gate').description('how the gates of a channel performed');
  addServerOptions(
    gate
      .command('report')
      .description(
        'for each shadow gate: how often it agreed with how the releases ended (completed or rolled back)',
      )
      .requiredOption('--channel <ENV/CHANNEL>', 'e.g. prod-eu/stable', parseChannelRef),
  ).action((options: ReportOptions) => gateReport(context, options));
}
