import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiClient, itemsOf, objectField } from '../api-client.ts';
import type { ReplayView } from '@lockgate/api';
import type { CliIo } from '../io.ts';
import { formatMismatch, replayFigures } from '../replay-format.ts';
import { DemoFailedError, DemoInterruptedError } from './demo-errors.ts';
import { evidenceOk, evidenceText, exportAndVerifyEvidence } from './demo-evidence.ts';
import type { DemoEvidence } from './demo-evidence.ts';
import { createAgentTokens, revokeAgentTokens, startFleet } from './demo-fleet.ts';
import type { Fleet } from './demo-fleet.ts';
import { buildDemoPack, DEMO_PACK_NAME, DEMO_PACKS, loadOrCreateDemoKeys } from './demo-packs.ts';
import type { BuiltDemoPack } from './demo-packs.ts';
import {
  bootstrapPlan,
  BOOTSTRAP_PLAN,
  DEFAULT_TIMING,
  DEMO_CHANNEL,
  DEMO_COHORTS,
  DEMO_ENV,
  demoTargets,
  RELEASE_PLAN,
  releasePlan,
  ringSizes,
} from './demo-plan.ts';
import type { DemoTiming } from './demo-plan.ts';
import { formatTimeline } from './demo-timeline.ts';
import type { DemoDecisionRecord } from './demo-timeline.ts';
import { startTraffic } from './demo-traffic.ts';
import type { Traffic, TrafficCounts } from './demo-traffic.ts';
import { prometheusScrapeConfig } from './scrape-config.ts';

export interface DemoOptions {
  /** server data directory; a temporary one (removed at the end) when undefined */
  dataDir?: string;
  /** server listen port (0: a free one) */
  port: number;
  agents: number;
  /** end after the scenario instead of running until Ctrl-C */
  exit: boolean;
  /** print only the JSON summary on stdout (progress goes to stderr) */
  json: boolean;
  timing?: DemoTiming;
  /** bound on the whole scenario, ms (default 170 s) */
  scenarioTimeoutMs?: number;
  /** the process environment, for the server's own settings (LOCKGATE_ADMIN_TOKEN, …) */
  env: Readonly<Record<string, string | undefined>>;
  /** Called once the scenario has ended, before the demo waits for Ctrl-C (without `exit`). */
  onSummary: (summary: DemoSummary) => void;
}

export interface DemoReleaseSummary {
  label: string;
  version: string;
  pack: string;
  release: string;
  plan: string;
  state: string;
  /** the outcome's summary, e.g. 'health gate failed: error_rate' */
  outcome: string | null;
  /**
   * why, in words: the outcome's first reason, for a compare gate the effect, its interval and
   * the p-value ('error rate +0.2 vs baseline (95% CI +0.14 to +0.26), p < 0.0001: regression')
   */
  judgment: string | null;
  /** who ended the release (the actor of the decision that made it terminal) and by which rule */
  endedBy: string | null;
  endedByRule: string | null;
  durationSeconds: number | null;
  timeline: DemoDecisionRecord[];
  /** the replay of every decision of the release on the server's core, at the end */
  replay: DemoReplayFigures | null;
  /** the release's evidence bundle, exported and verified offline at the end */
  evidence: DemoEvidence | null;
}

/** What replaying a release's decisions found (`POST /releases/{id}/replays`). */
export interface DemoReplayFigures {
  total: number;
  matching: number;
  mismatches: number;
  matchRate: number;
  coreVersion: string;
  /** one sentence per mismatch */
  mismatched: string[];
}

export interface DemoSummary {
  ok: boolean;
  failures: string[];
  server: string;
  adminToken: string;
  dataDir: string;
  env: string;
  channel: string;
  agents: number;
  durationSeconds: number;
  releases: DemoReleaseSummary[];
  fleet: {
    total: number;
    /** pack label (v1, v2, v3, none) → targets running it, as the server last heard */
    byPack: Record<string, number>;
    allOnV2: boolean;
    /** targets not on v2 at the end, with their last attempt (why they are not) */
    stragglers: { id: string; pack: string; lastAttempt: unknown }[];
  };
  traffic: TrafficCounts;
}

interface ReleaseView {
  id: string;
  state: string;
  stageIndex: number;
  plan: { name: string; stages: { name: string }[] };
  outcome?: { summary: string; reasons?: { message: string }[] };
  currentStage?: { name: string; percent: number; cohort: string | null } | null;
  createdAt?: string;
  updatedAt?: string;
}

interface TargetView {
  id: string;
  activePack: string | null;
  lastAttempt?: unknown;
}

/** The controller ticks often so stages advance within a second of their gates passing. */
const CONTROLLER_INTERVAL_MS = 250;

const TERMINAL = new Set(['completed', 'rolled_back', 'aborted', 'failed']);

/** Progress lines: stdout for people, stderr when stdout carries the JSON summary. */
function progressWriter(io: CliIo, json: boolean): (line: string) => void {
  const started = Date.now();
  return (line) => {
    const seconds = ((Date.now() - started) / 1000).toFixed(1).padStart(5);
    const text = `[${seconds}s] ${line}\n`;
    if (json) io.stderr(text);
    else io.stdout(text);
  };
}

async function adminTokenOf(
  configToken: string | null,
  generated: string | null,
  dataDir: string,
): Promise<string> {
  if (configToken !== null) return configToken;
  if (generated !== null) return generated;
  // A data directory from an earlier run: its token is on disk (mode 0600).
  const { ADMIN_TOKEN_FILE } = await import('@lockgate/server');
  return (await readFile(join(dataDir, ADMIN_TOKEN_FILE), 'utf8')).trim();
}

/**
 * The whole demo: a server on the embedded database, a fleet of agents with example runtimes,
 * traffic, a good release that completes and a bad one the controller rolls back. Returns the
 * summary; `ok` says whether everything happened as expected.
 */
export async function runDemo(io: CliIo, options: DemoOptions): Promise<DemoSummary> {
  const timing = options.timing ?? DEFAULT_TIMING;
  const progress = progressWriter(io, options.json);
  const startedAt = Date.now();
  const deadline = startedAt + (options.scenarioTimeoutMs ?? 170_000);
  let interrupted: string | null = null;
  const shutdown = io.untilShutdown().then((signal) => {
    interrupted = signal;
    return signal;
  });

  const checkInterrupted = (): void => {
    if (interrupted !== null) throw new DemoInterruptedError(interrupted);
  };
  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

  /** Polls until `probe` answers something, within the scenario's bound. */
  const waitFor = async <T>(
    what: string,
    timeoutMs: number,
    probe: () => Promise<T | undefined>,
  ): Promise<T> => {
    const until = Math.min(Date.now() + timeoutMs, deadline);
    for (;;) {
      checkInterrupted();
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() > until) {
        throw new DemoFailedError(`Timed out waiting for ${what}`, { waitingFor: what });
      }
      await sleep(250);
    }
  };

  const root = await mkdtemp(join(tmpdir(), 'lockgate-demo-'));
  const dataDir = options.dataDir ?? join(root, 'server');
  const { loadServerConfig, startServer } = await import('@lockgate/server');
  const config = loadServerConfig(
    {
      data: dataDir,
      host: '127.0.0.1',
      port: options.port,
      logLevel: 'warn',
      controllerInterval: CONTROLLER_INTERVAL_MS,
    },
    options.env,
  );
  progress(`starting the server (data in ${config.dataDir})`);
  const server = await startServer(config);
  let fleet: Fleet | null = null;
  let traffic: Traffic | null = null;
  let revokeTokens: (() => Promise<void>) | null = null;
  try {
    const adminToken = await adminTokenOf(
      config.adminToken,
      server.generatedAdminToken,
      config.dataDir,
    );
    const client = new ApiClient({ server: server.url, token: adminToken, fetch: io.fetch });
    progress(`server listening on ${server.url}`);
    progress(
      server.signInUrl === null
        ? `follow the releases in the console: ${server.url}/releases (sign in with ${join(config.dataDir, 'admin-token')})`
        : `follow the releases in the console (one-time sign-in link): ${server.signInUrl}`,
    );

    // Keys: the build key signs the packs and the server trusts it.
    const keys = await loadOrCreateDemoKeys(join(config.dataDir, 'demo-keys'));
    await client.request('POST', '/api/v1/trust/keys', {
      json: { publicKeyPem: keys.publicKeyPem, name: 'demo-build' },
    });
    progress(`build key ${keys.publicKeyPath} trusted`);

    // Environment, plans and channel.
    const sizes = ringSizes(options.agents);
    await client.request('PUT', `/api/v1/environments/${DEMO_ENV}`, {
      json: { description: 'lockgate demo' },
    });
    const plan = releasePlan(options.agents, timing);
    for (const p of [plan, bootstrapPlan()]) {
      await client.request('PUT', `/api/v1/plans/${p.name}`, { json: { stages: p.stages } });
    }
    await client.request('PUT', `/api/v1/environments/${DEMO_ENV}/channels/${DEMO_CHANNEL}`, {
      json: { plan: RELEASE_PLAN, cohorts: DEMO_COHORTS },
    });
    progress(
      `env ${DEMO_ENV}, channel ${DEMO_CHANNEL}: plan ${RELEASE_PLAN} = canary ${sizes.canary} targets → half ${sizes.early} → all ${sizes.all}, soak ${timing.soakSeconds}s each; canary and half compare their error rate with a baseline of as many targets left on the base (α 0.05), error_rate ≤ 0.05 over ${timing.windowSeconds}s watched in shadow there and enforced at all`,
    );
    await abortActiveRelease(client, progress);

    // Packs: build, sign and push all three.
    const packs: BuiltDemoPack[] = [];
    for (const spec of DEMO_PACKS) {
      const built = await buildDemoPack(spec, keys);
      const pushed = await client.request('POST', '/api/v1/packs', { bytes: built.bytes });
      packs.push(built);
      progress(
        `${spec.label}: ${DEMO_PACK_NAME}@${spec.version} ${built.digest.slice(0, 19)}… ${pushed.status === 201 ? 'pushed' : 'already stored'} (${spec.note})`,
      );
    }
    const [v1, v2, v3] = packs as [BuiltDemoPack, BuiltDemoPack, BuiltDemoPack];
    const labelOf = (digest: unknown): string =>
      packs.find((p) => p.digest === digest)?.spec.label ??
      (typeof digest === 'string' ? digest.slice(0, 19) : 'nothing');

    const releases: DemoReleaseSummary[] = [];
    const release = async (pack: BuiltDemoPack, planName: string, reason: string) => {
      const created = await client.request('POST', '/api/v1/releases', {
        json: { pack: pack.digest, env: DEMO_ENV, channel: DEMO_CHANNEL, plan: planName, reason },
      });
      const view = objectField<ReleaseView>(created.body, 'release');
      progress(`${pack.spec.label}: release ${view.id} requested (plan ${planName})`);
      return view.id;
    };
    const fleetTargets = async (): Promise<TargetView[]> => {
      const response = await client.request('GET', '/api/v1/targets', {
        query: { env: DEMO_ENV, channel: DEMO_CHANNEL, limit: 1000 },
      });
      return itemsOf<TargetView>(response.body).filter((t) => fleet?.ids.has(t.id) === true);
    };
    const packLabel = (target: TargetView): string =>
      target.activePack === null ? 'none' : labelOf(target.activePack);
    const fleetByPack = async (): Promise<Record<string, number>> => {
      const counts: Record<string, number> = {};
      for (const target of await fleetTargets()) {
        const label = packLabel(target);
        counts[label] = (counts[label] ?? 0) + 1;
      }
      return counts;
    };
    const fleetText = (counts: Record<string, number>): string =>
      Object.entries(counts)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([label, n]) => `${n} on ${label}`)
        .join(', ');

    /** Follows a release to a terminal state, printing each change of state or stage. */
    const follow = async (pack: BuiltDemoPack, id: string, timeoutMs: number) => {
      let last = '';
      const view = await waitFor(
        `release ${id} (${pack.spec.label}) to end`,
        timeoutMs,
        async () => {
          const response = await client.request('GET', `/api/v1/releases/${id}`);
          const current = objectField<ReleaseView>(response.body, 'release');
          const stage = current.currentStage;
          const where =
            stage === null || stage === undefined
              ? current.state
              : `${current.state}, stage ${stage.name} (${stage.cohort === null ? '' : `cohort ${stage.cohort}, `}${stage.percent}%)`;
          if (where !== last && current.state !== 'requested') {
            last = where;
            const counts = fleet === null ? '' : ` — fleet: ${fleetText(await fleetByPack())}`;
            progress(`${pack.spec.label}: ${where}${counts}`);
          }
          return TERMINAL.has(current.state) ? current : undefined;
        },
      );
      const timeline = itemsOf<DemoDecisionRecord>(
        (await client.request('GET', `/api/v1/releases/${id}/timeline`)).body,
      );
      const ending = [...timeline].reverse().find((r) => r.to === view.state);
      const first = timeline[0];
      const summary: DemoReleaseSummary = {
        label: pack.spec.label,
        version: pack.spec.version,
        pack: pack.digest,
        release: id,
        plan: view.plan.name,
        state: view.state,
        outcome: view.outcome?.summary ?? null,
        judgment: view.outcome?.reasons?.[0]?.message ?? null,
        endedBy: ending?.actor ?? null,
        endedByRule: ending?.rule ?? null,
        durationSeconds:
          first === undefined || ending === undefined
            ? null
            : (Date.parse(ending.at) - Date.parse(first.at)) / 1000,
        timeline,
        replay: null,
        evidence: null,
      };
      releases.push(summary);
      progress(
        `${pack.spec.label}: ${view.state}${summary.outcome === null ? '' : ` (${summary.outcome})`} by ${summary.endedBy ?? '?'}`,
      );
      return summary;
    };

    // v1 becomes the base before any target runs.
    const r1 = await release(v1, BOOTSTRAP_PLAN, 'demo: the base every target starts on');
    const s1 = await follow(v1, r1, 30_000);
    if (s1.state !== 'completed') {
      throw new DemoFailedError(`The base release ${r1} ended ${s1.state}, not completed`, {
        release: r1,
      });
    }

    // The fleet: one example runtime and one agent per target.
    const serverKeys = itemsOf<{ keyId: string; publicKeyPem: string }>(
      (await client.request('GET', '/api/v1/server/keys')).body,
    );
    // Each agent speaks only for its own target: a token scoped to it in the demo channel.
    const targets = demoTargets(options.agents);
    const agentTokens = await createAgentTokens(client, targets, DEMO_ENV, DEMO_CHANNEL);
    revokeTokens = () => revokeAgentTokens(client, agentTokens);
    progress(
      `${targets.length} agent tokens, each scoped to its own target in ${DEMO_ENV}/${DEMO_CHANNEL}`,
    );
    progress(`starting ${options.agents} agents, each with an example runtime`);
    fleet = await startFleet({
      root: join(root, 'fleet'),
      targets,
      server: server.url,
      tokens: agentTokens,
      env: DEMO_ENV,
      channel: DEMO_CHANNEL,
      serverKeyPems: serverKeys.map((k) => k.publicKeyPem),
      buildKeyPem: keys.publicKeyPem,
      fetch: io.fetch,
    });
    const fleetRef = fleet;
    const everyTargetOn = (pack: BuiltDemoPack, timeoutMs: number) =>
      waitFor(`every target to run ${pack.spec.label}`, timeoutMs, async () => {
        const counts = await fleetByPack();
        return counts[pack.spec.label] === fleetRef.size ? counts : undefined;
      });
    await everyTargetOn(v1, 60_000);
    progress(`fleet: all ${fleet.size} targets run v1`);

    traffic = startTraffic({
      endpoints: fleet.endpoints,
      requestsPerSecond: timing.requestsPerSecond,
      maxDurationMs: Math.max(0, deadline - Date.now()),
      fetch: io.fetch,
    });
    progress(
      `traffic: ${timing.requestsPerSecond} lookups/s to each runtime (${timing.requestsPerSecond * fleet.size}/s in all)`,
    );
    // Let a report or two carry traffic before the first gated release.
    await sleep(1500);

    const r2 = await release(v2, RELEASE_PLAN, 'demo: a good release');
    const s2 = await follow(v2, r2, 90_000);
    if (s2.state === 'completed') {
      await everyTargetOn(v2, 30_000).catch(() => undefined);
    }

    const r3 = await release(v3, RELEASE_PLAN, 'demo: a bad release (errorRate 0.2)');
    const s3 = await follow(v3, r3, 60_000);

    // After the rollback every target should be back on v2.
    const finalCounts = await waitFor('every target back on v2', 30_000, async () => {
      const counts = await fleetByPack();
      return counts['v2'] === fleetRef.size ? counts : undefined;
    }).catch(async () => fleetByPack());
    const trafficCounts = await traffic.stop();
    traffic = null;
    const stragglers = (await fleetTargets())
      .filter((t) => packLabel(t) !== 'v2')
      .map((t) => ({ id: t.id, pack: packLabel(t), lastAttempt: t.lastAttempt ?? null }));

    // Every decision of every release, replayed on the server's core: all must match.
    for (const summary of releases) {
      const response = await client.request('POST', `/api/v1/releases/${summary.release}/replays`, {
        json: { reason: 'demo: replay every decision at the end' },
      });
      const replay = objectField<ReplayView>(response.body, 'replay');
      summary.replay = {
        total: replay.total,
        matching: replay.matching,
        mismatches: replay.mismatches,
        matchRate: replay.matchRate,
        coreVersion: replay.coreVersion,
        mismatched: replay.mismatched.map(formatMismatch),
      };
      progress(`${summary.label}: replay ${replayFigures(replay)}`);
    }

    // Each release's evidence bundle exported, then verified offline from the file (as
    // `lockgate evidence verify` does), every verdict in it replayed.
    for (const summary of releases) {
      summary.evidence = await exportAndVerifyEvidence({
        server: server.url,
        token: adminToken,
        fetch: io.fetch,
        release: summary.release,
        label: summary.label,
        dir: join(config.dataDir, 'evidence'),
        logKeyFile: join(config.dataDir, 'log-verifier-key'),
        buildKeyPem: keys.publicKeyPem,
      });
      progress(`${summary.label}: evidence bundle ${evidenceText(summary.evidence)}`);
    }

    const failures: string[] = [];
    for (const summary of releases) {
      if (summary.evidence !== null && !evidenceOk(summary.evidence)) {
        failures.push(
          `the evidence bundle of ${summary.label} does not verify offline: ${evidenceText(summary.evidence)}`,
        );
      }
      if (summary.replay !== null && summary.replay.mismatches > 0) {
        failures.push(
          `${summary.label} does not replay: ${replayFigures(summary.replay)} (${summary.replay.mismatched.join('; ')})`,
        );
      }
    }
    if (s2.state !== 'completed') failures.push(`v2 ended ${s2.state}, not completed`);
    if (s3.state !== 'rolled_back') failures.push(`v3 ended ${s3.state}, not rolled_back`);
    else if (s3.endedBy !== 'controller') {
      failures.push(`v3 was rolled back by ${s3.endedBy ?? '?'}, not by the controller`);
    }
    if (finalCounts['v2'] !== fleet.size) {
      const why = stragglers
        .map((t) => `${t.id} on ${t.pack}${attemptText(t.lastAttempt, labelOf)}`)
        .join(', ');
      failures.push(
        `at the end ${finalCounts['v2'] ?? 0} of ${fleet.size} targets run v2 (${why})`,
      );
    }

    const summary: DemoSummary = {
      ok: failures.length === 0,
      failures,
      server: server.url,
      adminToken,
      dataDir: config.dataDir,
      env: DEMO_ENV,
      channel: DEMO_CHANNEL,
      agents: fleet.size,
      durationSeconds: Math.round((Date.now() - startedAt) / 100) / 10,
      releases,
      fleet: {
        total: fleet.size,
        byPack: finalCounts,
        allOnV2: finalCounts['v2'] === fleet.size,
        stragglers,
      },
      traffic: trafficCounts,
    };

    options.onSummary(summary);
    if (!options.exit && interrupted === null) {
      if (!options.json) {
        io.stdout(
          `\nThe server keeps running at ${server.url} (admin token ${adminToken}) with ${fleet.size} agents; stop with Ctrl-C.\n` +
            `  LOCKGATE_SERVER=${server.url} LOCKGATE_TOKEN=${adminToken} node packages/cli/src/main.ts release list --env ${DEMO_ENV}\n` +
            `\nMetrics: ${server.url}/metrics. A Prometheus configuration that scrapes it (save as prometheus.yml and run \`prometheus --config.file=prometheus.yml\` from the repository root):\n\n` +
            prometheusScrapeConfig(server.url),
        );
      } else {
        io.stderr(`server ${server.url} keeps running; stop with Ctrl-C\n`);
      }
      await shutdown;
    }
    return summary;
  } finally {
    await traffic?.stop();
    await fleet?.stop();
    // A kept data directory is left without agent tokens that could still speak for the fleet.
    await revokeTokens?.();
    await server.close();
    // The temporary root holds the fleet and, without --data, the server's data.
    await rm(root, { recursive: true, force: true });
  }
}

/** `, last attempt: verify v2 failed RELEASE_BELOW_FLOOR` */
function attemptText(attempt: unknown, labelOf: (digest: unknown) => string): string {
  if (typeof attempt !== 'object' || attempt === null) return '';
  const { kind, pack, result, code } = attempt as Record<string, unknown>;
  return `, last attempt: ${String(kind)} ${labelOf(pack)} ${String(result)}${typeof code === 'string' ? ` ${code}` : ''}`;
}

/** A release left active by an interrupted earlier run on the same data directory. */
async function abortActiveRelease(client: ApiClient, progress: (line: string) => void) {
  const response = await client.request(
    'GET',
    `/api/v1/environments/${DEMO_ENV}/channels/${DEMO_CHANNEL}`,
  );
  const channel = objectField<{ activeRelease: string | null }>(response.body, 'channel');
  if (channel.activeRelease !== null) {
    await client.request('POST', `/api/v1/releases/${channel.activeRelease}/abort`, {
      json: { reason: 'demo: a new demo run starts' },
    });
    progress(`aborted release ${channel.activeRelease} left by an earlier run`);
  }
}

/** The timelines, traffic and outcome, for people. */
export function humanReport(summary: DemoSummary): string {
  const labelOf = (digest: unknown): string =>
    summary.releases.find((r) => r.pack === digest)?.label ??
    (typeof digest === 'string' ? digest.slice(0, 19) : 'nothing');
  const lines: string[] = ['', 'Timelines'];
  for (const release of summary.releases) {
    lines.push(
      '',
      `${release.label} ${DEMO_PACK_NAME}@${release.version}  release ${release.release}  plan ${release.plan}  → ${release.state}${release.outcome === null ? '' : ` (${release.outcome})`}`,
      ...(release.judgment === null ? [] : [`  why: ${release.judgment}`]),
      ...formatTimeline(release.timeline, labelOf),
    );
  }
  lines.push('', 'Replay (every decision re-run on the current core, digests compared)');
  for (const release of summary.releases) {
    if (release.replay === null) continue;
    lines.push(
      `  ${release.label} release ${release.release}: ${replayFigures(release.replay)}`,
      ...release.replay.mismatched.map((m) => `    mismatch at ${m}`),
    );
  }
  lines.push(
    '',
    'Evidence (each bundle exported, then verified offline from its file as `lockgate evidence verify` does)',
  );
  for (const release of summary.releases) {
    if (release.evidence === null) continue;
    lines.push(
      `  ${release.label} release ${release.release}: ${evidenceText(release.evidence)}`,
      `    ${release.evidence.file}`,
    );
  }
  const t = summary.traffic;
  const versions = Object.entries(t.byVersion)
    .map(([version, n]) => `${version}: ${n}`)
    .join(', ');
  lines.push(
    '',
    `Traffic: ${t.requests} lookups, ${t.ok} ok, ${t.serverErrors} server errors, ${t.otherStatus} other, ${t.unreachable} unreachable; answered by ${versions}`,
    `Fleet at the end: ${Object.entries(summary.fleet.byPack)
      .map(([label, n]) => `${n} on ${label}`)
      .join(', ')}`,
    '',
    summary.ok
      ? `OK in ${summary.durationSeconds}s: v2 completed, v3 rolled back by the controller, every agent on v2.`
      : `NOT OK after ${summary.durationSeconds}s: ${summary.failures.join('; ')}.`,
    `Server ${summary.server}  admin token ${summary.adminToken}`,
  );
  return `${lines.join('\n')}\n`;
}
