/**
 * How a stage gate acts on its verdict: `mode` and `onFail`, two optional fields every gate kind
 * accepts (health, prometheus, compare).
 *
 * - `mode: 'enforce'` (default): the verdict drives the release. `mode: 'shadow'`: the gate is
 *   evaluated and its verdict recorded in the decision inputs beside the enforcing ones, and it
 *   never acts: it neither fails, holds nor advances a stage. Teams start a new gate in shadow and
 *   promote it on the evidence of `gate report` (how often it agreed with what happened).
 * - `onFail: 'rollback'` (default, the behaviour before the field existed): a failing enforcing
 *   gate rolls the release back. `onFail: 'pause'`: it pauses the release instead (recorded
 *   once), so an operator decides. A rollback gate outranks a pause gate failing on the same
 *   tick.
 */
export type GateMode = 'enforce' | 'shadow';
export type GateOnFail = 'rollback' | 'pause';

export const GATE_MODES: readonly GateMode[] = ['enforce', 'shadow'];
export const GATE_ON_FAIL: readonly GateOnFail[] = ['rollback', 'pause'];

export interface GatePolicy {
  mode?: GateMode;
  onFail?: GateOnFail;
}

/** The fields of GatePolicy, which every gate kind accepts beside its own. */
export const GATE_POLICY_FIELDS: readonly string[] = ['mode', 'onFail'];

export function modeOf(gate: GatePolicy): GateMode {
  return gate.mode ?? 'enforce';
}

export function onFailOf(gate: GatePolicy): GateOnFail {
  return gate.onFail ?? 'rollback';
}

/** Problems of a gate's `mode` and `onFail` (absent is fine); empty when valid. */
export function gatePolicyProblems(gate: Record<string, unknown>, path: string): string[] {
  const problems: string[] = [];
  if (gate.mode !== undefined && !(GATE_MODES as readonly unknown[]).includes(gate.mode)) {
    problems.push(`${path}.mode must be one of ${GATE_MODES.join(', ')}`);
  }
  if (gate.onFail !== undefined && !(GATE_ON_FAIL as readonly unknown[]).includes(gate.onFail)) {
    problems.push(`${path}.onFail must be one of ${GATE_ON_FAIL.join(', ')}`);
  }
  return problems;
}

/** The gate without its policy fields, for the kind's own check. */
export function withoutPolicy(gate: Record<string, unknown>): Record<string, unknown> {
  const { mode: _mode, onFail: _onFail, ...rest } = gate;
  return rest;
}
