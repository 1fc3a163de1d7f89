/**
 * `lockgate restore`: a backup into an empty data directory (and database), then verified.
 *
 * Steps: read the archive and check every entry against the manifest's sha256 (and every blob's
 * size); refuse a target that holds data; migrate the empty database; insert every table in one
 * transaction (secrets opened with the passphrase, or, when the backup left them out, the
 * signing key dropped so the server makes a new one and webhook secrets regenerated); write the
 * pack files; then verify: row counts, the decision log hash chain from its first record to the
 * head the manifest names, and a pack file for every pack row. Any failure is a stable code.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { LockgateError } from '@lockgate/core';
import { sql } from 'kysely';
import tar from 'tar-stream';
import { createBlobStore } from '../blob-store.ts';
import type { ServerConfig } from '../config.ts';
import { openDatabase } from '../db/database.ts';
import { MIGRATIONS } from '../db/migrations/index.ts';
import { verifyDecisionChain } from '../features/decisions/index.ts';
import { createStores } from '../stores.ts';
import { createSealer, isSealed } from './backup-crypto.ts';
import { BACKUP_SCHEMA, MANIFEST_ENTRY, orderTables, SECRET_COLUMNS } from './backup-format.ts';
import type { BackupManifest } from './backup-format.ts';
import { sha256 } from './create-backup.ts';

type Row = Record<string, unknown>;

export interface RestoreOptions {
  file: string;
  config: Pick<ServerConfig, 'database' | 'dataDir'>;
  passphrase: string | null;
}

export interface RestoreReport {
  manifest: BackupManifest;
  rows: Record<string, number>;
  blobs: number;
  decisionLog: { records: number; lastSeq: number; lastDigest: string | null; chainVerified: true };
  /** what a restore without the secrets left to do by hand */
  notes: string[];
}

const invalid = (message: string, details: Record<string, unknown> = {}): LockgateError =>
  new LockgateError('BACKUP_INVALID', message, { details });

export async function readBackup(
  file: string,
): Promise<{ manifest: BackupManifest; tables: Map<string, Row[]>; blobs: Map<string, Buffer> }> {
  let manifest: BackupManifest | null = null;
  const tables = new Map<string, Row[]>();
  const blobs = new Map<string, Buffer>();
  const extract = tar.extract();
  extract.on('entry', (header, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: unknown) => chunks.push(chunk as Buffer));
    stream.on('error', next);
    stream.on('end', () => {
      try {
        const bytes = Buffer.concat(chunks);
        if (manifest === null) {
          if (header.name !== MANIFEST_ENTRY)
            throw invalid(`The backup does not start with ${MANIFEST_ENTRY}.`);
          const parsed = JSON.parse(bytes.toString('utf8')) as { schema?: unknown };
          if (parsed.schema !== BACKUP_SCHEMA) {
            throw invalid(`The backup schema is not ${String(BACKUP_SCHEMA)}.`);
          }
          manifest = parsed as BackupManifest;
        } else if (header.name.startsWith('tables/') && header.name.endsWith('.jsonl')) {
          const name = header.name.slice('tables/'.length, -'.jsonl'.length);
          const entry = manifest.tables.find((t) => t.name === name);
          if (entry === undefined || entry.sha256 !== sha256(bytes)) {
            throw invalid(`The table ${name} does not match its checksum.`, { table: name });
          }
          const text = bytes.toString('utf8');
          tables.set(
            name,
            text === ''
              ? []
              : text
                  .trimEnd()
                  .split('\n')
                  .map((line) => JSON.parse(line) as Row),
          );
        } else if (header.name.startsWith('blobs/sha256/')) {
          const key = header.name.slice('blobs/sha256/'.length);
          const entry = manifest.blobs.find((b) => b.key === key);
          if (
            entry === undefined ||
            entry.sha256 !== sha256(bytes) ||
            entry.size !== bytes.byteLength
          ) {
            throw invalid(`The pack file ${key} does not match its checksum.`, { blob: key });
          }
          blobs.set(key, bytes);
        } else {
          throw invalid(`The backup holds an unexpected entry ${header.name}.`);
        }
        next();
      } catch (error) {
        next(error as Error);
      }
    });
  });
  try {
    await pipeline(createReadStream(file), createGunzip(), extract);
  } catch (error) {
    if (error instanceof LockgateError) throw error;
    throw invalid(`${file} is not a readable Lockgate backup (${(error as Error).message}).`);
  }
  const found = manifest as BackupManifest | null;
  if (found === null) throw invalid(`${file} holds no manifest.`);
  for (const table of found.tables) {
    if (!tables.has(table.name))
      throw invalid(`The table ${table.name} is missing.`, { table: table.name });
  }
  for (const blob of found.blobs) {
    if (!blobs.has(blob.key))
      throw invalid(`The pack file ${blob.key} is missing.`, { blob: blob.key });
  }
  return { manifest: found, tables, blobs };
}

export async function restoreBackup(options: RestoreOptions): Promise<RestoreReport> {
  const { manifest, tables, blobs } = await readBackup(options.file);
  const unknown = manifest.migrations.filter((name) => !Object.hasOwn(MIGRATIONS, name));
  if (unknown.length > 0) {
    throw invalid(
      `The backup was made by a newer Lockgate (migrations ${unknown.join(', ')}); restore it with that version.`,
      {
        migrations: unknown,
      },
    );
  }
  if (manifest.secrets === 'sealed' && options.passphrase === null) {
    throw new LockgateError(
      'BACKUP_PASSPHRASE_INVALID',
      'The backup holds sealed secrets: give the passphrase it was made with (--passphrase-file).',
    );
  }
  const blobDir = join(options.config.dataDir, 'blobs');
  await mkdir(options.config.dataDir, { recursive: true, mode: 0o700 });
  if ((await readdir(blobDir).catch(() => [])).length > 0) {
    throw new LockgateError('RESTORE_TARGET_NOT_EMPTY', `${blobDir} already holds pack files.`);
  }
  const database = await openDatabase(options.config);
  const notes: string[] = [];
  try {
    const db = database.db;
    const stores = createStores(db);
    const head = await db.selectFrom('decision_chain').select('last_seq').executeTakeFirst();
    const packs = await db.selectFrom('packs').select('digest').limit(1).execute();
    const tokens = await db.selectFrom('api_tokens').select('id').limit(1).execute();
    if (Number(head?.last_seq ?? 0) > 0 || packs.length > 0 || tokens.length > 0) {
      throw new LockgateError(
        'RESTORE_TARGET_NOT_EMPTY',
        'The database to restore into already holds data; restore into a new one.',
      );
    }
    const sealer = options.passphrase === null ? null : createSealer(options.passphrase);
    const order = orderTables([...tables.keys()]);
    const rowsOf = (name: string): Row[] => {
      const rows = tables.get(name) ?? [];
      const secrets = SECRET_COLUMNS[name] ?? [];
      if (secrets.length === 0) return rows;
      if (manifest.secrets === 'omitted' && name === 'server_keys') return [];
      return rows.map((row) => {
        const out: Row = { ...row };
        for (const column of secrets) {
          const value = out[column];
          if (typeof value !== 'string') continue;
          if (isSealed(value) && sealer !== null) out[column] = sealer.open(value);
          else if (value === '') out[column] = `whsec_${randomBytes(32).toString('base64url')}`;
        }
        return out;
      });
    };
    await db.transaction().execute(async (trx) => {
      for (const name of [...order].reverse())
        await sql`delete from ${sql.table(name)}`.execute(trx);
      for (const name of order) {
        const rows = rowsOf(name);
        for (let i = 0; i < rows.length; i += 100) {
          await trx
            .insertInto(name as never)
            .values(rows.slice(i, i + 100))
            .execute();
        }
      }
    });
    if (manifest.secrets === 'omitted') {
      notes.push(
        'The backup left the channel-index signing key out: the server makes a new one on start; give agents its public key (DATA/index-signing.pub).',
        'Webhook secrets were left out: each subscription got a new secret; remove and add them again to learn it.',
      );
    }
    const blobStore = createBlobStore(blobDir);
    for (const [key, bytes] of blobs) await blobStore.put(key, bytes);

    // Verify what is now stored, not what was read.
    const rows: Record<string, number> = {};
    for (const table of manifest.tables) {
      const counted = await sql<{
        n: number | string;
      }>`select count(*) as n from ${sql.table(table.name)}`.execute(db);
      rows[table.name] = Number(counted.rows[0]?.n ?? 0);
      const expected =
        table.name === 'server_keys' && manifest.secrets === 'omitted' ? 0 : table.rows;
      if (rows[table.name] !== expected) {
        throw new LockgateError(
          'RESTORE_VERIFICATION_FAILED',
          `The table ${table.name} has ${rows[table.name]} rows, not ${expected}.`,
        );
      }
    }
    const records = [];
    for (let after = 0; ;) {
      const page = await stores.decisions.list({ afterSeq: after, limit: 1000 });
      if (page.length === 0) break;
      records.push(...page);
      after = page[page.length - 1]?.seq ?? after;
    }
    const chain = verifyDecisionChain(records);
    const last = records.at(-1);
    if (!chain.ok) {
      throw new LockgateError(
        'RESTORE_VERIFICATION_FAILED',
        `The decision log does not verify at seq ${chain.broken?.seq}: ${chain.broken?.problem}.`,
        { details: { broken: chain.broken } },
      );
    }
    if (
      (last?.seq ?? 0) !== manifest.decisionLog.lastSeq ||
      (last?.digest ?? null) !== manifest.decisionLog.lastDigest
    ) {
      throw new LockgateError(
        'RESTORE_VERIFICATION_FAILED',
        'The decision log does not end at the head the backup names.',
      );
    }
    for (const row of tables.get('packs') ?? []) {
      const key = String(row['digest']).slice('sha256:'.length);
      if ((await blobStore.size(key)) !== Number(row['size'])) {
        throw new LockgateError(
          'RESTORE_VERIFICATION_FAILED',
          `The pack file of ${String(row['digest'])} is missing or of the wrong size.`,
        );
      }
    }
    return {
      manifest,
      rows,
      blobs: blobs.size,
      decisionLog: {
        records: records.length,
        lastSeq: last?.seq ?? 0,
        lastDigest: last?.digest ?? null,
        chainVerified: true,
      },
      notes,
    };
  } finally {
    await database.close();
  }
}
