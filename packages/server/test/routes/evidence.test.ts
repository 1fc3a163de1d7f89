import {
  contextPath,
  digestOf,
  LockgateError,
  parsePublicKey,
  parseVerifierKey,
  readEvidenceBundle,
  verifyEvidenceBundle,
} from '@lockgate/core';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type {
  EvidenceCheckpoint,
  ReleaseEvidence,
} from '../../src/features/evidence/evidence-service.ts';
import type { DecisionRecord } from '../../src/features/decisions/decision-store.ts';
import { DIALECTS, describeDialect } from '../helpers/test-database.ts';
import { createFleetWorld, createRelease, getRelease } from '../helpers/release-world.ts';
import type { World, Fleet } from '../helpers/release-world.ts';

const GATE = {
  metric: 'error_rate',
  op: '<=',
  threshold: 0.05,
  windowSeconds: 300,
  minTargets: 1,
  minSamples: 50,
};
const TWO_STAGES = [
  { name: 'canary', percent: 25, soakSeconds: 600, gates: [GATE] },
  { name: 'all', percent: 100, soakSeconds: 600, gates: [GATE] },
];

async function run(w: World, fleet: Fleet, n: number): Promise<void> {
  for (let i = 0; i < n; i += 1) {
    await w.t.services.controller.tick();
    await fleet.step();
    w.clock.advance(60);
  }
}

for (const dialect of DIALECTS) {
  describeDialect(dialect, 'release evidence', () => {
    let w: World;
    let fleet: Fleet;

    beforeEach(async () => {
      ({ w, fleet } = await createFleetWorld(dialect, { name: 'two', stages: TWO_STAGES }, 12));
    });

    afterEach(async () => {
      await w.close();
    });

    it('shows a running release as pending and refuses its bundle until it is sealed', async () => {
      const created = await createRelease(w, { pack: w.packs.v2.digest, plan: 'two' });
      await run(w, fleet, 3);
      const got = await w.call<ReleaseEvidence>('GET', `/releases/${created.id}/evidence`);
      expect(got.status).toBe(200);
      expect(got.body).toMatchObject({
        release: created.id,
        state: 'rolling',
        sealed: false,
        seal: null,
      });
      const names = got.body.checkpoints.map((c) => [c.name, c.status]);
      expect(names).toEqual([
        ['requested', 'sealed'],
        ['verified', 'sealed'],
        ['approvals', 'not_required'],
        ['stage 0', 'sealed'],
        ['stage 1', 'not_reached'],
        ['end', 'not_reached'],
        ['seal', 'not_reached'],
      ]);
      expect(got.body.pending).toEqual(['stage 1', 'end', 'seal']);
      const bundle = await w.call('GET', `/releases/${created.id}/evidence/bundle`);
      expect(bundle.status).toBe(409);
      expect(bundle.body).toMatchObject({ code: 'RELEASE_NOT_SEALED' });
      const unknown = await w.call('GET', '/releases/rel_nope/evidence');
      expect(unknown.status).toBe(404);
    });

    it('attests each stage, seals the ended release and exports a bundle that verifies offline', async () => {
      const created = await createRelease(w, { pack: w.packs.v2.digest, plan: 'two' });
      await run(w, fleet, 25);
      expect((await getRelease(w, created.id)).state).toBe('completed');

      const all = (await w.call<{ items: DecisionRecord[] }>('GET', '/decisions?limit=1000')).body
        .items;
      const mine = all.filter((r) => r.release === created.id);
      expect(mine.filter((r) => r.kind === 'stage.attested').map((r) => r.stageIndex)).toEqual([
        0, 1,
      ]);
      const seal = mine.at(-1);
      expect(seal).toMatchObject({ kind: 'release.sealed', verdict: 'sealed' });
      expect(seal?.inputs['records']).toEqual(
        mine.slice(0, -1).map((r) => ({ seq: r.seq, digest: r.digest })),
      );
      // the release timeline stays the list of its state changes
      const timeline = await w.call<{ items: DecisionRecord[] }>(
        'GET',
        `/releases/${created.id}/timeline`,
      );
      expect(timeline.body.items.map((r) => r.kind)).not.toContain('release.sealed');

      const evidence = (await w.call<ReleaseEvidence>('GET', `/releases/${created.id}/evidence`))
        .body;
      expect(evidence).toMatchObject({ state: 'completed', sealed: true, pending: [] });
      expect(evidence.seal).toMatchObject({ seq: seal?.seq, count: mine.length - 1 });
      const stage0 = evidence.checkpoints.find((c) => c.name === 'stage 0') as EvidenceCheckpoint;
      expect(stage0.gates).toEqual([
        expect.objectContaining({ metric: 'error_rate', verdict: 'pass', threshold: 0.05 }),
      ]);
      // the attestation holds its targets by digest; the bundle carries the list (below)
      expect(stage0.attestation).toMatchObject({
        pack: w.packs.v2.digest,
        stage: 'canary',
        summary: { reporting: 12 },
      });
      const targets = stage0.attestation?.['targets'] as { digest: string; length: number };
      expect(targets.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(targets.length).toBe(12);
      expect(evidence.checkpoints.find((c) => c.name === 'end')).toMatchObject({
        status: 'sealed',
        outcome: 'completed',
      });

      const response = await w.t.app.inject({
        method: 'GET',
        url: `/api/v1/releases/${created.id}/evidence/bundle`,
        headers: w.t.auth,
      });
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-type']).toBe('application/gzip');
      const files = await readEvidenceBundle(response.rawPayload);
      const key = (await w.call<{ verifierKey: string }>('GET', '/log/key')).body;
      const trusted = (await w.call<{ items: { publicKeyPem: string }[] }>('GET', '/trust/keys'))
        .body.items;
      const trust = {
        logKey: parseVerifierKey(key.verifierKey),
        buildKeys: trusted.map((k) => parsePublicKey(k.publicKeyPem)),
      };
      const report = verifyEvidenceBundle(files, trust);
      expect(report).toMatchObject({
        release: created.id,
        records: mine.length,
        outcome: 'completed',
        pack: w.packs.v2.digest,
      });
      expect(report.packs.map((p) => p.digest).sort()).toEqual(
        [w.packs.v1.digest, w.packs.v2.digest].sort(),
      );
      expect(files.has('keys/log.vkey')).toBe(true);
      const list = files.get(contextPath(targets.digest));
      expect(list === undefined ? null : digestOf(list)).toBe(targets.digest);
      const attested = JSON.parse(Buffer.from(list ?? []).toString()) as { activePack: string }[];
      expect(attested).toHaveLength(12);
      expect(attested.filter((t) => t.activePack === w.packs.v2.digest).length).toBeGreaterThan(0);

      // the server's envelope of a record, edited, no longer verifies
      const path = `records/${String(mine[1]?.seq).padStart(10, '0')}.dsse.json`;
      const edited = new Map(files);
      const envelope = JSON.parse(Buffer.from(files.get(path) ?? []).toString()) as {
        payload: string;
      };
      const statement = Buffer.from(envelope.payload, 'base64')
        .toString()
        .replace('"actor":"controller"', '"actor":"mallory"');
      edited.set(
        path,
        Buffer.from(
          JSON.stringify({ ...envelope, payload: Buffer.from(statement).toString('base64') }),
        ),
      );
      let code = 'OK';
      try {
        verifyEvidenceBundle(edited, trust);
      } catch (error) {
        code = error instanceof LockgateError ? error.code : 'other';
      }
      expect(code).toBe('RECORD_SIGNATURE_INVALID');
    });
  });
}
