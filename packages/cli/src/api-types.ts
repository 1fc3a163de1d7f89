import type {
  FreezeWindow,
  HealthGateResult,
  LabelSelector,
  ReleaseState,
  TargetAttempt,
} from '@lockgate/core';

/** The shapes the CLI reads from the server API (see the server's OpenAPI document). */

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

export interface GateRecord {
  name: string;
  status: string;
  details?: string;
}

export interface BuildView {
  id: string;
  status: string;
  gates: GateRecord[];
  packDigest: string | null;
  source?: { repo?: string; commit?: string };
  reportedAt?: string;
}

export interface TrustedKeyView {
  keyId: string;
  name?: string | null;
  publicKeyPem: string;
  addedAt: string;
}

/** An API token as the server lists it; its secret is only in the answer to its creation. */
export interface TokenView {
  name: string;
  role: string;
  createdAt: string;
  revokedAt: string | null;
}

/** Releases API (docs/api-releases.md). Fields the server may leave out are optional here. */

export interface EnvironmentView {
  name: string;
  description?: string | null;
  createdAt: string;
}

export interface CohortView {
  name: string;
  selector?: LabelSelector;
  percent?: number;
}

export interface PinView {
  env?: string;
  channel?: string;
  /** `_` for the whole channel, else a cohort name of the channel */
  cohort: string;
  /** the cohort's selector when the pin was set; null for the whole channel */
  selector?: LabelSelector | null;
  pack: string;
  reason: string;
  actor?: string;
  createdAt?: string;
  expiresAt: string;
}

export interface RollbackAuthorizationView {
  id?: string;
  env?: string;
  channel?: string;
  pack: string;
  reason: string;
  actor?: string;
  createdAt?: string;
  expiresAt: string;
}

export interface ChannelView {
  env: string;
  name: string;
  plan: string;
  floor: number | null;
  constraints: Record<string, string>;
  cohorts: CohortView[];
  indexTtlSeconds?: number;
  base: string | null;
  lkg: string | null;
  pins: PinView[];
  revoked: string[];
  rollbackAuthorizations: RollbackAuthorizationView[];
  activeRelease: string | null;
  indexVersion: number;
  updatedAt: string;
}

export type FreezeWindowView = FreezeWindow & { createdAt?: string; createdBy?: string };

export interface TargetView {
  id: string;
  env: string;
  channel: string;
  labels: Record<string, string>;
  capabilities?: Record<string, string>;
  activePack: string | null;
  lastReportAt: string | null;
  lastAttempt?: TargetAttempt | null;
  registeredAt: string;
}

export interface CurrentStageView {
  name: string;
  percent: number;
  cohort: string | null;
  startedAt: string | null;
  soakSeconds: number;
}

export interface ReleaseView extends ReleaseState {
  createdAt: string;
  updatedAt: string;
  currentStage: CurrentStageView | null;
}

/** Why a release is (not) moving: `why` of `GET /releases/{id}`, null once it ended. */
export interface ReleaseWhyView {
  at: string;
  blockers: { kind: string; message: string }[];
  freeze: { id: string; reason: string; from: string; until: string } | null;
  stage: {
    index: number;
    name: string;
    percent: number;
    cohort: string | null;
    startedAt: string | null;
    /** targets told to run the pack now */
    targets: number;
    /** targets reporting the pack as active */
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

export interface RevocationView {
  pack: string;
  reason: string;
  actor: string;
  revokedAt: string;
}

export interface DecisionRecordView {
  seq: number;
  id: string;
  release: string;
  env: string;
  channel: string;
  at: string;
  kind: string;
  rule: string;
  actor: string;
  reason: string | null;
  /** null for the record that created the release */
  from: string | null;
  to: string;
  stageIndex: number;
  inputs: Record<string, unknown>;
  verdict: string;
  digest: string;
  prevDigest: string | null;
}

export interface ServerKeyView {
  keyId: string;
  publicKeyPem: string;
  use: string;
}
