import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  appendLeaf,
  consistencyPlan,
  consistencyProof,
  EMPTY_RANGE,
  emptyRoot,
  inclusionPlan,
  inclusionProof,
  leafHash,
  planNodes,
  rangeRoot,
  rootOfLeafHashes,
  treeLookup,
  verifyConsistency,
  verifyInclusion,
} from '../../src/index.ts';
import type { CompactRange } from '../../src/index.ts';

/*
 * Reference vectors of RFC 6962 trees (the leaf inputs, every complete subtree hash and every
 * root of sizes 0-8, and proofs), as published with the RFC 6962 reference implementations
 * (transparency-dev/merkle testonly data, certificate-transparency-go merkletree tests).
 */
const hex = (text: string): Buffer => Buffer.from(text, 'hex');
const LEAF_INPUTS = [
  '',
  '00',
  '10',
  '2021',
  '3031',
  '40414243',
  '5051525354555657',
  '606162636465666768696a6b6c6d6e6f',
].map(hex);

const NODE_HASHES: readonly (readonly string[])[] = [
  [
    '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
    '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
    '0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7',
    '07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7',
    'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    '4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658',
    'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f',
    '46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1',
  ],
  [
    'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
    '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
    '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
    'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
  ],
  [
    'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
  ],
  ['5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328'],
];

const ROOTS = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];

const INCLUSION_VECTORS: readonly { index: number; size: number; proof: string[] }[] = [
  { index: 0, size: 1, proof: [] },
  { index: 0, size: 2, proof: [NODE_HASHES[0]![1]!] },
  { index: 1, size: 2, proof: [NODE_HASHES[0]![0]!] },
  { index: 2, size: 3, proof: [NODE_HASHES[1]![0]!] },
  { index: 1, size: 5, proof: [NODE_HASHES[0]![0]!, NODE_HASHES[1]![1]!, NODE_HASHES[0]![4]!] },
  { index: 0, size: 8, proof: [NODE_HASHES[0]![1]!, NODE_HASHES[1]![1]!, NODE_HASHES[2]![1]!] },
  { index: 5, size: 8, proof: [NODE_HASHES[0]![4]!, NODE_HASHES[1]![3]!, NODE_HASHES[2]![0]!] },
];

const CONSISTENCY_VECTORS: readonly { first: number; second: number; proof: string[] }[] = [
  { first: 1, second: 1, proof: [] },
  { first: 1, second: 8, proof: [NODE_HASHES[0]![1]!, NODE_HASHES[1]![1]!, NODE_HASHES[2]![1]!] },
  { first: 2, second: 5, proof: [NODE_HASHES[1]![1]!, NODE_HASHES[0]![4]!] },
  { first: 6, second: 8, proof: [NODE_HASHES[1]![2]!, NODE_HASHES[1]![3]!, NODE_HASHES[2]![0]!] },
];

// The RFC 9162 §2.1 definitions, written out directly over leaf inputs, as an oracle.
const sha = (...parts: Uint8Array[]): Buffer => {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest();
};
const split = (n: number): number => 2 ** Math.ceil(Math.log2(n) - 1);
function mth(d: readonly Uint8Array[]): Buffer {
  if (d.length === 0) return sha();
  if (d.length === 1) return sha(Uint8Array.of(0), d[0]!);
  const k = split(d.length);
  return sha(Uint8Array.of(1), mth(d.slice(0, k)), mth(d.slice(k)));
}
function path(m: number, d: readonly Uint8Array[]): Buffer[] {
  if (d.length === 1) return [];
  const k = split(d.length);
  return m < k
    ? [...path(m, d.slice(0, k)), mth(d.slice(k))]
    : [...path(m - k, d.slice(k)), mth(d.slice(0, k))];
}
function subproof(m: number, d: readonly Uint8Array[], b: boolean): Buffer[] {
  if (m === d.length) return b ? [] : [mth(d)];
  const k = split(d.length);
  return m <= k
    ? [...subproof(m, d.slice(0, k), b), mth(d.slice(k))]
    : [...subproof(m - k, d.slice(k), false), mth(d.slice(0, k))];
}

const hexes = (list: readonly Uint8Array[]): string[] =>
  list.map((h) => Buffer.from(h).toString('hex'));
const leafHashesOf = (inputs: readonly Uint8Array[]): Uint8Array[] => inputs.map(leafHash);
const inputsOf = (n: number): Buffer[] =>
  Array.from({ length: n }, (_, i) => Buffer.from(`leaf ${i}`));

describe('RFC 9162 Merkle tree hashing', () => {
  it('gives the reference leaf hashes and complete subtree hashes', () => {
    const lookup = treeLookup(leafHashesOf(LEAF_INPUTS));
    for (const [level, hashes] of NODE_HASHES.entries()) {
      for (const [index, expected] of hashes.entries()) {
        expect(Buffer.from(lookup({ level, index })).toString('hex')).toBe(expected);
      }
    }
  });

  it('gives the reference root for every size from 0 to 8', () => {
    for (let size = 0; size <= 8; size++) {
      const root = rootOfLeafHashes(leafHashesOf(LEAF_INPUTS.slice(0, size)));
      expect(Buffer.from(root).toString('hex')).toBe(ROOTS[size]);
    }
    expect(Buffer.from(emptyRoot()).toString('hex')).toBe(ROOTS[0]);
  });

  it('keeps a compact range whose root is the reference root after every append', () => {
    let range: CompactRange = EMPTY_RANGE;
    const created = new Map<string, string>();
    for (const [i, input] of LEAF_INPUTS.entries()) {
      const next = appendLeaf(range, leafHash(input));
      range = next.range;
      for (const node of next.created) {
        created.set(`${node.level}/${node.index}`, Buffer.from(node.hash).toString('hex'));
      }
      expect(Buffer.from(rangeRoot(range)).toString('hex')).toBe(ROOTS[i + 1]);
    }
    // every complete subtree was created once, with the reference hash
    for (const [level, hashes] of NODE_HASHES.entries()) {
      for (const [index, expected] of hashes.entries()) {
        expect(created.get(`${level}/${index}`)).toBe(expected);
      }
    }
  });
});

describe('inclusion proofs', () => {
  const leaves = leafHashesOf(LEAF_INPUTS);

  it('match the reference vectors and verify against the reference roots', () => {
    for (const { index, size, proof } of INCLUSION_VECTORS) {
      const generated = inclusionProof(leaves, index, size);
      expect(hexes(generated)).toEqual(proof);
      expect(verifyInclusion(index, size, leaves[index]!, generated, hex(ROOTS[size]!))).toBe(true);
    }
  });

  it('match the RFC definition for every leaf of every size from 1 to 8', () => {
    for (let size = 1; size <= 8; size++) {
      for (let index = 0; index < size; index++) {
        const generated = inclusionProof(leaves, index, size);
        expect(hexes(generated)).toEqual(hexes(path(index, LEAF_INPUTS.slice(0, size))));
        expect(verifyInclusion(index, size, leaves[index]!, generated, hex(ROOTS[size]!))).toBe(
          true,
        );
      }
    }
  });

  it('do not verify for another leaf, index, size or root', () => {
    const proof = inclusionProof(leaves, 5, 8);
    const root = hex(ROOTS[8]!);
    expect(verifyInclusion(5, 8, leaves[4]!, proof, root)).toBe(false);
    expect(verifyInclusion(4, 8, leaves[5]!, proof, root)).toBe(false);
    expect(verifyInclusion(5, 7, leaves[5]!, proof, hex(ROOTS[7]!))).toBe(false);
    expect(verifyInclusion(5, 8, leaves[5]!, proof, hex(ROOTS[7]!))).toBe(false);
    expect(verifyInclusion(5, 8, leaves[5]!, proof.slice(1), root)).toBe(false);
    expect(verifyInclusion(5, 8, leaves[5]!, [...proof, proof[0]!], root)).toBe(false);
    expect(verifyInclusion(8, 8, leaves[5]!, proof, root)).toBe(false);
  });

  it('match the RFC definition in large trees', () => {
    for (const size of [1000, 1024, 1025, 4097]) {
      const inputs = inputsOf(size);
      const hashes = leafHashesOf(inputs);
      const root = mth(inputs);
      expect(Buffer.from(rootOfLeafHashes(hashes)).equals(root)).toBe(true);
      for (const index of [0, 1, size >> 1, size - 2, size - 1]) {
        const generated = inclusionProof(hashes, index, size);
        expect(hexes(generated)).toEqual(hexes(path(index, inputs)));
        expect(verifyInclusion(index, size, hashes[index]!, generated, root)).toBe(true);
      }
    }
  });
});

describe('consistency proofs', () => {
  const leaves = leafHashesOf(LEAF_INPUTS);

  it('match the reference vectors and verify between the reference roots', () => {
    for (const { first, second, proof } of CONSISTENCY_VECTORS) {
      const generated = consistencyProof(leaves, first, second);
      expect(hexes(generated)).toEqual(proof);
      const ok = verifyConsistency(
        first,
        second,
        hex(ROOTS[first]!),
        hex(ROOTS[second]!),
        generated,
      );
      expect(ok).toBe(true);
    }
  });

  it('match the RFC definition for every pair of sizes from 1 to 8', () => {
    for (let second = 1; second <= 8; second++) {
      for (let first = 1; first <= second; first++) {
        const generated = consistencyProof(leaves, first, second);
        const expected =
          first === second ? [] : subproof(first, LEAF_INPUTS.slice(0, second), true);
        expect(hexes(generated)).toEqual(hexes(expected));
        const roots = [hex(ROOTS[first]!), hex(ROOTS[second]!)] as const;
        expect(verifyConsistency(first, second, roots[0], roots[1], generated)).toBe(true);
      }
    }
  });

  it('do not verify against a root of another tree', () => {
    const proof = consistencyProof(leaves, 3, 7);
    expect(verifyConsistency(3, 7, hex(ROOTS[3]!), hex(ROOTS[7]!), proof)).toBe(true);
    expect(verifyConsistency(3, 7, hex(ROOTS[4]!), hex(ROOTS[7]!), proof)).toBe(false);
    expect(verifyConsistency(3, 7, hex(ROOTS[3]!), hex(ROOTS[8]!), proof)).toBe(false);
    expect(verifyConsistency(3, 8, hex(ROOTS[3]!), hex(ROOTS[8]!), proof)).toBe(false);
    expect(verifyConsistency(7, 3, hex(ROOTS[7]!), hex(ROOTS[3]!), proof)).toBe(false);
    expect(verifyConsistency(4, 4, hex(ROOTS[4]!), hex(ROOTS[5]!), [])).toBe(false);
  });

  it('match the RFC definition in large trees', () => {
    const inputs = inputsOf(3000);
    const hashes = leafHashesOf(inputs);
    for (const [first, second] of [
      [1, 3000],
      [1024, 3000],
      [1023, 2049],
      [2999, 3000],
      [777, 1777],
    ] as const) {
      const generated = consistencyProof(hashes, first, second);
      expect(hexes(generated)).toEqual(hexes(subproof(first, inputs.slice(0, second), true)));
      const ok = verifyConsistency(
        first,
        second,
        mth(inputs.slice(0, first)),
        mth(inputs.slice(0, second)),
        generated,
      );
      expect(ok).toBe(true);
    }
  });
});

describe('proof plans', () => {
  it('read O(log n) stored nodes for any leaf of a million-leaf tree', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 40 }), fc.nat(), (size, seed) => {
        const index = seed % size;
        const reads = planNodes(inclusionPlan(index, size)).length;
        expect(reads).toBeLessThanOrEqual(2 * Math.ceil(Math.log2(size + 1)) + 1);
      }),
    );
  });

  it('read O(log n) stored nodes for any consistency proof', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 40 }), fc.nat(), (second, seed) => {
        const first = 1 + (seed % second);
        const reads = planNodes(consistencyPlan(first, second)).length;
        expect(reads).toBeLessThanOrEqual(2 * Math.ceil(Math.log2(second + 1)) + 1);
      }),
    );
  });

  it('refuse a leaf index at or beyond the size with LOG_SIZE_INVALID', () => {
    expect(() => inclusionPlan(3, 3)).toThrow(
      expect.objectContaining({ code: 'LOG_SIZE_INVALID' }),
    );
    expect(() => consistencyPlan(4, 3)).toThrow(
      expect.objectContaining({ code: 'LOG_SIZE_INVALID' }),
    );
    expect(() => consistencyPlan(0, 3)).toThrow(
      expect.objectContaining({ code: 'LOG_SIZE_INVALID' }),
    );
  });
});

describe('properties', () => {
  const tree = fc
    .integer({ min: 1, max: 200 })
    .map((size) => ({ size, inputs: inputsOf(size), hashes: leafHashesOf(inputsOf(size)) }));

  it('every inclusion proof verifies, and flipping any byte of it fails', () => {
    fc.assert(
      fc.property(tree, fc.nat(), fc.nat(), fc.integer({ min: 1, max: 255 }), (t, i, at, bit) => {
        const index = i % t.size;
        const proof = inclusionProof(t.hashes, index);
        const root = rootOfLeafHashes(t.hashes);
        expect(verifyInclusion(index, t.size, t.hashes[index]!, proof, root)).toBe(true);
        const total = (proof.length + 2) * 32;
        const flip = at % total;
        const copy = proof.map((p) => Buffer.from(p));
        const leaf = Buffer.from(t.hashes[index]!);
        const rootCopy = Buffer.from(root);
        const target = flip < 32 ? leaf : flip < 64 ? rootCopy : copy[Math.floor(flip / 32) - 2]!;
        target[flip % 32]! ^= bit;
        expect(verifyInclusion(index, t.size, leaf, copy, rootCopy)).toBe(false);
      }),
      { numRuns: 200 },
    );
  });

  it('every consistency proof verifies, and flipping any byte of it fails', () => {
    fc.assert(
      fc.property(tree, fc.nat(), fc.nat(), fc.integer({ min: 1, max: 255 }), (t, f, at, bit) => {
        const first = 1 + (f % t.size);
        const proof = consistencyProof(t.hashes, first);
        const r1 = rootOfLeafHashes(t.hashes.slice(0, first));
        const r2 = rootOfLeafHashes(t.hashes);
        expect(verifyConsistency(first, t.size, r1, r2, proof)).toBe(true);
        const copies = [Buffer.from(r1), Buffer.from(r2), ...proof.map((p) => Buffer.from(p))];
        const flip = at % (copies.length * 32);
        copies[Math.floor(flip / 32)]![flip % 32]! ^= bit;
        const [c1, c2, ...cp] = copies as [Buffer, Buffer, ...Buffer[]];
        // between equal sizes, the proof is empty and only the two roots can change
        expect(verifyConsistency(first, t.size, c1, c2, cp)).toBe(false);
      }),
      { numRuns: 200 },
    );
  });

  it('the compact range root equals the RFC root after any number of appends', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 300 }), (size) => {
        let range = EMPTY_RANGE;
        const inputs = inputsOf(size);
        for (const input of inputs) range = appendLeaf(range, leafHash(input)).range;
        expect(Buffer.from(rangeRoot(range)).equals(mth(inputs))).toBe(true);
      }),
      { numRuns: 50 },
    );
  });
});
