/**
 * The backup file (docs/adr/0009-backup-format.md): a gzip-compressed tar archive of
 *
 *   lockgate-backup.json        the manifest (first entry): schema, time, source dialect,
 *                               migrations applied, each table's row count and sha256, each
 *                               blob's size and sha256, whether secrets are sealed or omitted,
 *                               and the decision log head (last seq and digest)
 *   tables/<table>.jsonl        every row of a table, one JSON object per line
 *   blobs/sha256/<hex>          every pack file a `packs` row names
 *
 * Dialect-neutral: a backup of SQLite restores into PostgreSQL and back.
 */
export const BACKUP_SCHEMA = 'lockgate.backup/v1';
export const MANIFEST_ENTRY = 'lockgate-backup.json';

export interface BackupManifest {
  schema: typeof BACKUP_SCHEMA;
  createdAt: string;
  source: { dialect: 'sqlite' | 'postgres'; method: 'sqlite-online-backup' | 'postgres-snapshot' };
  migrations: string[];
  tables: { name: string; rows: number; sha256: string }[];
  blobs: { key: string; size: number; sha256: string }[];
  /** sealed: encrypted with a passphrase; omitted: left out by choice */
  secrets: 'sealed' | 'omitted';
  decisionLog: { lastSeq: number; lastDigest: string | null };
}

/** Tables restored in this order (parents before children); others follow by name. */
export const TABLE_ORDER: readonly string[] = [
  'builds',
  'packs',
  'trusted_keys',
  'api_tokens',
  'environments',
  'channels',
  'pins',
  'rollback_authorizations',
  'revocations',
  'freeze_windows',
  'plans',
  'targets',
  'target_reports',
  'releases',
  'decision_records',
  'decision_chain',
  'server_keys',
  'idempotency_keys',
  'webhook_subscriptions',
  'webhook_deliveries',
  'webhook_attempts',
];

/** Not backed up: the migration bookkeeping (a restore migrates) and the controller lease. */
export const SKIPPED_TABLES: ReadonlySet<string> = new Set([
  'kysely_migration',
  'kysely_migration_lock',
  'controller_lease',
]);

/** Columns holding secrets: sealed with the passphrase, or omitted. */
export const SECRET_COLUMNS: Readonly<Record<string, readonly string[]>> = {
  server_keys: ['private_key_pem'],
  webhook_subscriptions: ['secret'],
};

export function orderTables(names: readonly string[]): string[] {
  const known = TABLE_ORDER.filter((name) => names.includes(name));
  const others = names.filter((name) => !TABLE_ORDER.includes(name)).sort();
  return [...known, ...others];
}
