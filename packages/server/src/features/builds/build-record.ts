/**
 * A build's record: checked from what CI reports, or assembled from a pushed pack's provenance
 * when no build was reported. Pure; the build service stores it, the pack service asks for it.
 */
import {
  buildStatusOf,
  canonicalJson,
  failingGates,
  LockgateError,
  parseDigest,
} from '@lockgate/core';
import type { BuildRecord, BuildStatus, GateResult, PackProvenance } from '@lockgate/core';

/** What CI reports about one build; the status is derived from the gates. */
export interface BuildReport {
  id: string;
  gates: GateResult[];
  packDigest?: string;
  source?: { repo?: string; commit?: string };
  inputs?: Record<string, string>;
}

/** Checks a report and turns it into the record to store. */
export function toRecord(report: BuildReport, reportedAt: string): BuildRecord {
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
