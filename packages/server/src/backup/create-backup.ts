/**
 * `lockgate backup`: a consistent copy of a server's data, taken while it runs, by direct access
 * to its database and data directory (docs/adr/0009-backup-format.md).
 *
 * Consistency: SQLite — the online backup API (node:sqlite `backup()`) copies the database page
 * by page into a snapshot file while the server keeps writing (WAL mode), and the export reads
 * that snapshot. PostgreSQL — one REPEATABLE READ READ ONLY transaction reads every table from
 * the same snapshot. Pack files are immutable and content-addressed and are written before the
 * row that names them commits, so copying the files the snapshot's `packs` rows name afterwards
 * is consistent with it.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { LockgateError } from '@lockgate/core';
import pg from 'pg';
import tar from 'tar-stream';
import { createBlobStore } from '../blob-store.ts';
import type { ServerConfig } from '../config.ts';
import { createSealer } from './backup-crypto.ts';
import {
  BACKUP_SCHEMA,
  MANIFEST_ENTRY,
  orderTables,
  SECRET_COLUMNS,
  SKIPPED_TABLES,
} from './backup-format.ts';
import type { BackupManifest } from './backup-format.ts';

type Row = Record<string, unknown>;

export interface BackupOptions {
  config: Pick<ServerConfig, 'database' | 'dataDir'>;
  out: string;
  /** seals secrets with this passphrase; null leaves them out */
  passphrase: string | null;
  now: Date;
}

interface Snapshot {
  dialect: 'sqlite' | 'postgres';
  migrations: string[];
  tables: Map<string, Row[]>;
}

export async function createBackup(options: BackupOptions): Promise<BackupManifest> {
  const snapshot =
    options.config.database.dialect === 'sqlite'
      ? await sqliteSnapshot(options.config.database.path)
      : await postgresSnapshot(options.config.database.url);
  const sealer = options.passphrase === null ? null : createSealer(options.passphrase);
  const tableEntries: { name: string; bytes: Buffer; rows: number }[] = [];
  for (const name of orderTables([...snapshot.tables.keys()])) {
    const rows = snapshot.tables.get(name) ?? [];
    const secrets = SECRET_COLUMNS[name] ?? [];
    const lines = rows.map((row) => {
      const out: Row = { ...row };
      for (const column of secrets) {
        const value = out[column];
        if (typeof value === 'string') out[column] = sealer === null ? '' : sealer.seal(value);
      }
      return `${JSON.stringify(out)}\n`;
    });
    tableEntries.push({ name, bytes: Buffer.from(lines.join(''), 'utf8'), rows: rows.length });
  }

  const blobs = createBlobStore(join(options.config.dataDir, 'blobs'));
  const blobEntries: { key: string; size: number; sha256: string; path: string }[] = [];
  for (const row of snapshot.tables.get('packs') ?? []) {
    const key = String(row['digest']).slice('sha256:'.length);
    const path = blobs.pathOf(key);
    let size: number;
    try {
      size = (await stat(path)).size;
    } catch (cause) {
      throw new LockgateError(
        'BACKUP_INVALID',
        `The pack file of ${String(row['digest'])} is missing from ${options.config.dataDir}.`,
        { cause, details: { digest: row['digest'] } },
      );
    }
    blobEntries.push({ key, size, sha256: await fileSha256(path), path });
  }

  const chain = (snapshot.tables.get('decision_chain') ?? [])[0];
  const manifest: BackupManifest = {
    schema: BACKUP_SCHEMA,
    createdAt: options.now.toISOString(),
    source: {
      dialect: snapshot.dialect,
      method: snapshot.dialect === 'sqlite' ? 'sqlite-online-backup' : 'postgres-snapshot',
    },
    migrations: snapshot.migrations,
    tables: tableEntries.map((t) => ({ name: t.name, rows: t.rows, sha256: sha256(t.bytes) })),
    blobs: blobEntries.map(({ key, size, sha256: sum }) => ({ key, size, sha256: sum })),
    secrets: sealer === null ? 'omitted' : 'sealed',
    decisionLog: {
      lastSeq: Number(chain?.['last_seq'] ?? 0),
      lastDigest: (chain?.['last_digest'] as string | null | undefined) ?? null,
    },
  };

  const pack = tar.pack();
  const temporary = join(dirname(options.out), `.${Date.now()}.lockgate-backup.tmp`);
  const written = pipeline(pack, createGzip(), createWriteStream(temporary, { mode: 0o600 }));
  try {
    await addEntry(pack, MANIFEST_ENTRY, Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`));
    for (const table of tableEntries)
      await addEntry(pack, `tables/${table.name}.jsonl`, table.bytes);
    for (const blob of blobEntries) {
      await addEntry(pack, `blobs/sha256/${blob.key}`, await readFile(blob.path));
    }
    pack.finalize();
    await written;
    await rename(temporary, options.out);
  } catch (error) {
    pack.destroy();
    await written.catch(() => undefined);
    await rm(temporary, { force: true });
    throw error;
  }
  return manifest;
}

async function sqliteSnapshot(path: string): Promise<Snapshot> {
  const { DatabaseSync, backup } = await import('node:sqlite');
  const dir = await mkdtemp(join(tmpdir(), 'lockgate-backup-'));
  const copy = join(dir, 'snapshot.db');
  try {
    const source = new DatabaseSync(path, { readOnly: true, timeout: 5000 });
    try {
      await backup(source, copy);
    } finally {
      source.close();
    }
    const db = new DatabaseSync(copy, { readOnly: true });
    try {
      const names = (
        db
          .prepare(
            "select name from sqlite_master where type = 'table' and name not like 'sqlite_%'",
          )
          .all() as { name: string }[]
      ).map((r) => r.name);
      const tables = new Map<string, Row[]>();
      for (const name of names) {
        if (SKIPPED_TABLES.has(name)) continue;
        tables.set(name, db.prepare(`select * from "${name}"`).all());
      }
      const migrations = names.includes('kysely_migration')
        ? (
            db.prepare('select name from kysely_migration order by name').all() as {
              name: string;
            }[]
          ).map((r) => r.name)
        : [];
      return { dialect: 'sqlite', migrations, tables };
    } finally {
      db.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function postgresSnapshot(url: string): Promise<Snapshot> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('begin isolation level repeatable read read only');
    const names = (
      await client.query<{ table_name: string }>(
        "select table_name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE'",
      )
    ).rows.map((r) => r.table_name);
    const tables = new Map<string, Row[]>();
    for (const name of names) {
      if (SKIPPED_TABLES.has(name)) continue;
      tables.set(name, (await client.query<Row>(`select * from "${name}"`)).rows);
    }
    const migrations = names.includes('kysely_migration')
      ? (
          await client.query<{ name: string }>('select name from kysely_migration order by name')
        ).rows.map((r) => r.name)
      : [];
    await client.query('commit');
    return { dialect: 'postgres', migrations, tables };
  } finally {
    await client.end();
  }
}

function addEntry(pack: tar.Pack, name: string, bytes: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    pack.entry({ name, size: bytes.byteLength, mode: 0o600 }, bytes, (error) =>
      error === undefined || error === null ? resolve() : reject(error),
    );
  });
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function fileSha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
