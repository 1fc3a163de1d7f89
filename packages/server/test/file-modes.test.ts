import { chmod, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadServerConfig } from '../src/config.ts';
import { startServer } from '../src/server.ts';
import type { RunningServer } from '../src/server.ts';
import { makePack, newSigner } from './helpers/packs.ts';

const ADMIN_TOKEN = 'file-modes-admin-token-0123456789';

/** Permission bits of a path. */
async function modeOf(path: string): Promise<number> {
  return (await stat(path)).mode & 0o777;
}

/** Every file and directory under root (root excluded). */
async function walk(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true });
  return entries.map((entry) => join(root, entry));
}

describe('modes of the files the server keeps', () => {
  let parent: string;
  const running: RunningServer[] = [];

  beforeEach(async () => {
    parent = await mkdtemp(join(tmpdir(), 'lockgate-modes-'));
  });

  afterEach(async () => {
    await Promise.all(running.splice(0).map((server) => server.close()));
    await rm(parent, { recursive: true, force: true });
  });

  const start = async (dataDir: string): Promise<RunningServer> => {
    const config = loadServerConfig(
      { data: dataDir, port: 0, logLevel: 'silent' },
      { LOCKGATE_ADMIN_TOKEN: ADMIN_TOKEN },
    );
    const server = await startServer(config);
    running.push(server);
    return server;
  };

  it('creates the database, its WAL and shared-memory files 0600 in an existing 0755 data directory', async () => {
    const dataDir = join(parent, 'data');
    await mkdir(dataDir);
    await chmod(dataDir, 0o755);
    const server = await start(dataDir);
    // A write, so the WAL holds something (the server keys and the admin token are already in).
    const response = await fetch(`${server.url}/api/v1/environments/prod`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(response.status).toBe(201);
    for (const name of ['lockgate.db', 'lockgate.db-wal', 'lockgate.db-shm']) {
      const mode = await modeOf(join(dataDir, name));
      expect({ name, open: mode & 0o077 }).toEqual({ name, open: 0 });
    }
    expect(await modeOf(join(dataDir, 'admin-token')).then((mode) => mode & 0o077)).toBe(0);
  });

  it('makes a database an older version left world-readable private again on start', async () => {
    const dataDir = join(parent, 'data');
    await mkdir(dataDir, { mode: 0o755 });
    const path = join(dataDir, 'lockgate.db');
    await writeFile(path, '', { mode: 0o644 });
    await chmod(path, 0o644);
    const old = new DatabaseSync(path);
    old.exec('PRAGMA journal_mode = WAL; create table t (x); insert into t values (1);');
    // Kept open (as a crashed process would leave them): the WAL files exist with the old mode.
    await chmod(`${path}-wal`, 0o644);
    await chmod(`${path}-shm`, 0o644);
    try {
      await start(dataDir);
      for (const suffix of ['', '-wal', '-shm']) {
        expect({ suffix, open: (await modeOf(`${path}${suffix}`)) & 0o077 }).toEqual({
          suffix,
          open: 0,
        });
      }
    } finally {
      old.close();
    }
  });

  it('creates a missing data directory 0700 and stores pack blobs readable by the owner only', async () => {
    const dataDir = join(parent, 'fresh', 'data');
    const server = await start(dataDir);
    expect((await modeOf(dataDir)) & 0o077).toBe(0);

    const signer = newSigner();
    const headers = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const trusted = await fetch(`${server.url}/api/v1/trust/keys`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ publicKeyPem: signer.publicKeyPem }),
    });
    expect(trusted.status).toBe(201);
    const pack = await makePack({ signer });
    const build = await fetch(`${server.url}/api/v1/builds`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({
        id: pack.manifest.provenance.buildId,
        gates: pack.manifest.provenance.gates,
        packDigest: pack.digest,
      }),
    });
    expect(build.status).toBe(201);
    const pushed = await fetch(`${server.url}/api/v1/packs`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/gzip' },
      body: pack.bytes,
    });
    expect(pushed.status).toBe(201);

    const blobs = await walk(join(dataDir, 'blobs'));
    expect(blobs.length).toBeGreaterThan(0);
    const open: string[] = [];
    for (const path of [join(dataDir, 'blobs'), ...blobs]) {
      if (((await modeOf(path)) & 0o077) !== 0) open.push(path);
    }
    expect(open).toEqual([]);
  });
});
