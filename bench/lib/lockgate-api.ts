import { generateKeyPairSync } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { createSignedManifest, writePackArchive } from '@lockgate/core';

/** A small client of Lockgate's HTTP API for benchmarks and the fleet simulator. */
export interface Api {
  url: string;
  token: string;
  call<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
}

export function adminApi(url: string, token: string): Api {
  return {
    url,
    token,
    async call<T>(method: string, path: string, body?: unknown): Promise<T> {
      const response = await fetch(`${url}/api/v1${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await response.text();
      if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
      return (text === '' ? undefined : JSON.parse(text)) as T;
    },
  };
}

/** An Ed25519 build key, trusted by the server. */
export async function trustBuildKey(api: Api): Promise<KeyObject> {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  await api.call('POST', '/trust/keys', {
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    name: 'bench',
  });
  return privateKey;
}

/** Builds a small signed pack and pushes it; returns its digest. */
export async function pushPack(
  api: Api,
  key: KeyObject,
  name: string,
  version: string,
  sequence: number,
): Promise<string> {
  const { manifest, digest } = createSignedManifest(
    {
      name,
      version,
      sequence,
      files: [{ path: 'version.txt', bytes: Buffer.from(`${version}\n`) }],
      provenance: {
        buildId: `bench-${version}`,
        createdAt: new Date().toISOString(),
        gates: [{ name: 'tests', status: 'PASS' }],
      },
    },
    [key],
  );
  const bytes = await writePackArchive(
    manifest,
    new Map([['version.txt', Buffer.from(`${version}\n`)]]),
  );
  const response = await fetch(`${api.url}/api/v1/packs`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${api.token}`,
      'content-type': 'application/gzip',
    },
    body: bytes,
  });
  if (!response.ok) throw new Error(`push ${name}@${version}: ${await response.text()}`);
  return digest;
}

export async function createChannel(
  api: Api,
  env: string,
  channel: string,
  plan?: string,
): Promise<void> {
  await api.call('PUT', `/environments/${env}`, {});
  await api.call(
    'PUT',
    `/environments/${env}/channels/${channel}`,
    plan === undefined ? {} : { plan },
  );
}

/** An agent token whose scope covers the targets matching `pattern` in env/channel. */
export async function agentToken(
  api: Api,
  name: string,
  pattern: string,
  env: string,
  channel: string,
): Promise<string> {
  const { secret } = await api.call<{ secret: string }>('POST', '/tokens', {
    name,
    role: 'agent',
    scope: { targets: [pattern], channels: [`${env}/${channel}`] },
  });
  return secret;
}

/** Registers `count` targets `prefix-N` with `concurrency` requests in flight. */
export async function registerTargets(
  api: Api,
  options: {
    env: string;
    channel: string;
    prefix: string;
    count: number;
    concurrency?: number;
    labels?: (n: number) => Record<string, string>;
  },
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: options.concurrency ?? 16 }, async () => {
      while (next < options.count) {
        const n = next++;
        await api.call('PUT', `/targets/${options.prefix}-${n}`, {
          env: options.env,
          channel: options.channel,
          labels: options.labels?.(n) ?? { zone: n % 2 === 0 ? 'west' : 'east' },
        });
      }
    }),
  );
}
