import { describe, expect, it } from 'vitest';
import {
  assertEligible,
  buildStatusOf,
  createSignedManifest,
  evaluateEligibility,
} from '../src/index.ts';
import type { BuildRecord, GateResult, PackManifest } from '../src/index.ts';
import { lockgateErrorOf, sampleInput, seededKey } from './fixtures.ts';

const { manifest, digest } = createSignedManifest(sampleInput(), [seededKey(1)]);
const gates = manifest.provenance.gates;

function build(overrides: Partial<BuildRecord> = {}): BuildRecord {
  return {
    id: manifest.provenance.buildId,
    status: 'passed',
    gates,
    packDigest: digest,
    reportedAt: '2026-11-22T10:01:00Z',
    ...overrides,
  };
}

function withProvenance(provenance: Partial<PackManifest['provenance']>): PackManifest {
  return { ...manifest, provenance: { ...manifest.provenance, ...provenance } };
}

function codesOf(input: { manifest: PackManifest; build: BuildRecord | null }): string[] {
  return evaluateEligibility(input).reasons.map((r) => r.code);
}

describe('buildStatusOf', () => {
  it.each<[string, GateResult[], 'passed' | 'failed']>([
    ['no gates', [], 'failed'],
    [
      'all gates PASS',
      [
        { name: 'a', status: 'PASS' },
        { name: 'b', status: 'PASS' },
      ],
      'passed',
    ],
    [
      'a skipped gate',
      [
        { name: 'a', status: 'PASS' },
        { name: 'b', status: 'SKIP' },
      ],
      'failed',
    ],
    ['an erroring gate', [{ name: 'a', status: 'ERROR' }], 'failed'],
  ])('is %s → %s', (_name, list, status) => {
    expect(buildStatusOf(list)).toBe(status);
  });
});

describe('evaluateEligibility', () => {
  it('finds a pack with complete provenance and passing gates eligible without a build record', () => {
    expect(evaluateEligibility({ manifest, build: null })).toEqual({ eligible: true, reasons: [] });
  });

  it('finds it eligible with a matching passed build record, gates in any order', () => {
    const verdict = evaluateEligibility({
      manifest,
      build: build({ gates: [...gates].reverse() }),
    });
    expect(verdict).toEqual({ eligible: true, reasons: [] });
    expect(codesOf({ manifest, build: build({ packDigest: null }) })).toEqual([]);
  });

  it('refuses provenance without gates as incomplete', () => {
    const verdict = evaluateEligibility({ manifest: withProvenance({ gates: [] }), build: null });
    expect(verdict.eligible).toBe(false);
    expect(verdict.reasons.map((r) => r.code)).toEqual(['PROVENANCE_INCOMPLETE']);
    expect(verdict.reasons[0]?.message).toMatch(/gates/);
  });

  it('refuses provenance without a build id or creation time as incomplete', () => {
    expect(codesOf({ manifest: withProvenance({ buildId: '' }), build: null })).toEqual([
      'PROVENANCE_INCOMPLETE',
    ]);
    expect(codesOf({ manifest: withProvenance({ createdAt: '' }), build: null })).toEqual([
      'PROVENANCE_INCOMPLETE',
    ]);
  });

  it('refuses a manifest that records a gate other than PASS', () => {
    const failing = withProvenance({ gates: [...gates, { name: 'policy', status: 'FAIL' }] });
    const verdict = evaluateEligibility({ manifest: failing, build: null });
    expect(verdict.reasons).toEqual([
      { code: 'BUILD_GATE_FAILED', message: expect.stringContaining('policy FAIL') as unknown },
    ]);
  });

  it('refuses a pack whose build record failed', () => {
    const failedGates: GateResult[] = [
      { name: 'validate', status: 'FAIL' },
      { name: 'compile', status: 'PASS' },
    ];
    const codes = codesOf({
      manifest,
      build: build({ status: 'failed', gates: failedGates, packDigest: null }),
    });
    // the failed build, and its gates contradict the manifest's
    expect(codes).toEqual(['BUILD_GATE_FAILED', 'PROVENANCE_INCOMPLETE']);
  });

  it('refuses a failed build record even when its gates match the manifest', () => {
    expect(codesOf({ manifest, build: build({ status: 'failed' }) })).toEqual([
      'BUILD_GATE_FAILED',
    ]);
  });

  it('refuses a manifest whose gates differ from the build record', () => {
    expect(codesOf({ manifest, build: build({ gates: gates.slice(0, 1) }) })).toEqual([
      'PROVENANCE_INCOMPLETE',
    ]);
    expect(
      codesOf({ manifest, build: build({ gates: [...gates, { name: 'extra', status: 'PASS' }] }) }),
    ).toEqual(['PROVENANCE_INCOMPLETE']);
  });

  it('refuses a build record of another build', () => {
    expect(codesOf({ manifest, build: build({ id: 'build-7' }) })).toEqual([
      'PROVENANCE_INCOMPLETE',
    ]);
  });

  it('leaves a build record that names another pack to the caller', () => {
    const other = build({ packDigest: `sha256:${'0'.repeat(64)}` });
    expect(evaluateEligibility({ manifest, build: other }).eligible).toBe(true);
  });

  it('collects every reason, not just the first', () => {
    const bad = withProvenance({ buildId: '', gates: [{ name: 'validate', status: 'ERROR' }] });
    const codes = codesOf({ manifest: bad, build: build({ status: 'failed' }) });
    expect(codes).toEqual([
      'PROVENANCE_INCOMPLETE',
      'BUILD_GATE_FAILED',
      'PROVENANCE_INCOMPLETE',
      'BUILD_GATE_FAILED',
      'PROVENANCE_INCOMPLETE',
    ]);
  });
});

describe('assertEligible', () => {
  it('passes an eligible pack, with or without a build record', () => {
    expect(() => assertEligible({ manifest, build: null }, digest)).not.toThrow();
    expect(() => assertEligible({ manifest, build: build() }, digest)).not.toThrow();
  });

  it('throws the first reason, with every reason and the digest in details', () => {
    const failed = withProvenance({ gates: [{ name: 'validate', status: 'FAIL' }] });
    const input = { manifest: failed, build: build({ status: 'failed' }) };
    const error = lockgateErrorOf(() => assertEligible(input, digest), 'BUILD_GATE_FAILED');
    const { reasons } = evaluateEligibility(input);
    expect(error.message).toBe(reasons[0]?.message);
    expect(error.details).toEqual({ digest, reasons });
  });
});
