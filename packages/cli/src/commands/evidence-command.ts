import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Command } from 'commander';
import {
  CORE_VERSION,
  finishBundleVerification,
  LockgateError,
  openEvidenceBundle,
  parsePublicKey,
  readEvidenceBundle,
  recordEnvelopePath,
  recordProofPath,
  recordVerifier,
} from '@lockgate/core';
import type {
  BundleFiles,
  BundleReport,
  BundleTrust,
  ErrorCode,
  RecordFacts,
} from '@lockgate/core';
import { writeFileAtomic } from '../atomic-write.ts';
import { CliError, UsageError } from '../cli-error.ts';
import {
  addJsonOption,
  addServerOptions,
  clientFor,
  readInputFile,
  resolvePath,
} from '../command-context.ts';
import type { CommandContext, JsonOption, ServerOptions } from '../command-context.ts';
import { collectString } from '../option-values.ts';
import { printResult } from '../output.ts';
import { logKeyOption } from './log-client.ts';
import type { RecordJob, RecordJobResult } from './evidence-verify-worker.ts';

interface ExportOptions extends ServerOptions {
  out?: string;
}

interface VerifyOptions extends JsonOption {
  trustLog?: string;
  trustBuild?: string[];
  witness?: string[];
  minWitnesses?: string;
  workers?: string;
}

interface EvidenceView {
  release: string;
  state: string;
  sealed: boolean;
  log: { origin: string; checkpointSize: number };
  checkpoints: {
    name: string;
    status: string;
    stage?: string;
    gates?: {
      metric?: string;
      verdict?: string;
      measured?: unknown;
      op?: string;
      threshold?: unknown;
    }[];
    attestation?: { summary?: Record<string, number> } | null;
    records: { seq: number; rule: string; status: string }[];
  }[];
  pending: string[];
}

/** The timeline as lines: each checkpoint, its status, its records, gates and attestation. */
export function formatEvidence(view: EvidenceView): string {
  const lines = [
    `release ${view.release}: ${view.state}, ${view.sealed ? 'sealed' : 'not sealed yet'} (log ${view.log.origin}, checkpoint ${view.log.checkpointSize})`,
  ];
  for (const checkpoint of view.checkpoints) {
    const label =
      checkpoint.stage === undefined ? checkpoint.name : `${checkpoint.name} (${checkpoint.stage})`;
    lines.push(`${label.padEnd(22)} ${checkpoint.status}`);
    for (const record of checkpoint.records) {
      lines.push(`  #${record.seq} ${record.rule} ${record.status}`);
    }
    for (const gate of checkpoint.gates ?? []) {
      lines.push(
        `  gate ${gate.metric ?? '?'} ${String(gate.measured)} ${gate.op ?? ''} ${String(gate.threshold)}: ${gate.verdict ?? '?'}`,
      );
    }
    const summary = checkpoint.attestation?.summary;
    if (summary !== undefined) {
      lines.push(
        `  attested: ${summary['onPack']}/${summary['reporting']} targets on the pack, ${summary['activationsOk']} activation(s) ok, ${summary['activationsFailed']} failed`,
      );
    }
  }
  if (view.pending.length > 0) lines.push(`pending: ${view.pending.join(', ')}`);
  return lines.join('\n');
}

/** Below this many records one thread verifies them: starting workers costs more. */
const PARALLEL_FROM = 512;

/** Downloads a release's evidence bundle (GET /releases/:id/evidence/bundle) to a file. */
export async function exportEvidence(
  context: CommandContext,
  release: string,
  options: ExportOptions,
): Promise<{ release: string; out: string; bytes: number; records: number; treeSize: number }> {
  if (options.out === undefined) throw new UsageError('lockgate evidence export needs --out FILE');
  const client = clientFor(context, options);
  const token = options.token ?? context.config.token ?? '';
  const path = `/api/v1/releases/${encodeURIComponent(release)}/evidence/bundle`;
  let response: Response;
  try {
    response = await context.io.fetch(`${client.server}${path}`, {
      headers: { authorization: `Bearer ${token}`, accept: 'application/gzip' },
      signal: AbortSignal.timeout(300_000),
    });
  } catch (error) {
    throw new CliError('SERVER_UNREACHABLE', `Cannot reach the server at ${client.server}`, {
      details: { server: client.server },
      cause: error,
    });
  }
  if (!response.ok) {
    await client.request('GET', path); // throws the server's error with its code
    throw new CliError('SERVER_RESPONSE_INVALID', `The bundle answer was ${response.status}`);
  }
  const bytes = new Uint8Array(await response.arrayBuffer());
  const out = resolvePath(context, options.out);
  await writeFileAtomic(out, bytes);
  return {
    release,
    out: options.out,
    bytes: bytes.byteLength,
    records: Number(response.headers.get('x-lockgate-records') ?? 0),
    treeSize: Number(response.headers.get('x-lockgate-tree-size') ?? 0),
  };
}

/**
 * Verifies a bundle file offline (no network): core verifyEvidenceBundle's checks, the records
 * spread over `workers` threads when there are many.
 */
export async function verifyEvidenceFile(
  context: CommandContext,
  file: string,
  options: VerifyOptions,
): Promise<BundleReport & { seconds: number; recordsPerSecond: number; workers: number }> {
  if (options.trustLog === undefined) {
    throw new UsageError('lockgate evidence verify needs --trust-log VKEY (the log verifier key)');
  }
  const trust: BundleTrust = {
    logKey: await logKeyOption(context, options.trustLog),
    buildKeys: await Promise.all(
      (options.trustBuild ?? []).map(async (path) =>
        parsePublicKey((await readInputFile(context, path, 'build key')).toString('utf8')),
      ),
    ),
    witnesses: await Promise.all((options.witness ?? []).map((w) => logKeyOption(context, w))),
    minWitnesses: minWitnessesOf(options.minWitnesses),
  };
  const workers = workersOf(options.workers);
  return verifyEvidenceBytes(await readInputFile(context, file, 'bundle'), trust, workers);
}

/** A bundle's `.tar.gz` bytes verified offline: what `lockgate evidence verify` runs. */
export async function verifyEvidenceBytes(
  bytes: Uint8Array,
  trust: BundleTrust,
  workers: number,
): Promise<BundleReport & { seconds: number; recordsPerSecond: number; workers: number }> {
  const started = performance.now();
  const files = await readEvidenceBundle(bytes);
  const report = await verifyBundleFiles(files, trust, workers);
  const seconds = (performance.now() - started) / 1000;
  return {
    ...report,
    seconds: Math.round(seconds * 1000) / 1000,
    recordsPerSecond: seconds > 0 ? Math.round(report.records / seconds) : 0,
    workers,
  };
}

/** The checks of core verifyEvidenceBundle, the records over `workers` threads. */
export async function verifyBundleFiles(
  files: BundleFiles,
  trust: BundleTrust,
  workers: number,
): Promise<BundleReport> {
  const opened = openEvidenceBundle(files, trust);
  const seqs = opened.index.records;
  let facts: RecordFacts[];
  if (workers <= 1 || seqs.length < PARALLEL_FROM) {
    const verify = recordVerifier(opened.check);
    facts = seqs.map((seq) => verify(files, seq));
  } else {
    // The main thread takes the first share while the workers start and take the rest.
    const size = Math.ceil(seqs.length / workers);
    const chunks = Array.from({ length: workers }, (_, i) => seqs.slice(i * size, (i + 1) * size));
    const [own = [], ...others] = chunks;
    const running = others.map((chunk) =>
      runWorker({ check: opened.check, seqs: chunk, files: filesOf(files, chunk) }),
    );
    const verify = recordVerifier(opened.check);
    const ownFacts: RecordFacts[] = [];
    let ownFailure: Error | null = null;
    try {
      for (const seq of own) ownFacts.push(verify(files, seq));
    } catch (error) {
      ownFailure = error instanceof Error ? error : new Error(String(error));
    }
    // Every worker is awaited before a failure is thrown: none is left running.
    const results = await Promise.all(running);
    if (ownFailure !== null) throw ownFailure;
    facts = ownFacts;
    for (const result of results) {
      if (!result.ok) {
        throw new LockgateError(result.code as ErrorCode, result.message, {
          details: result.details,
        });
      }
      facts.push(...result.facts);
    }
  }
  return finishBundleVerification(files, opened, facts, trust);
}

function filesOf(files: BundleFiles, seqs: readonly number[]): [string, Uint8Array][] {
  const list: [string, Uint8Array][] = [];
  for (const seq of seqs) {
    for (const path of [recordEnvelopePath(seq), recordProofPath(seq)]) {
      const bytes = files.get(path);
      if (bytes !== undefined) list.push([path, bytes]);
    }
  }
  return list;
}

function runWorker(job: RecordJob): Promise<RecordJobResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./evidence-verify-worker.ts', import.meta.url), {
      workerData: job,
    });
    worker.once('message', (result: RecordJobResult) => {
      resolve(result);
      void worker.terminate();
    });
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (code !== 0) reject(new Error(`an evidence verify worker exited with ${code}`));
    });
  });
}

/** `12 decisions re-run on core 0.1.0+decide.1 from 2 contexts: 12 matching (100 %)` */
export function replayLine(report: BundleReport): string {
  const { total, matching, matchRate, skipped } = report.replay;
  return `${total} decision(s) re-run on core ${CORE_VERSION} from ${report.contexts} context(s): ${matching} matching (${Math.round(matchRate * 1000) / 10} %); ${skipped} record(s) decide nothing to re-run`;
}

function minWitnessesOf(value: string | undefined): number {
  if (value === undefined) return 0;
  if (!/^(0|[1-9][0-9]{0,2})$/.test(value)) {
    throw new UsageError('--min-witnesses must be a whole number from 0 to 999');
  }
  return Number(value);
}

function workersOf(value: string | undefined): number {
  if (value === undefined) return Math.max(1, Math.min(2, availableParallelism()));
  if (!/^[1-9][0-9]?$/.test(value)) throw new UsageError('--workers must be from 1 to 99');
  return Number(value);
}

export function registerEvidenceCommands(program: Command, context: CommandContext): void {
  const evidence = program
    .command('evidence')
    .description("a release's evidence: export its bundle, verify a bundle offline");

  addServerOptions(
    evidence
      .command('show')
      .description("a release's evidence timeline: each run checkpoint, sealed or pending")
      .argument('<RELEASE>', 'the release id'),
  ).action(async (release: string, options: ServerOptions) => {
    const client = clientFor(context, options);
    const { body } = await client.request(
      'GET',
      `/api/v1/releases/${encodeURIComponent(release)}/evidence`,
    );
    printResult(context.io, options.json === true, formatEvidence(body as EvidenceView), body);
  });

  addServerOptions(
    evidence
      .command('export')
      .description("download an ended release's evidence bundle (.tar.gz)")
      .argument('<RELEASE>', 'the release id')
      .option('--out <FILE>', 'where to write the bundle; required'),
  ).action(async (release: string, options: ExportOptions) => {
    const result = await exportEvidence(context, release, options);
    printResult(
      context.io,
      options.json === true,
      `wrote ${result.out}: ${result.records} records of ${release}, checkpoint of ${result.treeSize}, ${result.bytes} bytes`,
      result,
    );
  });

  addJsonOption(
    evidence
      .command('verify')
      .description('verify an evidence bundle offline, with no server')
      .argument('<FILE>', 'the bundle (.tar.gz)')
      .option('--trust-log <VKEY>', "the log's verifier key, or a file holding it; required")
      .option('--trust-build <PEM>', 'a trusted build key file (repeatable)', collectString)
      .option(
        '--witness <VKEY>',
        'a trusted witness verifier key or file (repeatable)',
        collectString,
      )
      .option('--min-witnesses <K>', 'how many trusted witnesses must have cosigned (default 0)')
      .option('--workers <N>', 'threads that verify records (default: up to 2)'),
  ).action(async (file: string, options: VerifyOptions) => {
    const report = await verifyEvidenceFile(context, file, options);
    const lines = [
      `bundle of ${report.release}: ok`,
      `release            ${report.outcome}, pack ${report.pack}`,
      `records            ${report.records}, each signed by the log and included in the checkpoint; sealed and complete`,
      `checkpoint         ${report.origin} at size ${report.treeSize}`,
      `witnesses          ${report.witnesses.length === 0 ? 'none required' : report.witnesses.join(', ')}`,
      `packs              ${report.packs.map((p) => `${p.digest} (signed by ${p.signedBy.length} trusted key(s))`).join(', ')}`,
      `replay             ${replayLine(report)}`,
      `time               ${report.seconds} s (${report.recordsPerSecond} records/s, ${report.workers} thread(s))`,
    ];
    printResult(context.io, options.json === true, lines.join('\n'), report);
  });
}
