/**
 * Every request and response shape the console exchanges with the server, in one file. They
 * mirror the server's route schemas (packages/server/src/features/*-routes.ts) until the
 * `@lockgate/api` contract package lands; then this file becomes re-exports of it.
 */

export const ROLES = ['admin', 'operator', 'viewer', 'agent'] as const;
export type Role = (typeof ROLES)[number];

export const RELEASE_STATES = [
  'requested',
  'verifying',
  'rolling',
  'paused',
  'completed',
  'rolled_back',
  'aborted',
  'failed',
] as const;
export type ReleaseStatus = (typeof RELEASE_STATES)[number];
export const TERMINAL_STATES: readonly ReleaseStatus[] = [
  'completed',
  'rolled_back',
  'aborted',
  'failed',
];

export const COMMAND_KINDS = [
  'pause',
  'resume',
  'abort',
  'promote',
  'approve',
  'reject',
  'retry',
  'rollback',
] as const;
export type CommandKind = (typeof COMMAND_KINDS)[number];

/** The error body of every refused request. */
export interface ApiErrorBody {
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

export interface Session {
  name: string;
  role: Role;
}

export interface SignInResponse {
  token: string;
  session: Session;
}

export interface HealthGateSpec {
  metric: string;
  op: string;
  threshold: number;
  windowSeconds?: number;
  minTargets?: number;
  minSamples?: number;
}

export interface Stage {
  name: string;
  percent: number;
  cohort?: string;
  soakSeconds: number;
  gates: HealthGateSpec[];
  approvals?: number;
  progressDeadlineSeconds?: number;
}

export interface Plan {
  name: string;
  stages: Stage[];
}

export interface Approval {
  stage: number;
  actor: string;
  at: string;
}

export interface ReleaseOutcome {
  at: string;
  summary: string;
  reasons: { code?: string; message: string }[];
  rollbackTo?: string | null;
}

export interface CurrentStage {
  name: string;
  percent: number;
  cohort: string | null;
  startedAt: string | null;
  soakSeconds: number;
}

export interface Release {
  id: string;
  env: string;
  channel: string;
  pack: string;
  packSequence: number;
  basePack: string | null;
  plan: Plan;
  state: ReleaseStatus;
  stageIndex: number;
  stageStartedAt: string | null;
  stageEnteredBy?: string;
  approvals: Approval[];
  requestedBy: string;
  reason: string;
  schedule?: Record<string, unknown>;
  pausedReason?: string;
  blockedBy?: string;
  outcome?: ReleaseOutcome;
  version: number;
  createdAt: string;
  updatedAt: string;
  currentStage: CurrentStage | null;
}

export interface HealthGateResult {
  metric: string;
  verdict: 'pass' | 'fail' | 'inconclusive';
  measured: number | null;
  threshold: number;
  op: string;
  targets: number;
  samples: number;
  reasons: string[];
}

/** Why a release is (not) moving: `why` of `GET /releases/{id}`, null once it ended. */
export interface ReleaseWhy {
  at: string;
  blockers: { kind: string; message: string }[];
  freeze: { id: string; reason: string; from: string; until: string } | null;
  stage: {
    index: number;
    name: string;
    percent: number;
    cohort: string | null;
    startedAt: string | null;
    targets: number;
    onPack: number;
    channelTargets: number;
    soakSeconds: number;
    progressDeadlineSeconds: number;
  } | null;
  gates: HealthGateResult[];
  refusals: {
    targets: number;
    groups: { kind: string; code: string; targets: number; sample: string[] }[];
  };
  approvals: {
    stage: number;
    name: string;
    needed: number;
    approvers: string[];
    waiting: boolean;
  } | null;
  verification: { ok: boolean; reasons: { code?: string; message: string }[] } | null;
}

export interface ReleaseStatusResponse {
  release: Release;
  why: ReleaseWhy | null;
}

export interface ReleaseListQuery {
  env?: string;
  channel?: string;
  state?: ReleaseStatus;
  limit?: number;
}

export interface CommandBody {
  reason: string;
  full?: boolean;
}

export interface DecisionRecord {
  seq: number;
  id: string;
  release: string | null;
  env: string | null;
  channel: string | null;
  at: string;
  kind: string;
  rule: string;
  actor: string;
  reason: string | null;
  from: string | null;
  to: string | null;
  stageIndex: number | null;
  inputs: Record<string, unknown>;
  verdict: string;
  holder: string | null;
  digest: string;
  prevDigest: string | null;
  /** the core that decided; null on records written before it was kept */
  coreVersion: string | null;
}

export interface Pin {
  env: string;
  channel: string;
  cohort: string;
  selector: Record<string, unknown> | null;
  pack: string;
  reason: string;
  actor: string;
  createdAt: string;
  expiresAt: string;
}

export interface RollbackAuthorization {
  id: string;
  env: string;
  channel: string;
  pack: string;
  reason: string;
  actor: string;
  createdAt: string;
  expiresAt: string;
}

export interface Channel {
  env: string;
  name: string;
  plan: string;
  floor: number | null;
  constraints: Record<string, string>;
  cohorts: { name: string; selector?: Record<string, unknown>; percent?: number }[];
  indexTtlSeconds: number;
  base: string | null;
  lkg: string | null;
  pins: Pin[];
  revoked: string[];
  rollbackAuthorizations: RollbackAuthorization[];
  activeRelease: string | null;
  indexVersion: number;
  updatedAt: string;
}

export interface PinBody {
  pack: string;
  reason: string;
  expiresIn?: string;
  expiresAt?: string;
}

export interface Environment {
  name: string;
  description: string;
  createdAt: string;
}

export interface FreezeWindow {
  id: string;
  env: string;
  reason: string;
  kind: 'once' | 'weekly';
  start: string;
  end?: string;
  days?: string[];
  durationMinutes?: number;
  createdAt: string;
  createdBy: string;
}

export interface EnvironmentDetail {
  environment: Environment;
  channels: Channel[];
  freezeWindows: FreezeWindow[];
}

export interface TargetAttempt {
  kind: 'activate' | 'revert' | 'verify';
  pack: string;
  result: 'ok' | 'failed';
  code?: string;
  at: string;
}

export interface Target {
  id: string;
  env: string;
  channel: string;
  labels: Record<string, string>;
  capabilities: Record<string, string>;
  activePack: string | null;
  lastReportAt: string | null;
  lastAttempt: TargetAttempt | null;
  registeredAt: string;
}

export interface TargetListQuery {
  env?: string;
  channel?: string;
  /** ids after this one (paging) */
  after?: string;
  limit?: number;
}

export interface PackSummary {
  digest: string;
  name: string;
  version: string;
  sequence: number;
  size: number;
  buildId: string;
  createdAt: string;
  pushedAt: string;
}

export interface PackManifestResponse {
  pack: PackSummary;
  manifest: {
    provenance?: {
      buildId?: string;
      createdAt?: string;
      source?: { repo?: string; commit?: string };
      gates?: { name: string; status: string; details?: string }[];
    };
    signatures?: { keyid: string; sig: string }[];
    [key: string]: unknown;
  };
}

export interface BuildRecord {
  id: string;
  status: string;
  gates: { name: string; status: string; details?: string }[];
  packDigest: string | null;
  source?: { repo?: string; commit?: string };
  inputs?: Record<string, string>;
  reportedAt: string;
}

export interface Revocation {
  pack: string;
  reason: string;
  actor: string;
  revokedAt: string;
}

/** One `event: change` of `GET /events`. */
export interface ConsoleEvent {
  seq: number;
  kind: string;
  rule: string;
  release: string | null;
  env: string | null;
  channel: string | null;
  verdict: string;
  at: string;
}

export interface Items<T> {
  items: T[];
}
