/**
 * RFC 9162 §2.1 Merkle tree hashing and proofs.
 *
 * Leaf hash = SHA-256(0x00 || bytes), node hash = SHA-256(0x01 || left || right); the root of
 * n leaves splits at the largest power of two smaller than n. Leaf i of a tree of size n sits in
 * the perfect subtrees (level, index) with index = i >> level.
 *
 * Proof generation is split in two so a store answers in O(log n) reads: a *plan* names, for
 * each proof element, the perfect subtrees (level, index) whose hashes fold into it; the caller
 * reads those hashes from wherever it keeps them and `resolvePlan` folds them. Every range a plan
 * names is aligned (it starts at a multiple of a power of two at least its size), so it splits
 * into perfect subtrees along the binary digits of its size, largest first, and its RFC hash is
 * the fold of those from the right: H(n0, H(n1, … nk)).
 *
 * Verification follows the RFC 9162 §2.1.3.2 and §2.1.4.2 algorithms and never throws for a
 * proof that does not verify: it returns false.
 */
import { createHash, hash } from 'node:crypto';
import { LockgateError } from '../errors.ts';

export const HASH_BYTES = 32;

/** A perfect subtree: the 2^level leaves from index·2^level on. Level 0 is a leaf. */
export interface NodeRef {
  readonly level: number;
  readonly index: number;
}

/** For each proof element, in proof order, the perfect subtrees that fold into it. */
export type ProofPlan = readonly (readonly NodeRef[])[];

export function leafHash(bytes: Uint8Array): Uint8Array {
  return createHash('sha256').update(LEAF_PREFIX).update(bytes).digest();
}

/** One-shot hashing of a 65-byte buffer: twice as fast as createHash for this small input. */
const NODE_INPUT = Buffer.alloc(1 + 2 * HASH_BYTES);
NODE_INPUT[0] = 1;

export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  if (left.length !== HASH_BYTES || right.length !== HASH_BYTES) {
    return createHash('sha256').update(NODE_PREFIX).update(left).update(right).digest();
  }
  NODE_INPUT.set(left, 1);
  NODE_INPUT.set(right, 1 + HASH_BYTES);
  return hash('sha256', NODE_INPUT, 'buffer');
}

/** The root of the empty tree: SHA-256 of no bytes. */
export function emptyRoot(): Uint8Array {
  return createHash('sha256').digest();
}

/** The RFC root of a list of leaf hashes (not leaf inputs). */
export function rootOfLeafHashes(leafHashes: readonly Uint8Array[]): Uint8Array {
  if (leafHashes.length === 0) return emptyRoot();
  const plan = rangeNodes(0, leafHashes.length);
  const lookup = treeLookup(leafHashes);
  return foldNodes(plan.map(lookup));
}

/**
 * The perfect subtrees that make up the aligned range [begin, end), largest first. Throws
 * LOG_SIZE_INVALID for an empty or unaligned range.
 */
export function rangeNodes(begin: number, end: number): NodeRef[] {
  checkSize(begin, 'begin');
  checkSize(end, 'end');
  if (end <= begin) throw sizeError('An empty range has no nodes.', { begin, end });
  if (begin % bitCeil(end - begin) !== 0 && begin !== 0) {
    throw sizeError('The range is not aligned to a subtree boundary.', { begin, end });
  }
  const nodes: NodeRef[] = [];
  let at = begin;
  let rest = end - begin;
  while (rest > 0) {
    const { power, level } = highestPower(rest);
    nodes.push({ level, index: at / power });
    at += power;
    rest -= power;
  }
  return nodes;
}

/** The plan of the root of a tree of `size` leaves: one element. */
export function rootPlan(size: number): ProofPlan {
  checkPositive(size, 'size');
  return [rangeNodes(0, size)];
}

/** RFC 9162 §2.1.3.1 PATH(index, D[0:size]) as a plan, leaf side first. */
export function inclusionPlan(index: number, size: number): ProofPlan {
  checkPositive(size, 'size');
  checkSize(index, 'index');
  if (index >= size) {
    throw sizeError('The leaf index is not below the tree size.', { index, size });
  }
  const plan: NodeRef[][] = [];
  let lo = 0;
  let hi = size;
  // Walk from the root down; each step's sibling goes in front of the ones found above it.
  while (hi - lo > 1) {
    const k = splitOf(hi - lo);
    if (index < lo + k) {
      plan.unshift(rangeNodes(lo + k, hi));
      hi = lo + k;
    } else {
      plan.unshift(rangeNodes(lo, lo + k));
      lo += k;
    }
  }
  return plan;
}

/** RFC 9162 §2.1.4.1 PROOF(first, D[0:second]) as a plan. Empty when first equals second. */
export function consistencyPlan(first: number, second: number): ProofPlan {
  checkPositive(first, 'first');
  checkPositive(second, 'second');
  if (first > second) {
    throw sizeError('The first tree size is larger than the second.', { first, second });
  }
  const plan: NodeRef[][] = [];
  let m = first;
  let lo = 0;
  let hi = second;
  let startsAtFirstRoot = true;
  while (m !== hi - lo) {
    const k = splitOf(hi - lo);
    if (m <= k) {
      plan.unshift(rangeNodes(lo + k, hi));
      hi = lo + k;
    } else {
      plan.unshift(rangeNodes(lo, lo + k));
      m -= k;
      lo += k;
      startsAtFirstRoot = false;
    }
  }
  if (!startsAtFirstRoot) plan.unshift(rangeNodes(lo, hi));
  return plan;
}

/** The distinct nodes a plan reads, in first-use order. */
export function planNodes(plan: ProofPlan): NodeRef[] {
  const seen = new Set<string>();
  const nodes: NodeRef[] = [];
  for (const element of plan) {
    for (const node of element) {
      const key = nodeKey(node);
      if (!seen.has(key)) {
        seen.add(key);
        nodes.push(node);
      }
    }
  }
  return nodes;
}

/** `level/index`, for maps of node hashes. */
export function nodeKey(node: NodeRef): string {
  return `${node.level}/${node.index}`;
}

/** Folds each plan element's node hashes into one hash. */
export function resolvePlan(plan: ProofPlan, lookup: (node: NodeRef) => Uint8Array): Uint8Array[] {
  return plan.map((element) => foldNodes(element.map(lookup)));
}

/** H(n0, H(n1, … nk)): the RFC hash of an aligned range from its perfect subtrees. */
export function foldNodes(hashes: readonly Uint8Array[]): Uint8Array {
  const last = hashes.at(-1);
  if (last === undefined) throw new LockgateError('PROOF_INVALID', 'A range has no nodes.');
  let hash = last;
  for (let i = hashes.length - 2; i >= 0; i--) hash = nodeHash(hashes[i] as Uint8Array, hash);
  return hash;
}

/** A lookup over an in-memory list of leaf hashes (every perfect subtree computed on demand). */
export function treeLookup(leafHashes: readonly Uint8Array[]): (node: NodeRef) => Uint8Array {
  const levels: Uint8Array[][] = [[...leafHashes]];
  return (node) => {
    while (levels.length <= node.level) {
      const below = levels[levels.length - 1] as Uint8Array[];
      const above: Uint8Array[] = [];
      for (let i = 0; i + 1 < below.length; i += 2) {
        above.push(nodeHash(below[i] as Uint8Array, below[i + 1] as Uint8Array));
      }
      levels.push(above);
    }
    const hash = levels[node.level]?.[node.index];
    if (hash === undefined) {
      throw sizeError('The tree has no such node.', { level: node.level, index: node.index });
    }
    return hash;
  };
}

/** Inclusion proof of leaf `index` in a tree given by its leaf hashes (for tests and bundles). */
export function inclusionProof(
  leafHashes: readonly Uint8Array[],
  index: number,
  size = leafHashes.length,
): Uint8Array[] {
  return resolvePlan(inclusionPlan(index, size), treeLookup(leafHashes));
}

/** Consistency proof between sizes first ≤ second of a tree given by its leaf hashes. */
export function consistencyProof(
  leafHashes: readonly Uint8Array[],
  first: number,
  second = leafHashes.length,
): Uint8Array[] {
  return resolvePlan(consistencyPlan(first, second), treeLookup(leafHashes));
}

/** RFC 9162 §2.1.3.2: the root an inclusion proof leads to, or null when its shape is wrong. */
export function rootFromInclusionProof(
  index: number,
  size: number,
  leaf: Uint8Array,
  proof: readonly Uint8Array[],
): Uint8Array | null {
  if (!isSize(index) || !isSize(size) || index >= size) return null;
  if (leaf.length !== HASH_BYTES || proof.some((p) => p.length !== HASH_BYTES)) return null;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return null;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? r : null;
}

export function verifyInclusion(
  index: number,
  size: number,
  leaf: Uint8Array,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  const computed = rootFromInclusionProof(index, size, leaf, proof);
  return computed !== null && equalBytes(computed, root);
}

/** RFC 9162 §2.1.4.2. A proof between equal sizes is empty and the roots are equal. */
export function verifyConsistency(
  first: number,
  second: number,
  firstRoot: Uint8Array,
  secondRoot: Uint8Array,
  proof: readonly Uint8Array[],
): boolean {
  if (!isSize(first) || !isSize(second) || first > second) return false;
  if (proof.some((p) => p.length !== HASH_BYTES)) return false;
  if (first === second) return proof.length === 0 && equalBytes(firstRoot, secondRoot);
  if (first === 0) return proof.length === 0;
  const path = isPowerOfTwo(first) ? [firstRoot, ...proof] : [...proof];
  const [head, ...rest] = path;
  if (head === undefined) return false;
  let fn = first - 1;
  let sn = second - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr = head;
  let sr = head;
  for (const c of rest) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && equalBytes(fr, firstRoot) && equalBytes(sr, secondRoot);
}

/**
 * The perfect subtrees covering [0, size), largest first, with their hashes: all a log needs
 * to append leaves and to know its root without reading older nodes.
 */
export interface CompactRange {
  readonly size: number;
  readonly nodes: readonly { readonly level: number; readonly hash: Uint8Array }[];
}

export const EMPTY_RANGE: CompactRange = Object.freeze({ size: 0, nodes: [] });

/** A node the append made complete, to store. */
export interface NewNode extends NodeRef {
  readonly hash: Uint8Array;
}

/** Appends one leaf hash; returns the new range and every perfect subtree it completed. */
export function appendLeaf(
  range: CompactRange,
  leaf: Uint8Array,
): { range: CompactRange; created: NewNode[] } {
  const nodes = [...range.nodes];
  const index = range.size;
  const created: NewNode[] = [{ level: 0, index, hash: leaf }];
  let level = 0;
  let hash = leaf;
  let at = index;
  while (nodes.length > 0 && nodes[nodes.length - 1]?.level === level) {
    const left = nodes.pop() as { level: number; hash: Uint8Array };
    hash = nodeHash(left.hash, hash);
    level += 1;
    at = Math.floor(at / 2);
    created.push({ level, index: at, hash });
  }
  nodes.push({ level, hash });
  return { range: { size: index + 1, nodes }, created };
}

export function rangeRoot(range: CompactRange): Uint8Array {
  if (range.size === 0) return emptyRoot();
  return foldNodes(range.nodes.map((node) => node.hash));
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number);
  return diff === 0;
}

const LEAF_PREFIX = Uint8Array.of(0);
const NODE_PREFIX = Uint8Array.of(1);

/** The largest power of two smaller than n (n ≥ 2): where RFC 9162 splits n leaves. */
function splitOf(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function bitCeil(n: number): number {
  let k = 1;
  while (k < n) k *= 2;
  return k;
}

function highestPower(n: number): { power: number; level: number } {
  let power = 1;
  let level = 0;
  while (power * 2 <= n) {
    power *= 2;
    level += 1;
  }
  return { power, level };
}

function isPowerOfTwo(n: number): boolean {
  return n > 0 && highestPower(n).power === n;
}

function isSize(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

function checkSize(n: number, name: string): void {
  if (!isSize(n)) throw sizeError(`${name} must be a non-negative safe integer.`, { [name]: n });
}

function checkPositive(n: number, name: string): void {
  if (!isSize(n) || n === 0) {
    throw sizeError(`${name} must be a positive safe integer.`, { [name]: n });
  }
}

function sizeError(message: string, details: Record<string, unknown>): LockgateError {
  return new LockgateError('LOG_SIZE_INVALID', message, { details });
}
