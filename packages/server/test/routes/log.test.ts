import { createHash, createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  cosignatureLine,
  NOTE_COSIGNATURE_V1,
  verifierKeyString,
  verifyConsistency,
  verifyInclusion,
} from '@lockgate/core';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { LOG_WITNESSES_FILE } from '../../src/features/log/log-service.ts';
import { createTestApp } from '../helpers/test-app.ts';
import type { TestApp } from '../helpers/test-app.ts';
import { DIALECTS, describeDialect } from '../helpers/test-database.ts';

/*
 * An independent reading of C2SP signed-note, written from the specification text for this
 * test: the note text ends at the blank line; each signature line is U+2014, a space, the key
 * name, a space and base64(4-byte key id || 64-byte Ed25519 signature over the text); a
 * verifier key is name+hex key id+base64(0x01 || 32-byte key), and the key id is the first 4
 * bytes of SHA-256(name || "\n" || 0x01 || key).
 */
function independentNoteCheck(note: string, vkey: string): { text: string; lines: string[] } {
  const [name, idHex, ...rest] = vkey.split('+');
  const material = rest.join('+'); // base64 may hold +
  if (name === undefined || idHex === undefined || material === '') throw new Error('vkey');
  const keyBytes = Buffer.from(material, 'base64');
  if (keyBytes[0] !== 1 || keyBytes.length !== 33) throw new Error('not an Ed25519 note key');
  const expectedId = createHash('sha256')
    .update(Buffer.concat([Buffer.from(name, 'utf8'), Buffer.from([0x0a]), keyBytes]))
    .digest()
    .subarray(0, 4);
  if (expectedId.toString('hex') !== idHex) throw new Error('key id does not match');
  const spki = Buffer.concat([
    Buffer.from('302a300506032b6570032100', 'hex'),
    keyBytes.subarray(1),
  ]);
  const publicKey = createPublicKey({ key: spki, format: 'der', type: 'spki' });
  const cut = note.lastIndexOf('\n\n');
  const text = note.slice(0, cut + 1);
  const lines = note
    .slice(cut + 2)
    .split('\n')
    .filter((line) => line !== '');
  const mine = lines.filter((line) => line.startsWith(`\u2014 ${name} `));
  if (mine.length !== 1) throw new Error('no signature line by the log');
  const sig = Buffer.from(mine[0]!.split(' ')[2]!, 'base64');
  if (!sig.subarray(0, 4).equals(expectedId)) throw new Error('wrong key id on the line');
  if (!verify(null, Buffer.from(text, 'utf8'), publicKey, sig.subarray(4))) {
    throw new Error('signature does not verify');
  }
  return { text, lines };
}

interface KeyView {
  origin: string;
  verifierKey: string;
  keyId: string;
  publicKeyPem: string;
}
interface EntryView {
  seq: number;
  leafIndex: number;
  leafHash: string;
  envelope: { payload: string; payloadType: string; signatures: { keyid: string; sig: string }[] };
}
interface InclusionView {
  seq: number;
  treeSize: number;
  leafHash: string;
  rootHash: string;
  proof: string[];
}

const b = (text: string): Buffer => Buffer.from(text, 'base64');

for (const dialect of DIALECTS) {
  describeDialect(dialect, 'log routes', () => {
    let t: TestApp;

    beforeEach(async () => {
      t = await createTestApp(dialect);
    });

    afterEach(async () => {
      await t.close();
    });

    const get = (url: string, headers: Record<string, string> = t.auth) =>
      t.app.inject({ method: 'GET', url: `/api/v1${url}`, headers });

    /** Each created token appends one decision record. */
    const addRecords = async (count: number, prefix = 'op'): Promise<void> => {
      for (let i = 0; i < count; i++) {
        const response = await t.app.inject({
          method: 'POST',
          url: '/api/v1/tokens',
          headers: t.auth,
          payload: { name: `${prefix}-${i}`, role: 'operator' },
        });
        expect(response.statusCode, response.body).toBe(201);
      }
    };

    const checkpointOf = async (): Promise<{ note: string; size: number; root: Buffer }> => {
      const response = await get('/log/checkpoint');
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-type']).toMatch(/^text\/plain/);
      const key = (await get('/log/key')).json<KeyView>();
      const { text } = independentNoteCheck(response.body, key.verifierKey);
      const [origin, size, root] = text.split('\n');
      expect(origin).toBe(key.origin);
      return { note: response.body, size: Number(size), root: b(root!) };
    };

    it('serves a checkpoint that an independent signed-note check accepts, covering every record', async () => {
      await addRecords(5);
      const records = await t.stores.decisions.list({ limit: 1000 });
      expect(records.length).toBeGreaterThanOrEqual(5);
      const checkpoint = await checkpointOf();
      expect(checkpoint.size).toBe(records.length);
    });

    it('serves each record as a DSSE envelope signed by the log key, included under the checkpoint root', async () => {
      await addRecords(6);
      const checkpoint = await checkpointOf();
      const key = (await get('/log/key')).json<KeyView>();
      const publicKey = createPublicKey(key.publicKeyPem);
      for (let seq = 1; seq <= checkpoint.size; seq++) {
        const entry = (await get(`/log/entries/${seq}`)).json<EntryView>();
        expect(entry.leafIndex).toBe(seq - 1);
        const payload = b(entry.envelope.payload);
        const type = entry.envelope.payloadType;
        expect(type).toBe('application/vnd.in-toto+json');
        const pae = Buffer.concat([
          Buffer.from(`DSSEv1 ${Buffer.byteLength(type)} ${type} ${payload.length} `),
          payload,
        ]);
        const [signature] = entry.envelope.signatures;
        expect(signature?.keyid).toBe(key.keyId);
        expect(verify(null, pae, publicKey, b(signature!.sig))).toBe(true);
        const statement = JSON.parse(payload.toString('utf8')) as {
          _type: string;
          predicate: { seq: number };
        };
        expect(statement._type).toBe('https://in-toto.io/Statement/v1');
        expect(statement.predicate.seq).toBe(seq);
        const leaf = createHash('sha256')
          .update(Buffer.from([0]))
          .update(payload)
          .digest();
        expect(entry.leafHash).toBe(leaf.toString('base64'));
        const proof = (
          await get(`/log/proofs/inclusion?seq=${seq}&size=${checkpoint.size}`)
        ).json<InclusionView>();
        expect(proof.rootHash).toBe(checkpoint.root.toString('base64'));
        expect(
          verifyInclusion(seq - 1, checkpoint.size, leaf, proof.proof.map(b), checkpoint.root),
        ).toBe(true);
      }
    });

    it('signs a new checkpoint after the tree grew, consistent with the one before', async () => {
      await addRecords(3);
      const first = await checkpointOf();
      await addRecords(4, 'more');
      const second = await checkpointOf();
      expect(second.size).toBeGreaterThan(first.size);
      const response = await get(`/log/proofs/consistency?from=${first.size}&to=${second.size}`);
      const { proof } = response.json<{ proof: string[] }>();
      expect(
        verifyConsistency(first.size, second.size, first.root, second.root, proof.map(b)),
      ).toBe(true);
      expect(
        verifyConsistency(first.size, second.size, second.root, second.root, proof.map(b)),
      ).toBe(false);
    });

    it('keeps a cosignature by a configured witness and serves it on the checkpoint', async () => {
      await addRecords(2);
      const witness = generateKeyPairSync('ed25519').privateKey;
      const stranger = generateKeyPairSync('ed25519').privateKey;
      await writeFile(
        join(t.config.dataDir, LOG_WITNESSES_FILE),
        `# witnesses\n${verifierKeyString('witness.test/w1', witness, NOTE_COSIGNATURE_V1)}\n`,
      );
      const checkpoint = await checkpointOf();
      const body = checkpoint.note.slice(0, checkpoint.note.lastIndexOf('\n\n') + 1);
      const post = (signer: KeyObject, text = body) =>
        t.app.inject({
          method: 'POST',
          url: '/api/v1/log/cosignatures',
          headers: t.auth,
          payload: {
            checkpoint: text,
            cosignature: cosignatureLine(text, 'witness.test/w1', signer, 1_767_225_600),
          },
        });
      const accepted = await post(witness);
      expect(accepted.statusCode, accepted.body).toBe(201);
      expect(accepted.json()).toEqual({ size: checkpoint.size, witness: 'witness.test/w1' });
      const refused = await post(stranger);
      expect(refused.statusCode).toBe(422);
      expect(refused.json()).toMatchObject({ code: 'COSIGNATURE_INVALID' });
      const forged = body.replace(/\n[^\n]+\n$/, `\n${Buffer.alloc(32, 7).toString('base64')}\n`);
      const notOurs = await post(witness, forged);
      expect(notOurs.json()).toMatchObject({ code: 'COSIGNATURE_INVALID' });
      const served = (await get('/log/checkpoint')).body;
      const { lines } = independentNoteCheck(
        served,
        (await get('/log/key')).json<KeyView>().verifierKey,
      );
      expect(lines.filter((line) => line.startsWith('\u2014 witness.test/w1 '))).toHaveLength(1);
    });

    it('answers a seq or size beyond the log with a stable code', async () => {
      await addRecords(1);
      const size = (await checkpointOf()).size;
      expect((await get(`/log/entries/${size + 1}`)).json()).toMatchObject({
        code: 'LOG_ENTRY_NOT_FOUND',
      });
      const beyond = await get(`/log/proofs/inclusion?seq=1&size=${size + 5}`);
      expect(beyond.statusCode).toBe(400);
      expect(beyond.json()).toMatchObject({ code: 'LOG_SIZE_INVALID' });
      const reversed = await get(`/log/proofs/consistency?from=${size + 1}&to=1`);
      expect(reversed.json()).toMatchObject({ code: 'LOG_SIZE_INVALID' });
      const zero = await get('/log/proofs/inclusion?seq=0');
      expect(zero.json()).toMatchObject({ code: 'VALIDATION_FAILED' });
    });

    it('refuses agent tokens: the log is for admins and operators', async () => {
      const response = await t.app.inject({
        method: 'POST',
        url: '/api/v1/tokens',
        headers: t.auth,
        payload: { name: 'edge', role: 'agent', scope: { targets: ['*'], channels: ['*/*'] } },
      });
      expect(response.statusCode, response.body).toBe(201);
      const secret = response.json<{ secret: string }>().secret;
      const refused = await get('/log/checkpoint', { authorization: `Bearer ${secret}` });
      expect(refused.statusCode).toBe(403);
    });
  });
}
