/**
 * The effect of a `compare` gate measured against each target's own history
 * (docs/adr/0017-canary-judgment-against-target-history.md).
 *
 * Sticky bucketing puts a random mix of targets on each side of a stage; when targets differ
 * persistently, the two sides differ even in an A/A stage, and that difference never shrinks.
 * Each target's reports from before the stage (both sides still ran the base pack) tell what that
 * target does without the new pack, so each side's events are compared with what its own targets
 * would have produced:
 *
 *   r̂_i = (h_i + m R) / (H_i + m)   the target's pre-stage rate (h_i events in H_i requests),
 *                                    shrunk towards the pooled pre-stage rate R of both sides with
 *                                    the weight m = R / s², s² how much the targets' true rates
 *                                    differ as the history shows it (empirical Bayes, gamma-Poisson)
 *   x_i = n_i · r̂_i                            its expected events in the stage (n_i requests)
 *   O = Σ e_i, X = Σ x_i                        per side, observed and expected events
 *   θ̂ = ln((O_c + ½)/(X_c + ½)) − ln((O_b + ½)/(X_b + ½))
 *
 * (a relative margin; the absolute one is (O_c + ½)/N_c − D_b · (X_c + ½)/N_c with
 * D_b = (O_b + ½)/(X_b + ½):
 * the canary's rate minus the rate its own targets would have at the baseline's observed-to-
 * expected ratio). The baseline's observed-to-expected ratio carries what changed for everyone
 * between the history and the stage (a bad day, the time of day), so it cancels. The variance
 * counts the stage's events as Poisson and the history's own noise, var(x_i) ≈ n_i² r̂_i / (H_i + m)
 * (the posterior variance; a target with a long history is its own measure, one without is
 * expected at R with the variance s²),
 * and is multiplied by a dispersion φ ≥ 1 measured on what is left: the spread of each target's
 * events around D · x_i, over the spread those two noises alone would give. Pure arithmetic.
 */

/** One side's stage totals measured against its targets' history, for one stream. */
export interface HistoryArm {
  /** stage requests and events of the targets with stage requests */
  requests: number;
  observed: number;
  /** the events the targets' own history expects for those requests */
  expected: number;
  /** the variance of `expected` that comes from the history's own noise */
  expectedVariance: number;
  /** Σ (e_i − D x_i)² with D = O / X */
  spread: number;
  /** what `spread` would be in expectation from stage Poisson noise and history noise alone */
  spreadExpected: number;
  /** the side's history: targets, requests and events (every history target of the side) */
  history: { targets: number; requests: number; events: number };
  /** stage targets that had history of their own (the others get the side's pooled rate) */
  targetsWithHistory: number;
}

/** The pooled pre-stage rate of both sides and the weight a target's own history is shrunk with. */
export interface HistoryPrior {
  /** R: events over requests of every target's history (½ an event so a quiet history has one) */
  rate: number;
  /** m = R / s²: s² the variance of the targets' true rates; Infinity when they look alike */
  weight: number;
  /** s², estimated from the history */
  between: number;
}

/**
 * How much the targets' pre-stage rates differ beyond their noise: s² by the method of moments,
 * Σ H_i (r_i − R)² = (K − 1) φ R + s² (ΣH − ΣH²/ΣH) in expectation (φ ≥ 1 the look-to-look
 * dispersion, which a history total carries as a stage look does). When s² is 0 every target is
 * expected at R, and the test is the one without history.
 */
export function historyPrior(
  sides: readonly Readonly<Record<string, number[]>>[],
  stream: number,
  dispersion: number,
): HistoryPrior {
  const rows: [number, number][] = [];
  let requests = 0;
  let events = 0;
  let squares = 0;
  for (const side of sides) {
    for (const id of Object.keys(side).sort()) {
      const row = side[id] as number[];
      const n = row[0] as number;
      if (n <= 0) continue;
      const e = row[stream + 1] as number;
      rows.push([n, e]);
      requests += n;
      events += e;
      squares += n * n;
    }
  }
  const rate = (events + 0.5) / (requests + 1);
  let spread = 0;
  for (const [n, e] of rows) spread += (e - rate * n) ** 2 / n;
  const scale = requests - (requests > 0 ? squares / requests : 0);
  const excess = spread - Math.max(0, rows.length - 1) * dispersion * rate;
  const between = scale > 0 ? Math.max(0, excess / scale) : 0;
  return { rate, weight: between > 0 ? rate / between : Infinity, between };
}

/**
 * One side of one stream. `stage` and `history` map target ids to [requests, events of stream 0,
 * events of stream 1, …] totals.
 */
export function historyArm(
  stage: Readonly<Record<string, number[]>>,
  history: Readonly<Record<string, number[]>>,
  stream: number,
  prior: HistoryPrior,
): HistoryArm {
  let hRequests = 0;
  let hEvents = 0;
  let hTargets = 0;
  for (const id of Object.keys(history).sort()) {
    const row = history[id] as number[];
    const n = row[0] as number;
    if (n <= 0) continue;
    hRequests += n;
    hEvents += row[stream + 1] as number;
    hTargets += 1;
  }
  const { rate: pooled, weight } = prior;
  const rows: { n: number; e: number; x: number; v: number }[] = [];
  let requests = 0;
  let observed = 0;
  let expected = 0;
  let expectedVariance = 0;
  let targetsWithHistory = 0;
  for (const id of Object.keys(stage).sort()) {
    const row = stage[id] as number[];
    const n = row[0] as number;
    if (n <= 0) continue;
    const past = history[id];
    const H = past === undefined ? 0 : Math.max(0, past[0] as number);
    const h = past === undefined || H === 0 ? 0 : (past[stream + 1] as number);
    if (H > 0) targetsWithHistory += 1;
    // the gamma-Poisson posterior mean and variance of the target's rate
    const rate = weight === Infinity ? pooled : (h + weight * pooled) / (H + weight);
    const x = n * rate;
    const v = weight === Infinity ? 0 : (n * n * rate) / (H + weight);
    const e = row[stream + 1] as number;
    rows.push({ n, e, x, v });
    requests += n;
    observed += e;
    expected += x;
    expectedVariance += v;
  }
  // the side's observed-to-expected ratio fitted exactly (as a side's rate is without history)
  const ratio = expected > 0 ? observed / expected : 0;
  let spread = 0;
  let squares = 0;
  for (const { e, x } of rows) {
    const d = e - ratio * x;
    spread += d * d;
    squares += x * x;
  }
  const concentration = expected > 0 ? squares / (expected * expected) : 1;
  const spreadExpected = ratio * expected * (1 - concentration) + ratio * ratio * expectedVariance;
  return {
    requests,
    observed,
    expected,
    expectedVariance,
    spread,
    spreadExpected,
    history: { targets: hTargets, requests: hRequests, events: hEvents },
    targetsWithHistory,
  };
}

/**
 * θ̂ and its variance against history, and the dispersion φ used. `looks` is the look-to-look
 * spread of the stage (bursts), as for the gate without history.
 */
export function historyEffect(
  c: HistoryArm,
  b: HistoryArm,
  relative: boolean,
  looks: { spread: number; expected: number },
): { estimate: number; variance: number; dispersion: number } {
  const residual = c.spreadExpected + b.spreadExpected;
  const between = residual > 0 ? (c.spread + b.spread) / residual : 1;
  const within = looks.expected > 0 ? looks.spread / looks.expected : 1;
  const phi = Math.max(1, between, within);
  const co = c.observed + 0.5;
  const bo = b.observed + 0.5;
  const cx = c.expected + 0.5;
  const bx = b.expected + 0.5;
  if (relative) {
    return {
      estimate: Math.log(co / cx) - Math.log(bo / bx),
      variance:
        phi * (1 / co + 1 / bo + c.expectedVariance / (cx * cx) + b.expectedVariance / (bx * bx)),
      dispersion: phi,
    };
  }
  // ½ on both of the canary's counts, as on the baseline's: the estimate's sign is that of
  // co/cx − bo/bx, so swapping the sides turns it (a shared change cannot show on both sides)
  const cn = Math.max(c.requests, 1);
  const ratio = bo / bx;
  const canaryExpectedRate = (ratio * cx) / cn;
  return {
    estimate: co / cn - canaryExpectedRate,
    variance:
      phi *
      (co / (cn * cn) +
        canaryExpectedRate * canaryExpectedRate * (1 / bo + b.expectedVariance / (bx * bx)) +
        (ratio * ratio * c.expectedVariance) / (cn * cn)),
    dispersion: phi,
  };
}
