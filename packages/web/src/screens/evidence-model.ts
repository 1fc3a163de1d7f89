/**
 * Words for a release's evidence: each checkpoint's status, its gate verdicts and its activation
 * attestation in one line, and the offline verification command (`lockgate evidence verify`).
 */
import type { EvidenceCheckpointView, TrustedKeyView } from '@lockgate/api';

export const EVIDENCE_STATUS_WORD: Record<EvidenceCheckpointView['status'], string> = {
  sealed: 'sealed',
  pending: 'pending',
  not_reached: 'not reached',
  not_required: 'not required',
};

/** `✓` sealed, `…` pending, `○` not reached, `–` not required. */
export const EVIDENCE_STATUS_SYMBOL: Record<EvidenceCheckpointView['status'], string> = {
  sealed: '✓',
  pending: '…',
  not_reached: '○',
  not_required: '–',
};

function text(value: unknown): string {
  return typeof value === 'number' || typeof value === 'string' ? String(value) : '—';
}

/** One gate verdict as recorded: `error_rate 0.01 <= 0.05: pass (4 targets, 120 samples)`. */
export function gateWords(gate: unknown): string {
  if (typeof gate !== 'object' || gate === null) return String(gate);
  const g = gate as Record<string, unknown>;
  return (
    `${text(g['metric'])} ${text(g['measured'])} ${text(g['op'])} ${text(g['threshold'])}: ` +
    `${text(g['verdict'])} (${text(g['targets'])} targets, ${text(g['samples'])} samples)`
  );
}

/** A stage attestation's summary: `4 reporting, 4 on the pack, 4 activations ok, 0 failed`. */
export function attestationWords(attestation: Record<string, unknown> | null | undefined): string {
  if (attestation === null || attestation === undefined) return '';
  const summary = attestation['summary'];
  if (typeof summary !== 'object' || summary === null) return 'attested';
  const s = summary as Record<string, unknown>;
  return (
    `${text(s['reporting'])} reporting, ${text(s['onPack'])} on the pack, ` +
    `${text(s['onOtherPack'])} on another, ${text(s['activationsOk'])} activations ok, ` +
    `${text(s['activationsFailed'])} failed`
  );
}

/** The file name a trusted build key is offered under (and named in the command). */
export function buildKeyFile(key: TrustedKeyView): string {
  return `build-${key.keyId.slice(0, 12)}.pem`;
}

export const LOG_KEY_FILE = 'log.vkey';

/** The command that verifies the downloaded bundle with no server. */
export function verifyCommand(bundle: string, keys: readonly TrustedKeyView[]): string {
  return [
    `lockgate evidence verify ${bundle}`,
    `--trust-log ${LOG_KEY_FILE}`,
    ...keys.map((k) => `--trust-build ${buildKeyFile(k)}`),
  ].join(' \\\n    ');
}
