import {
  buildStatusOf,
  canonicalJson,
  failingGates,
  LockgateError,
  parseDigest,
} from '@lockgate/core';
import type { BuildRecord, BuildStatus, GateResult, PackProvenance } from '@lockgate/core';
import type { Clock } from '../../clock.ts';
import type { Stores } from '../../stores.ts';

/** What CI reports about one build; the status is derived from the gates. */
export interface BuildReport {
  id: string;
  gates: GateResult[];
  packDigest?: string;
  source?: { repo?: string; commit?: string };
  inputs?: Record<string, string>;
}

export interface BuildService {
  /**
   * Records a build. `created` is false when the identical build was already reported;
   * BUILD_CONFLICT when the id was reported with other content.
   */
  report(report: BuildReport, actor: string): Promise<{ build: BuildRecord; created: boolean }>;
  /** BUILD_NOT_FOUND when unknown. */
  get(id: string): Promise<BuildRecord>;
  /** Newest first. */
  list(query: { status?: BuildStatus; limit: number }): Promise<BuildRecord[]>;
}

export function createBuildService(deps: { stores: Stores; clock: Clock }): BuildService {
  const { stores, clock } = deps;
  return {
    async report(report, actor) {
      const record = toRecord(report, clock().toISOString());
      if (await stores.builds.insert({ record, reportedBy: actor })) {
        return { build: record, created: true };
      }
      const existing = await stores.builds.find(record.id);
      if (existing === null) throw new Error(`Build ${record.id} vanished during insert`);
      if (!sameBuild(existing.record, record)) {
        throw new LockgateError(
          'BUILD_CONFLICT',
          `Build ${record.id} was already reported with different content.`,
          { details: { id: record.id, reportedAt: existing.record.reportedAt } },
        );
      }
      return { build: existing.record, created: false };
    },

    async get(id) {
      const stored = await stores.builds.find(id);
      if (stored === null) {
        throw new LockgateError('BUILD_NOT_FOUND', `No build has id ${id}.`, { details: { id } });
      }
      return stored.record;
    },

    async list(query) {
      return (await stores.builds.list(query)).map((stored) => stored.record);
    },
  };
}

/** Checks a report and turns it into the record to store. */
function toRecord(report: BuildReport, reportedAt: string): BuildRecord {
  if (report.gates.length === 0) {
    throw new LockgateError(
      'BUILD_GATES_MISSING',
      `Build ${report.id} lists no gates, so nothing shows it passed.`,
      { details: { id: report.id } },
    );
  }
  const seen = new Set<string>();
  for (const gate of report.gates) {
    if (seen.has(gate.name)) {
      throw new LockgateError(
        'BUILD_INVALID',
        `Build ${report.id} lists gate ${gate.name} twice.`,
        {
          details: { id: report.id, gate: gate.name },
        },
      );
    }
    seen.add(gate.name);
  }
  const gates = report.gates.map(normalizeGate);
  const status = buildStatusOf(gates);
  const packDigest = report.packDigest === undefined ? null : parseDigest(report.packDigest);
  if (status === 'failed' && packDigest !== null) {
    throw new LockgateError(
      'BUILD_GATE_FAILED',
      `Build ${report.id} failed a gate, so it carries no pack.`,
      { details: { id: report.id, gates: failingGates(gates) } },
    );
  }
  return assembleRecord({ ...report, gates }, status, packDigest, reportedAt);
}

/** The record a pack push writes when no build was reported for provenance.buildId. */
export function buildRecordFromProvenance(
  provenance: PackProvenance,
  packDigest: string,
  reportedAt: string,
): BuildRecord {
  const gates = provenance.gates.map(normalizeGate);
  const report: BuildReport = { id: provenance.buildId, gates };
  if (provenance.source !== undefined) report.source = provenance.source;
  if (provenance.inputs !== undefined) report.inputs = provenance.inputs;
  return assembleRecord(report, buildStatusOf(gates), packDigest, reportedAt);
}

function assembleRecord(
  report: BuildReport,
  status: BuildStatus,
  packDigest: string | null,
  reportedAt: string,
): BuildRecord {
  const record: BuildRecord = {
    id: report.id,
    status,
    gates: report.gates,
    packDigest,
    reportedAt,
  };
  const source = withoutUndefined(report.source ?? {});
  if (Object.keys(source).length > 0) record.source = source;
  if (report.inputs !== undefined && Object.keys(report.inputs).length > 0) {
    record.inputs = { ...report.inputs };
  }
  return record;
}

function normalizeGate(gate: GateResult): GateResult {
  return gate.details === undefined
    ? { name: gate.name, status: gate.status }
    : { name: gate.name, status: gate.status, details: gate.details };
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as T;
}

/** Same content: everything but when it was reported. */
export function sameBuild(a: BuildRecord, b: BuildRecord): boolean {
  const content = (record: BuildRecord): unknown => ({
    id: record.id,
    status: record.status,
    gates: record.gates.map(normalizeGate),
    packDigest: record.packDigest,
    source: record.source ?? null,
    inputs: record.inputs ?? null,
  });
  return canonicalJson(content(a)) === canonicalJson(content(b));
}
