/**
 * Disaster recovery drill: a release runs on a real server process with a simulated fleet
 * (HTTP clients that ask what to run and report health, as agents do); a backup is taken
 * mid-release with `lockgate backup` while the server writes; the server is killed and its data
 * directory destroyed; `lockgate restore` rebuilds it into a new directory, a new server starts
 * there, and the release resumes to the same end state. Prints the measured RPO (decision records
 * lost) and RTO (seconds from restore start to serving). No timing assertions.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { verifyDecisionChain } from '../../packages/server/src/index.ts';
import type { DecisionRecord, ReleaseView } from '../../packages/server/src/index.ts';
import { makePack, newSigner } from '../../packages/server/test/helpers/packs.ts';
import {
  apiOf,
  CLI_MAIN,
  eventually,
  pushPack,
  QUICK_ERROR_GATE,
  startServerProcess,
} from '../../packages/server/test/helpers/server-process.ts';
import type { ServerProcess } from '../../packages/server/test/helpers/server-process.ts';

const run = promisify(execFile);
const TARGETS = Array.from({ length: 12 }, (_, i) => `drill-${String(i).padStart(2, '0')}`);
const THREE = [
  { name: 'canary', percent: 25, soakSeconds: 2, gates: [QUICK_ERROR_GATE] },
  { name: 'half', percent: 50, soakSeconds: 2, gates: [QUICK_ERROR_GATE] },
  { name: 'all', percent: 100, soakSeconds: 2, gates: [QUICK_ERROR_GATE] },
];

/** Targets that behave like agents; every pack any of them was told to run is remembered. */
function fleetOf(url: () => string): {
  told: Set<string>;
  running: Map<string, string>;
  stop(): Promise<void>;
} {
  const told = new Set<string>();
  const running = new Map<string, string>();
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const api = apiOf(url);
      for (const id of TARGETS) {
        if (stopped) break;
        try {
          const desired = await api<{ pack: string | null }>('GET', `/targets/${id}/desired`);
          const want = desired.status === 200 ? desired.body.pack : null;
          if (want !== null && want !== running.get(id)) {
            told.add(want);
            running.set(id, want);
          }
          const active = running.get(id) ?? null;
          await api('POST', `/targets/${id}/reports`, {
            activePack: active,
            ...(active === null
              ? {}
              : {
                  lastAttempt: {
                    kind: 'activate',
                    pack: active,
                    result: 'ok',
                    at: new Date().toISOString(),
                  },
                }),
            health: { requests: 20, errors: 0 },
          });
        } catch {
          // the server is down: try again next round
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
  })();
  return {
    told,
    running,
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

describe('disaster recovery drill', () => {
  const cleanups: (() => Promise<void>)[] = [];

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('restores a mid-release backup into a new server that finishes the release with a verified log', async () => {
    const root = await mkdtemp(join(tmpdir(), 'lockgate-dr-'));
    cleanups.push(() => rm(root, { recursive: true, force: true }));
    const first = join(root, 'data-a');
    const second = join(root, 'data-b');
    const backupFile = join(root, 'lockgate.backup.tar.gz');
    const passphraseFile = join(root, 'passphrase');
    await writeFile(passphraseFile, 'correct horse battery staple\n', { mode: 0o600 });

    let server: ServerProcess = await startServerProcess([
      '--data',
      first,
      '--controller-interval',
      '100',
    ]);
    cleanups.push(() => server.kill());
    const api = apiOf(() => server.url);
    const signer = newSigner();
    await api('POST', '/trust/keys', { publicKeyPem: signer.publicKeyPem });
    const v1 = await makePack({ signer, version: '1.0.0', sequence: 1, buildId: 'b1' });
    const v2 = await makePack({ signer, version: '2.0.0', sequence: 2, buildId: 'b2' });
    await pushPack(server.url, v1);
    await pushPack(server.url, v2);
    await api('PUT', '/environments/prod', {});
    await api('PUT', '/environments/prod/channels/stable', {});
    await api('PUT', '/plans/instant', {
      stages: [{ name: 'all', percent: 100, soakSeconds: 0, gates: [] }],
    });
    await api('PUT', '/plans/three', { stages: THREE });
    for (const id of TARGETS)
      await api('PUT', `/targets/${id}`, { env: 'prod', channel: 'stable', labels: {} });
    const release = async (pack: string, plan: string): Promise<string> => {
      const created = await api<{ release: ReleaseView }>('POST', '/releases', {
        env: 'prod',
        channel: 'stable',
        pack,
        plan,
        reason: 'dr drill',
      });
      expect(created.status).toBe(201);
      return created.body.release.id;
    };
    const stateOf = async (id: string): Promise<ReleaseView> =>
      (await api<{ release: ReleaseView }>('GET', `/releases/${id}`)).body.release;
    const allRecords = async (): Promise<DecisionRecord[]> => {
      const records: DecisionRecord[] = [];
      for (;;) {
        const after = records.at(-1)?.seq ?? 0;
        const page = (
          await api<{ items: DecisionRecord[] }>('GET', `/decisions?after=${after}&limit=1000`)
        ).body.items;
        if (page.length === 0) return records;
        records.push(...page);
      }
    };

    const baseline = await release(v1.digest, 'instant');
    await eventually('the baseline release', 20_000, async () =>
      (await stateOf(baseline)).state === 'completed' ? true : null,
    );
    let fleet = fleetOf(() => server.url);
    cleanups.push(() => fleet.stop());
    const id = await release(v2.digest, 'three');
    await eventually('the second stage', 30_000, async () => {
      const current = await stateOf(id);
      return current.state === 'rolling' && current.stageIndex >= 1 ? true : null;
    });

    // Backup while the server runs and the fleet reports.
    const backedUp = await run(process.execPath, [
      CLI_MAIN,
      'backup',
      '--data',
      first,
      '--out',
      backupFile,
      '--passphrase-file',
      passphraseFile,
      '--json',
    ]);
    const manifest = (
      JSON.parse(backedUp.stdout) as { manifest: { decisionLog: { lastSeq: number } } }
    ).manifest;
    const atBackup = manifest.decisionLog.lastSeq;

    // Disaster: the server dies and its data directory is gone.
    const beforeLoss = await allRecords();
    await fleet.stop();
    await server.kill();
    await rm(first, { recursive: true, force: true });
    const lostRecords = (beforeLoss.at(-1)?.seq ?? 0) - atBackup;

    const restoreStarted = performance.now();
    const restored = await run(process.execPath, [
      CLI_MAIN,
      'restore',
      backupFile,
      '--data',
      second,
      '--passphrase-file',
      passphraseFile,
      '--json',
    ]);
    const report = JSON.parse(restored.stdout) as {
      decisionLog: { chainVerified: boolean; lastSeq: number };
    };
    expect(report.decisionLog).toMatchObject({ chainVerified: true, lastSeq: atBackup });
    server = await startServerProcess(['--data', second, '--controller-interval', '100']);
    const health = await fetch(`${server.url}/healthz`).catch(() => null);
    const rtoSeconds = (performance.now() - restoreStarted) / 1000;

    fleet = fleetOf(() => server.url);
    const done = await eventually('the restored server to finish the release', 60_000, async () => {
      const current = await stateOf(id);
      return ['completed', 'rolled_back', 'failed', 'aborted'].includes(current.state)
        ? current
        : null;
    });
    expect(done).toMatchObject({ state: 'completed', stageIndex: 2 });
    await eventually('every target on the released pack', 20_000, () =>
      Promise.resolve(TARGETS.every((t) => fleet.running.get(t) === v2.digest) ? true : null),
    );
    await fleet.stop();

    const channel = (
      await api<{ channel: { base: string; lkg: string } }>(
        'GET',
        '/environments/prod/channels/stable',
      )
    ).body.channel;
    expect(channel).toMatchObject({ base: v2.digest, lkg: v2.digest });
    // No target was ever told to run a pack other than the two signed, pushed, eligible ones.
    expect([...fleet.told].every((pack) => pack === v1.digest || pack === v2.digest)).toBe(true);
    const records = await allRecords();
    expect(verifyDecisionChain(records)).toMatchObject({ ok: true });
    expect(records.slice(0, atBackup).map((r) => r.digest)).toEqual(
      beforeLoss.slice(0, atBackup).map((r) => r.digest),
    );

    console.log(
      `DR drill: RPO ${lostRecords} decision record(s) lost (backup at seq ${atBackup}, loss at seq ${beforeLoss.at(-1)?.seq ?? 0}); ` +
        `RTO ${rtoSeconds.toFixed(2)} s from restore start to serving (health ${health?.status ?? 'n/a'})`,
    );
  }, 180_000);
});
