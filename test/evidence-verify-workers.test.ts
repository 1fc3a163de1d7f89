import { recordEnvelopePath } from '@lockgate/core';
import { describe, expect, it } from 'vitest';
import { makeBundle } from '../bench/lib/evidence-bundle.ts';
import { verifyBundleFiles } from '../packages/cli/src/commands/evidence-command.ts';

/**
 * `lockgate evidence verify` spreads a large bundle's records over threads (the main thread
 * takes the first share, workers the rest): the answer is the one thread's answer, and a bad
 * record is refused wherever it falls.
 */
describe('evidence verify over several threads', () => {
  const RECORDS = 700;

  it('gives the same report with two threads as with one', async () => {
    const { files, trust } = makeBundle(RECORDS);
    const one = await verifyBundleFiles(files, trust, 1);
    const two = await verifyBundleFiles(files, trust, 2);
    expect(two).toEqual(one);
    expect(one.records).toBe(RECORDS + 1);
  });

  it.each([
    ['the main thread', 5],
    ['a worker', 600],
  ])('refuses a record with a broken signature checked by %s', async (_who, seq) => {
    const { files, trust } = makeBundle(RECORDS);
    const path = recordEnvelopePath(seq);
    const text = Buffer.from(files.get(path) ?? []).toString('utf8');
    const sig = (JSON.parse(text) as { signatures: { sig: string }[] }).signatures[0]?.sig ?? '';
    expect(sig).not.toBe('');
    // another valid base64 signature of the same length: the bytes stay JCS, the check fails
    const flipped = (sig.startsWith('A') ? 'B' : 'A') + sig.slice(1);
    files.set(path, Buffer.from(text.replace(sig, flipped)));
    await expect(verifyBundleFiles(files, trust, 2)).rejects.toMatchObject({
      code: 'RECORD_SIGNATURE_INVALID',
    });
  });
});
