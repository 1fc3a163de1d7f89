import type { ColumnType } from 'kysely';

/** int8 columns: pg returns them as strings, node:sqlite as numbers. */
type BigIntColumn = ColumnType<number | string, number, number>;

export interface PacksTable {
  digest: string;
  name: string;
  version: string;
  sequence: number;
  build_id: string;
  manifest_json: string;
  size: BigIntColumn;
  /** provenance.createdAt */
  created_at: string;
  pushed_at: string;
  pushed_by: string;
}

export interface BuildsTable {
  id: string;
  status: 'passed' | 'failed';
  gates_json: string;
  pack_digest: string | null;
  source_json: string | null;
  inputs_json: string | null;
  reported_at: string;
  reported_by: string;
}

export interface TrustedKeysTable {
  key_id: string;
  name: string;
  public_key_pem: string;
  added_at: string;
  added_by: string;
}

export interface ApiTokensTable {
  id: string;
  name: string;
  /** hex sha256 of the token; the token itself is never stored */
  token_hash: string;
  role: string;
  created_at: string;
  revoked_at: string | null;
}

/** The Kysely database type. Times are ISO 8601 UTC strings on both dialects. */
export interface Database {
  packs: PacksTable;
  builds: BuildsTable;
  trusted_keys: TrustedKeysTable;
  api_tokens: ApiTokensTable;
}
