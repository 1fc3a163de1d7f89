/**
 * The shapes a `compare` gate's looks take in and give back (compare-gate.ts judges them).
 */
import type { CompareMargin, CompareMetric } from './compare-spec.ts';

/** One target's counts for one look, as deltas since its previous look. */
export interface TargetCounts {
  requests: number;
  /** rate metrics: failed requests (or failed activations) */
  errors?: number;
  /** latency: slower[j] = requests slower than latencyBoundsMs[j] */
  slower?: number[];
}

export type ArmCounts = Readonly<Record<string, TargetCounts>>;

/**
 * Each target's totals from before the stage started, when both sides still ran the base pack
 * (same shapes as a look's counts). The same history is passed at every look of a stage.
 */
export interface CompareHistory {
  canary: ArmCounts;
  baseline: ArmCounts;
}

/** One side's history and what it expected of the stage, for one stream. */
export interface HistorySideEvidence {
  /** the side's history: targets, requests and events */
  targets: number;
  requests: number;
  events: number;
  /** stage targets with history of their own (the others get the side's pooled rate) */
  targetsWithHistory: number;
  /** the stage events the targets' history expects; null before both sides reach minSamples */
  expected: number | null;
}

/** What the history contributed to a look. */
export interface HistoryEvidence {
  /** false when a side's history has fewer than minSamples requests: judged without it */
  used: boolean;
  canary: HistorySideEvidence;
  baseline: HistorySideEvidence;
  /** the dispersion factor φ on what the history leaves; null when not computed */
  dispersion: number | null;
}

export interface CompareStreamState {
  /** running lower bound of θ; null until both sides reached minSamples */
  lower: number | null;
  upper: number | null;
  /** running always-valid p-value of "the canary is no worse" (θ ≤ 0): fail when ≤ α */
  pValue: number;
  /** running always-valid p-value of "the canary is worse by the margin or more": pass when ≤ α */
  harmPValue: number;
  /** Σ over looks and sides of the look's spread of events between targets … */
  lookSpread: number;
  /** … and what that sum would be if every request failed independently at one rate */
  lookExpected: number;
  /**
   * with history only: Σ over looks and sides of the spread of each target's events around what
   * its history expects (at the side's observed-to-expected ratio of the look) …
   */
  historyLookSpread?: number;
  /** … and what that sum would be from Poisson noise and the history's noise alone */
  historyLookExpected?: number;
}

export interface CompareGateState {
  looks: number;
  /** per target: [requests, events of stream 0, events of stream 1, …] totals */
  canary: Record<string, number[]>;
  baseline: Record<string, number[]>;
  streams: CompareStreamState[];
}

export type CompareVerdict = 'pass' | 'fail' | 'inconclusive';

export interface ArmSummary {
  targets: number;
  requests: number;
  events: number;
  rate: number | null;
}

export interface StreamEvidence {
  /** latency: the bound in ms; null for a rate metric */
  boundMs: number | null;
  alpha: number;
  estimate: number | null;
  lower: number | null;
  upper: number | null;
  pValue: number;
  harmPValue: number;
  canary: ArmSummary;
  baseline: ArmSummary;
  /** present when the look was given a history */
  history?: HistoryEvidence;
}

export interface CompareEvidence {
  metric: CompareMetric;
  verdict: CompareVerdict;
  statistic: 'log_rate_ratio' | 'rate_difference';
  /** the stream that decides (the worst one for latency) */
  estimate: number | null;
  lower: number | null;
  upper: number | null;
  /** the effect in plain units: canary/baseline ratio, or canary − baseline difference */
  effect: {
    scale: 'ratio' | 'difference';
    estimate: number | null;
    lower: number | null;
    upper: number | null;
  };
  /** always-valid p-value of "the canary is no worse"; fail when ≤ alpha */
  pValue: number;
  /** 1 / pValue: the e-value of the regression evidence (capped at 1e300) */
  eValue: number;
  /** always-valid p-value of "the canary is worse by the margin or more"; pass when ≤ alpha */
  harmPValue: number;
  alpha: number;
  margin: CompareMargin;
  minSamples: number;
  mixtureScale: number;
  looks: number;
  samples: { canary: ArmSummary; baseline: ArmSummary };
  streams: StreamEvidence[];
  /** the deciding stream's history evidence; present when the look was given a history */
  history?: HistoryEvidence;
  reasons: string[];
}

export interface CompareGateResult {
  verdict: CompareVerdict;
  evidence: CompareEvidence;
  state: CompareGateState;
}
