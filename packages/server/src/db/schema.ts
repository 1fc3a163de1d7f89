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
  /** JSON array of target patterns; null unless a scoped agent token */
  scope_targets_json: string | null;
  /** JSON array of `ENV/CHANNEL` patterns; null unless a scoped agent token */
  scope_channels_json: string | null;
}

export interface EnvironmentsTable {
  name: string;
  description: string;
  created_at: string;
  created_by: string;
}

export interface ChannelsTable {
  env: string;
  name: string;
  /** the default plan of new releases */
  plan: string;
  floor: number | null;
  constraints_json: string;
  cohorts_json: string;
  index_ttl_seconds: number;
  base: string | null;
  lkg: string | null;
  /** the rollout entry of the channel index (ChannelIndexRollout JSON), or null */
  rollout_json: string | null;
  active_release: string | null;
  index_version: number;
  /** the signed channel index (DSSE envelope JSON) of index_version */
  index_envelope_json: string;
  index_expires_at: string;
  created_at: string;
  created_by: string;
  updated_at: string;
  updated_by: string;
}

export interface PinsTable {
  env: string;
  channel: string;
  /** '_' for the whole channel, else the name of a channel cohort */
  cohort: string;
  /** the cohort's label selector when the pin was set; null for the whole channel */
  selector_json: string | null;
  pack: string;
  reason: string;
  actor: string;
  created_at: string;
  expires_at: string;
}

export interface RollbackAuthorizationsTable {
  id: string;
  env: string;
  channel: string;
  pack: string;
  reason: string;
  actor: string;
  created_at: string;
  expires_at: string;
}

export interface RevocationsTable {
  pack: string;
  reason: string;
  actor: string;
  revoked_at: string;
}

export interface FreezeWindowsTable {
  id: string;
  env: string;
  /** the core FreezeWindow JSON (id included) */
  window_json: string;
  created_at: string;
  created_by: string;
}

export interface PlansTable {
  name: string;
  plan_json: string;
  created_at: string;
  created_by: string;
  updated_at: string;
  updated_by: string;
}

export interface TargetsTable {
  id: string;
  env: string;
  channel: string;
  labels_json: string;
  capabilities_json: string;
  active_pack: string | null;
  last_attempt_json: string | null;
  last_report_at: string | null;
  registered_at: string;
  updated_at: string;
}

export interface TargetReportsTable {
  id: string;
  target_id: string;
  env: string;
  channel: string;
  /** stamped by the server */
  at: string;
  active_pack: string | null;
  last_attempt_json: string | null;
  health_json: string | null;
  /** the report's number in its channel (0009); null on reports stored before */
  seq: ColumnType<number | string | null, number | null | undefined, number | null>;
}

/** Per channel: what changed in its targets and reports, as counters (0009). */
export interface ChannelCountersTable {
  env: string;
  channel: string;
  targets_generation: ColumnType<number | string, number | undefined, number>;
  report_seq: ColumnType<number | string, number | undefined, number>;
}

export interface ReleasesTable {
  id: string;
  env: string;
  channel: string;
  pack: string;
  state: string;
  /** the core ReleaseState's version; every save checks it */
  version: number;
  /** the core ReleaseState JSON */
  release_json: string;
  created_at: string;
  updated_at: string;
}

export interface DecisionRecordsTable {
  /** position in the hash chain, 1, 2, 3, ... without gaps */
  seq: BigIntColumn;
  id: string;
  release_id: string | null;
  env: string | null;
  channel: string | null;
  at: string;
  kind: string;
  rule: string;
  actor: string;
  reason: string | null;
  from_state: string | null;
  to_state: string | null;
  stage_index: number | null;
  inputs_json: string;
  verdict: string;
  /** the controller that decided (holder id), null for operator commands */
  holder: string | null;
  digest: string;
  prev_digest: string | null;
  /** the core that decided (`0.1.0+decide.1`); null on records older than migration 0008 */
  core_version: string | null;
}

/** One row (id 1): the head of the decision hash chain, locked by every append. */
export interface DecisionChainTable {
  id: number;
  last_seq: BigIntColumn;
  last_digest: string | null;
}

export interface ServerKeysTable {
  key_id: string;
  /** what the key signs: 'channel-index' (one key per use) */
  use: string;
  private_key_pem: string;
  public_key_pem: string;
  created_at: string;
}

/** The controller lease on SQLite (PostgreSQL uses a session advisory lock instead). */
export interface ControllerLeaseTable {
  name: string;
  holder: string;
  expires_at: string;
  renewed_at: string;
}

export interface IdempotencyKeysTable {
  actor: string;
  key: string;
  /** the operation, e.g. 'release.create' or 'release.pause:rel_…' */
  scope: string;
  /** hex sha256 of the JCS of {scope, body} */
  request_hash: string;
  response_json: string;
  created_at: string;
}

export interface WebhookSubscriptionsTable {
  id: string;
  name: string;
  url: string;
  /** 'json' (signed generic body) or 'slack' (Slack-compatible body, signed too) */
  format: string;
  /** JSON array of event types */
  events_json: string;
  /** the HMAC-SHA256 signing secret; never shown after creation */
  secret: string;
  created_at: string;
  created_by: string;
}

/** The webhook outbox: one row per (subscription, event), written with the decision. */
export interface WebhookDeliveriesTable {
  id: string;
  subscription_id: string;
  event_id: string;
  event_type: string;
  /** the exact body posted (bytes signed), JSON text */
  payload_json: string;
  /** 'pending' | 'delivered' | 'failed' */
  status: string;
  attempts: number;
  next_attempt_at: string;
  /** a worker holds the row until then (several replicas never post it twice at once) */
  claimed_until: string | null;
  last_status_code: number | null;
  last_error: string | null;
  created_at: string;
  finished_at: string | null;
}

export interface WebhookAttemptsTable {
  delivery_id: string;
  attempt: number;
  at: string;
  status_code: number | null;
  error: string | null;
  duration_ms: number;
}

/** Transparency log (migration 0005): leaf seq - 1 of the Merkle tree. */
export interface LogEntriesTable {
  seq: BigIntColumn;
  /** base64 SHA-256(0x00 || statement bytes) */
  leaf_hash: string;
  envelope_json: string;
}

/** The hash (base64) of the complete subtree of 2^level leaves from idx * 2^level. */
export interface LogNodesTable {
  level: number;
  idx: BigIntColumn;
  hash: string;
}

export interface LogHeadTable {
  id: number;
  size: BigIntColumn;
  /** base64 hashes of the compact range of [0, size), largest subtree first */
  range_json: string;
}

export interface LogCheckpointsTable {
  size: BigIntColumn;
  root_hash: string;
  /** the checkpoint body signed by the log key (a C2SP signed note) */
  note: string;
  created_at: string;
}

export interface LogCosignaturesTable {
  size: BigIntColumn;
  witness: string;
  /** hex note key id */
  key_id: string;
  /** the signature line, newline included */
  line: string;
  timestamp: BigIntColumn;
  created_at: string;
}

/** One decision context, content-addressed: brotli-compressed JCS bytes as base64 text. */
export interface DecisionContextsTable {
  /** `sha256:` + hex of the uncompressed JCS bytes */
  digest: string;
  /** 'br+base64' */
  encoding: string;
  body: string;
  /** bytes of the uncompressed JCS text */
  size: number;
  stored_at: string;
}

/** One replay request of a release and what it found. */
export interface ReleaseReplaysTable {
  id: string;
  release_id: string;
  requester: string;
  reason: string;
  /** 'completed' | 'failed' */
  status: string;
  /** the core that replayed */
  core_version: string;
  created_at: string;
  finished_at: string | null;
  /** figures, mismatches and records not replayed (JSON) */
  result_json: string;
}

/** The Kysely database type. Times are ISO 8601 UTC strings on both dialects. */
/** An announced start of a freeze window's occurrence (migration 0011). */
export interface FreezeStartsTable {
  env: string;
  window_id: string;
  /** when the occurrence began (ISO, UTC) */
  occurrence_from: string;
  announced_at: string;
}

/** Good and total events of a service level indicator in one minute, summed over servers. */
export interface SloSamplesTable {
  slo: string;
  /** the minute's start (ISO, UTC) */
  minute: string;
  good: BigIntColumn;
  total: BigIntColumn;
}

export interface Database {
  packs: PacksTable;
  builds: BuildsTable;
  trusted_keys: TrustedKeysTable;
  api_tokens: ApiTokensTable;
  environments: EnvironmentsTable;
  channels: ChannelsTable;
  pins: PinsTable;
  rollback_authorizations: RollbackAuthorizationsTable;
  revocations: RevocationsTable;
  freeze_windows: FreezeWindowsTable;
  plans: PlansTable;
  targets: TargetsTable;
  target_reports: TargetReportsTable;
  channel_counters: ChannelCountersTable;
  releases: ReleasesTable;
  decision_records: DecisionRecordsTable;
  decision_chain: DecisionChainTable;
  server_keys: ServerKeysTable;
  controller_lease: ControllerLeaseTable;
  idempotency_keys: IdempotencyKeysTable;
  webhook_subscriptions: WebhookSubscriptionsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_attempts: WebhookAttemptsTable;
  log_entries: LogEntriesTable;
  log_nodes: LogNodesTable;
  log_head: LogHeadTable;
  log_checkpoints: LogCheckpointsTable;
  log_cosignatures: LogCosignaturesTable;
  decision_contexts: DecisionContextsTable;
  release_replays: ReleaseReplaysTable;
  freeze_starts: FreezeStartsTable;
  slo_samples: SloSamplesTable;
}
