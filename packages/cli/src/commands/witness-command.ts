import { generateKeyPairSync } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import {
  cosignatureLine,
  ed25519PrivateKey,
  ed25519Seed,
  isKeyName,
  LockgateError,
  NOTE_COSIGNATURE_V1,
  noteKeyId,
  rawPublicKey,
  strictBase64,
  verifierKeyString,
  verifyCheckpoint,
  verifyConsistency,
} from '@lockgate/core';
import type { KeyObject } from 'node:crypto';
import { writeFileAtomic, writeNewFile } from '../atomic-write.ts';
import { UsageError } from '../cli-error.ts';
import { addJsonOption, addServerOptions, readInputFile, resolvePath } from '../command-context.ts';
import type { CommandContext, JsonOption, ServerOptions } from '../command-context.ts';
import { printResult } from '../output.ts';
import { logClientFor, logKeyOption } from './log-client.ts';
import type { LogClient } from './log-client.ts';

/**
 * A witness (C2SP tlog-witness semantics, polling): it fetches the log's checkpoint, verifies
 * the log's signature, proves the new tree consistent with the largest one it saw before
 * (kept in STATE/witness-state.json, written atomically before it cosigns), and posts a
 * cosignature/v1. A checkpoint that is not consistent with what it saw is a split view: never
 * cosigned, reported on stderr with both views kept in STATE/split-view-*.json, and an exit
 * code of 1 with --once.
 *
 * Key file: `PRIVATE+KEY+<name>+<8 hex key id>+<base64(0x04 || 32-byte Ed25519 seed)>`, the
 * private counterpart of the verifier key `<name>+<id>+<base64(0x04 || public key)>`.
 */
export const WITNESS_STATE_FILE = 'witness-state.json';

interface WitnessKey {
  name: string;
  privateKey: KeyObject;
  verifierKey: string;
}

interface WitnessState {
  origin: string;
  size: number;
  rootHash: string;
  body: string;
}

interface WitnessOptions extends ServerOptions {
  key?: string;
  state?: string;
  logKey?: string;
  once?: boolean;
  intervalMs?: string;
}

export function witnessKeyText(name: string, privateKey: KeyObject): string {
  const id = Buffer.from(noteKeyId(name, NOTE_COSIGNATURE_V1, rawPublicKey(privateKey)));
  const material = Buffer.concat([Uint8Array.of(NOTE_COSIGNATURE_V1), ed25519Seed(privateKey)]);
  return `PRIVATE+KEY+${name}+${id.toString('hex')}+${material.toString('base64')}\n`;
}

export function parseWitnessKey(text: string): WitnessKey {
  const fail = (): never => {
    throw new LockgateError('KEY_INVALID', 'The witness key file is not PRIVATE+KEY+name+id+key.');
  };
  const parts = text.trim().split('+');
  if (parts.length < 5 || parts[0] !== 'PRIVATE' || parts[1] !== 'KEY') return fail();
  const name = parts[2] as string;
  const id = parts[3] as string;
  const material = strictBase64(parts.slice(4).join('+'));
  if (!isKeyName(name) || material?.length !== 33 || material[0] !== NOTE_COSIGNATURE_V1) {
    return fail();
  }
  const privateKey = ed25519PrivateKey(material.subarray(1));
  const expected = Buffer.from(noteKeyId(name, NOTE_COSIGNATURE_V1, rawPublicKey(privateKey)));
  if (expected.toString('hex') !== id) return fail();
  return {
    name,
    privateKey,
    verifierKey: verifierKeyString(name, privateKey, NOTE_COSIGNATURE_V1),
  };
}

export type WitnessOutcome =
  | { kind: 'cosigned'; size: number; previousSize: number }
  | { kind: 'unchanged'; size: number }
  | { kind: 'older'; size: number; seen: number };

/** One poll: verify, check consistency, persist, cosign. Throws LOG_SPLIT_VIEW on a fork. */
export async function witnessOnce(deps: {
  log: LogClient;
  logKey: Parameters<typeof verifyCheckpoint>[1];
  key: WitnessKey;
  stateDir: string;
  now: () => Date;
}): Promise<WitnessOutcome> {
  const { log, logKey, key, stateDir } = deps;
  const note = await log.checkpoint();
  const { checkpoint } = verifyCheckpoint(note, logKey);
  const body = note.slice(0, note.lastIndexOf('\n\n') + 1);
  const statePath = join(stateDir, WITNESS_STATE_FILE);
  const seen = await readState(statePath);
  const root = Buffer.from(checkpoint.rootHash).toString('base64');
  const splitView = async (why: string, proof: string[] = []): Promise<never> => {
    const at = deps.now().toISOString().replace(/[:.]/g, '-');
    await writeFile(
      join(stateDir, `split-view-${at}.json`),
      `${JSON.stringify({ seen, presented: note, proof, why }, null, 2)}\n`,
      { mode: 0o644 },
    );
    throw new LockgateError(
      'LOG_SPLIT_VIEW',
      `The log presented a checkpoint of size ${checkpoint.size} that is not consistent with the one of size ${seen?.size ?? 0} this witness cosigned: ${why}. It is not cosigned.`,
      { details: { seenSize: seen?.size ?? 0, presentedSize: checkpoint.size } },
    );
  };
  if (seen !== null) {
    if (seen.origin !== checkpoint.origin) await splitView('another origin');
    if (checkpoint.size < seen.size) {
      return { kind: 'older', size: checkpoint.size, seen: seen.size };
    }
    if (checkpoint.size === seen.size) {
      if (seen.rootHash !== root) await splitView('the same size with another root hash');
      if (seen.body === body) return { kind: 'unchanged', size: checkpoint.size };
    } else if (seen.size > 0) {
      const proof = await log.consistency(seen.size, checkpoint.size);
      const ok = verifyConsistency(
        seen.size,
        checkpoint.size,
        Buffer.from(seen.rootHash, 'base64'),
        checkpoint.rootHash,
        proof.map((p) => Buffer.from(p, 'base64')),
      );
      if (!ok) await splitView('the consistency proof does not verify', proof);
    }
  }
  const state: WitnessState = {
    origin: checkpoint.origin,
    size: checkpoint.size,
    rootHash: root,
    body,
  };
  await writeFileAtomic(statePath, Buffer.from(`${JSON.stringify(state, null, 2)}\n`));
  const timestamp = Math.floor(deps.now().getTime() / 1000);
  await log.postCosignature(body, cosignatureLine(body, key.name, key.privateKey, timestamp));
  return { kind: 'cosigned', size: checkpoint.size, previousSize: seen?.size ?? 0 };
}

async function readState(path: string): Promise<WitnessState | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  return JSON.parse(text) as WitnessState;
}

function describe(outcome: WitnessOutcome): string {
  switch (outcome.kind) {
    case 'cosigned':
      return `cosigned size ${outcome.size} (consistent with ${outcome.previousSize})`;
    case 'unchanged':
      return `size ${outcome.size} unchanged, already cosigned`;
    case 'older':
      return `the log served size ${outcome.size}, older than ${outcome.seen} already seen; not cosigned`;
  }
}

async function runWitness(context: CommandContext, options: WitnessOptions): Promise<void> {
  if (options.key === undefined || options.state === undefined || options.logKey === undefined) {
    throw new UsageError('lockgate witness needs --key, --state and --log-key');
  }
  const key = parseWitnessKey(
    (await readInputFile(context, options.key, 'the witness key')).toString('utf8'),
  );
  const logKey = await logKeyOption(context, options.logKey);
  const stateDir = resolvePath(context, options.state);
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const log = logClientFor(context, options);
  const interval = Number(options.intervalMs ?? 2000);
  if (!Number.isSafeInteger(interval) || interval < 100) {
    throw new UsageError('--interval-ms must be an integer of at least 100');
  }
  const deps = { log, logKey, key, stateDir, now: context.io.now };
  if (options.once === true) {
    const outcome = await witnessOnce(deps);
    printResult(context.io, options.json === true, describe(outcome), outcome);
    return;
  }
  let stop = false;
  void context.io.untilShutdown().then(() => {
    stop = true;
  });
  while (!stop) {
    try {
      const outcome = await witnessOnce(deps);
      if (outcome.kind !== 'unchanged') {
        printResult(context.io, options.json === true, describe(outcome), outcome);
      }
    } catch (error) {
      // a split view or an unreachable server never stops the watch; it is reported every poll
      const code = error instanceof LockgateError ? error.code : 'ERROR';
      const message = error instanceof Error ? error.message : String(error);
      context.io.stderr(`${code}: ${message}\n`);
    }
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
}

async function keygen(
  context: CommandContext,
  options: JsonOption & { name: string; out: string },
) {
  if (!isKeyName(options.name)) throw new UsageError('--name must hold no spaces and no +');
  const { privateKey } = generateKeyPairSync('ed25519');
  const out = resolvePath(context, options.out);
  await writeNewFile(out, witnessKeyText(options.name, privateKey), 0o600);
  const verifierKey = verifierKeyString(options.name, privateKey, NOTE_COSIGNATURE_V1);
  await writeNewFile(`${out}.pub`, `${verifierKey}\n`, 0o644);
  printResult(
    context.io,
    options.json === true,
    `${verifierKey}\nwrote ${out} and ${out}.pub (add the .pub line to the server's DATA/log-witnesses)`,
    { name: options.name, verifierKey, file: out },
  );
}

export function registerWitnessCommand(program: Command, context: CommandContext): void {
  const witness = addServerOptions(
    program
      .command('witness')
      .description('watch a log: verify each checkpoint, prove it consistent, cosign it')
      .option('--key <KEYFILE>', 'the witness private key (lockgate witness keygen); required')
      .option('--state <DIR>', 'where the last cosigned checkpoint is kept; required')
      .option('--log-key <VKEY>', "the log's verifier key, or a file holding it; required")
      .option('--once', 'poll once; exit 1 on a split view')
      .option('--interval-ms <MS>', 'poll interval (default 2000)'),
  ).action((options: WitnessOptions) => runWitness(context, options));
  addJsonOption(
    witness
      .command('keygen')
      .description('make a witness key (Ed25519, cosignature/v1) and its verifier key')
      .requiredOption('--name <NAME>', 'the witness name, e.g. witness.example.com/w1')
      .requiredOption(
        '--out <KEYFILE>',
        'the private key file (never overwritten); also KEYFILE.pub',
      ),
  ).action((options: JsonOption & { name: string; out: string }) => keygen(context, options));
}
