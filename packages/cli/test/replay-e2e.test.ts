import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { brotliCompressSync, brotliDecompressSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DecisionRecordView, ReleaseView, ReplayView } from '@lockgate/api';
import { createCliWorld } from './cli-harness.ts';
import type { CliWorld } from './cli-harness.ts';

/** The digest of the context a record was decided on (when it names one). */
function contextOf(record: DecisionRecordView): unknown {
  return (record.inputs as Record<string, unknown>)['context'];
}

/** How long the controller may take to move a release; a bound, never an assertion on time. */
const SETTLE_MS = 30_000;

/**
 * `lockgate release replay` against a real server: the decisions of a completed release and of
 * one paused and aborted by an operator replay with 100 % matching (exit 0); after a stored
 * context is edited in the database, the same command names the record and the field (exit 1,
 * REPLAY_MISMATCH).
 */
describe('release replay end to end', () => {
  let world: CliWorld;

  const ok = <T>(...args: string[]): Promise<T> => world.ok<T>(...args);

  async function until(id: string, done: (release: ReleaseView) => boolean): Promise<void> {
    const deadline = Date.now() + SETTLE_MS;
    let last: ReleaseView | undefined;
    while (Date.now() < deadline) {
      last = (await ok<{ release: ReleaseView }>('release', 'status', id)).release;
      if (done(last)) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`release ${id} did not settle: ${JSON.stringify(last)}`);
  }

  let completed = '';
  let aborted = '';

  beforeAll(async () => {
    world = await createCliWorld({ prefix: 'replay-e2e', versions: ['1.0.0', '2.0.0'] });
    const { dir } = world;
    await writeFile(
      join(dir, 'instant.json'),
      JSON.stringify({ stages: [{ name: 'all', percent: 100, soakSeconds: 0, gates: [] }] }),
    );
    await writeFile(
      join(dir, 'soak.json'),
      JSON.stringify({ stages: [{ name: 'all', percent: 100, soakSeconds: 3600, gates: [] }] }),
    );
    await ok('plan', 'set', 'instant', '--file', 'instant.json');
    await ok('plan', 'set', 'soak', '--file', 'soak.json');
    await ok('env', 'create', 'prod-eu');
    await ok('channel', 'create', 'prod-eu/stable');

    const first = await ok<{ release: ReleaseView }>(
      'release',
      'create',
      'kb@1.0.0',
      '--to',
      'prod-eu/stable',
      '--plan',
      'instant',
      '--reason',
      'first',
    );
    completed = first.release.id;
    await until(completed, (r) => r.state === 'completed');

    const second = await ok<{ release: ReleaseView }>(
      'release',
      'create',
      'kb@2.0.0',
      '--to',
      'prod-eu/stable',
      '--plan',
      'soak',
      '--reason',
      'second',
    );
    aborted = second.release.id;
    await until(aborted, (r) => r.state === 'rolling' && r.currentStage?.startedAt != null);
    await ok('release', 'pause', aborted, '--reason', 'have a look');
    await ok('release', 'abort', aborted, '--reason', 'not today');
  }, 120_000);

  afterAll(async () => {
    await world.close();
  });

  it('prints the figures of a release whose every decision replays, and exits 0', async () => {
    for (const id of [completed, aborted]) {
      const decided = (
        await ok<{ items: DecisionRecordView[] }>('release', 'timeline', id)
      ).items.filter((r) => typeof contextOf(r) === 'string').length;
      const result = await world.lockgate('release', 'replay', id, '--reason', 'audit');
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(
        `${decided} decisions, ${decided} matching, 0 mismatches, match rate 100 %`,
      );
      expect(result.stdout).toMatch(/not replayed: record \d+ \(release\.create: /);
    }
    const json = await ok<{ replay: ReplayView }>('release', 'replay', aborted, '--reason', 'json');
    expect(json.replay).toMatchObject({ status: 'completed', mismatches: 0, matchRate: 1 });
    expect(
      (await ok<{ items: DecisionRecordView[] }>('release', 'timeline', aborted)).items.map(
        (r) => r.rule,
      ),
    ).toEqual(expect.arrayContaining(['command.pause', 'command.abort']));
  });

  it('names the record and the field after a stored context was edited, and exits 1', async () => {
    const timeline = (await ok<{ items: DecisionRecordView[] }>('release', 'timeline', completed))
      .items;
    const started = timeline.find((r) => r.rule === 'stage.start');
    if (started === undefined) throw new Error('no stage.start record');
    const digest = contextOf(started) as string;
    const db = new DatabaseSync(join(world.dir, 'data', 'lockgate.db'), { timeout: 5000 });
    try {
      const row = db.prepare('select body from decision_contexts where digest = ?').get(digest) as {
        body: string;
      };
      const context = JSON.parse(
        brotliDecompressSync(Buffer.from(row.body, 'base64')).toString('utf8'),
      ) as { release: { plan: { stages: { percent: number }[] } } };
      const stage = context.release.plan.stages[0];
      if (stage === undefined) throw new Error('no stage');
      stage.percent = 99;
      const body = brotliCompressSync(Buffer.from(JSON.stringify(context))).toString('base64');
      db.prepare('update decision_contexts set body = ? where digest = ?').run(body, digest);
    } finally {
      db.close();
    }

    const result = await world.lockgate('release', 'replay', completed, '--reason', 'after edit');
    expect(result.code).toBe(1);
    // The instant plan ran in one tick: one context, so every decision of that tick differs.
    const decided = timeline.filter((r) => contextOf(r) === digest).length;
    expect(decided).toBeGreaterThan(1);
    expect(result.stdout).toContain(
      `${decided} decisions, 0 matching, ${decided} mismatches, match rate 0 %`,
    );
    expect(result.stdout).toContain(
      `mismatch at record ${started.seq} (stage.start): inputs.stage.percent recorded 100, replayed 99; the stored context was changed`,
    );
    expect(result.stderr).toMatch(/^REPLAY_MISMATCH: Release rel_\S+ does not replay on core /);
  });
});
