import { generateKeyPairSync } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createSignedManifest, parsePrivateKey, writePackArchive } from '@lockgate/core';
import type { PackInputFile } from '@lockgate/core';

/** The pack name every demo release carries. */
export const DEMO_PACK_NAME = 'demo-kb';

/** What the example runtime reads from `runtime.json` (see examples/runtime/README.md). */
export interface DemoRuntimeSettings {
  errorRate?: number;
  addedLatencyMs?: number;
  failHealth?: boolean;
}

export interface DemoPackSpec {
  /** a short label for the timelines: v1, v2, v3 */
  label: string;
  version: string;
  sequence: number;
  data: Record<string, string>;
  settings: DemoRuntimeSettings;
  /** why this pack exists, printed in the scenario */
  note: string;
}

export interface BuiltDemoPack {
  spec: DemoPackSpec;
  digest: string;
  bytes: Uint8Array;
}

export interface DemoKeys {
  /** the build signing key */
  privateKey: KeyObject;
  privateKeyPem: string;
  publicKeyPem: string;
  privateKeyPath: string;
  publicKeyPath: string;
}

/** The lookup keys the traffic asks for; every demo pack answers them all. */
export const DEMO_LOOKUP_KEYS = ['alpha', 'beta', 'gamma', 'delta'] as const;

function dataFor(version: string): Record<string, string> {
  return Object.fromEntries(DEMO_LOOKUP_KEYS.map((key) => [key, `${key} from ${version}`]));
}

/** v1 (the base), v2 (good), v3 (bad: every 5th lookup fails with HTTP 500). */
export const DEMO_PACKS: readonly DemoPackSpec[] = [
  {
    label: 'v1',
    version: '1.0.0',
    sequence: 1,
    data: dataFor('1.0.0'),
    settings: {},
    note: 'the base: every target starts on it',
  },
  {
    label: 'v2',
    version: '2.0.0',
    sequence: 2,
    data: dataFor('2.0.0'),
    settings: {},
    note: 'a good release: it should complete every stage',
  },
  {
    label: 'v3',
    version: '3.0.0',
    sequence: 3,
    data: dataFor('3.0.0'),
    settings: { errorRate: 0.2 },
    note: 'a bad release (errorRate 0.2): its canary should fail the error_rate gate',
  },
];

function jsonBytes(value: unknown): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Builds and signs one demo pack in memory. The build id and creation time are fixed per
 * version, so the same key makes the same digest: a rerun on the same data directory pushes
 * a pack the server already holds (a no-op) instead of a conflicting name@version.
 */
export async function buildDemoPack(spec: DemoPackSpec, keys: DemoKeys): Promise<BuiltDemoPack> {
  const files: PackInputFile[] = [
    { path: 'data.json', bytes: jsonBytes(spec.data), role: 'data' },
    { path: 'pack.json', bytes: jsonBytes({ name: DEMO_PACK_NAME, version: spec.version }) },
    { path: 'runtime.json', bytes: jsonBytes(spec.settings), role: 'config' },
  ];
  const { manifest, digest } = createSignedManifest(
    {
      name: DEMO_PACK_NAME,
      version: spec.version,
      sequence: spec.sequence,
      files,
      requires: {},
      provenance: {
        buildId: `demo-build-${spec.version}`,
        createdAt: '2026-01-01T00:00:00Z',
        gates: [
          { name: 'unit', status: 'PASS' },
          { name: 'lint', status: 'PASS' },
        ],
        source: { repo: 'lockgate/demo', commit: `v${spec.version}` },
      },
    },
    [keys.privateKey],
  );
  const bytes = await writePackArchive(
    manifest,
    new Map(files.map((file) => [file.path, file.bytes])),
  );
  return { spec, digest, bytes };
}

/**
 * The demo's build key pair in `dir` (`build.key`, `build.pub`): read when a previous run left
 * it there, else generated (Ed25519; the private key file is mode 0600).
 */
export async function loadOrCreateDemoKeys(dir: string): Promise<DemoKeys> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const privateKeyPath = join(dir, 'build.key');
  const publicKeyPath = join(dir, 'build.pub');
  let privateKeyPem: string;
  let publicKeyPem: string;
  try {
    privateKeyPem = await readFile(privateKeyPath, 'utf8');
    publicKeyPem = await readFile(publicKeyPath, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    const pair = generateKeyPairSync('ed25519');
    privateKeyPem = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    publicKeyPem = pair.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    await writeFile(privateKeyPath, privateKeyPem, { mode: 0o600 });
    await writeFile(publicKeyPath, publicKeyPem, { mode: 0o644 });
  }
  return {
    privateKey: parsePrivateKey(privateKeyPem).key,
    privateKeyPem,
    publicKeyPem,
    privateKeyPath,
    publicKeyPath,
  };
}
