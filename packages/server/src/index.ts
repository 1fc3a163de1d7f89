export { loadServerConfig } from './config.ts';
export type { DatabaseConfig, LogLevel, ServerConfig, ServerConfigFlags } from './config.ts';
export { startServer } from './server.ts';
export type { RunningServer } from './server.ts';
export { buildApp, API_PREFIX, OPENAPI_PATH } from './app.ts';
export type { AppDeps } from './app.ts';
export { openDatabase, migrateToLatest } from './db/database.ts';
export type { DialectName, OpenDatabase, OpenDatabaseOptions } from './db/database.ts';
export type { Database } from './db/schema.ts';
export { createStores } from './stores.ts';
export type { Stores } from './stores.ts';
export { createServices } from './services.ts';
export type { Services } from './services.ts';
export { createBlobStore } from './blob-store.ts';
export type { BlobStore, ByteRange } from './blob-store.ts';
export { systemClock } from './clock.ts';
export type { Clock } from './clock.ts';
export { ADMIN_TOKEN_FILE, hashToken, TOKEN_ROLES } from './features/tokens/index.ts';
export type {
  Actor,
  CreateTokenInput,
  TokenRole,
  TokenService,
  TokenView,
} from './features/tokens/index.ts';
export type { PackService, PackSummary } from './features/packs/index.ts';
export type { BuildReport, BuildService } from './features/builds/index.ts';
export type { TrustService, TrustedKeyView } from './features/trust/index.ts';
export type { HealthService } from './features/health/index.ts';
export type { ErrorBody } from './http/error-handler.ts';
export type { ServiceOptions } from './services.ts';
export type { Signals } from './signals.ts';
export { decisionRecordDigest, draftOf, verifyDecisionChain } from './features/decisions/index.ts';
export type { ChainVerification, DecisionRecordDraft } from './features/decisions/index.ts';
export type { DecisionRecord } from './features/decisions/index.ts';
export type { Controller, TickResult } from './features/controller/index.ts';
export { REPORT_RETENTION_SECONDS } from './features/controller/index.ts';
export type { ChannelEvents } from './features/channels/index.ts';
export type {
  ChannelService,
  ChannelView,
  PinView,
  RollbackAuthorizationView,
} from './features/channels/index.ts';
export type {
  EnvironmentService,
  EnvironmentView,
  FreezeWindowView,
} from './features/environments/index.ts';
export type { PlanService, PlanView } from './features/plans/index.ts';
export type { DesiredView, TargetService, TargetView } from './features/targets/index.ts';
export type { CurrentStage, ReleaseService, ReleaseView } from './features/releases/index.ts';
export type { RevocationService, RevocationView } from './features/revocations/index.ts';
export { CHANNEL_INDEX_KEY_USE, INDEX_PUBLIC_KEY_FILE } from './features/server-keys/index.ts';
export type { ServerKeyService, ServerKeyView } from './features/server-keys/index.ts';
export { createBackup } from './backup/create-backup.ts';
export type { BackupOptions } from './backup/create-backup.ts';
export { readBackup, restoreBackup } from './backup/restore-backup.ts';
export type { RestoreOptions, RestoreReport } from './backup/restore-backup.ts';
export type { BackupManifest } from './backup/backup-format.ts';
export {
  signatureHeader,
  verifyWebhookSignature,
  DEFAULT_SIGNATURE_TOLERANCE_SECONDS,
} from './features/webhooks/index.ts';
