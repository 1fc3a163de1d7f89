/**
 * The normal-mixture tests behind every `compare` gate, on one effect estimate at a time.
 *
 * Given an estimate θ̂ of an effect θ with variance V (θ̂ ≈ N(θ, V)) and a normal mixing
 * distribution of scale τ over the alternatives, the mixture likelihood ratio against θ₀ is
 *
 *   two-sided, N(θ₀, τ²):  Λ(θ₀) = √(V / (V + τ²)) · exp(τ² d² / (2 V (V + τ²))),  d = θ̂ − θ₀
 *   one-sided, the half-normal on one side of θ₀:  Λ₊(θ₀) = 2 Λ(θ₀) · Φ(±d τ / √(V (V + τ²)))
 *
 * Each is a nonnegative martingale under θ = θ₀ (Robbins 1970; Johari, Pekelis & Walsh, "Always
 * valid inference", Operations Research 2022), and the one-sided one a supermartingale for every θ
 * on the null side, so Ville's inequality bounds the chance it ever reaches 1/α by α, however
 * often it is looked at. Inverting the two-sided test gives the confidence sequence θ̂ ± w,
 *
 *   w = √(V (V + τ²) / τ² · (2 ln(1/α) + ln((V + τ²) / V)))
 *
 * which covers θ at every look at once with probability ≥ 1 − α. Pure arithmetic; no state.
 */

export interface MixtureBoundary {
  /** the half-width w of the two-sided confidence sequence at level α */
  halfWidth: number;
  /** ln Λ₊ for "θ > θ₀" (evidence that the effect is above θ₀) */
  logAbove: number;
  /** ln Λ₊ for "θ < θ₀" (evidence that the effect is below θ₀) */
  logBelow: number;
}

/** ln Φ(x) of the standard normal, accurate in both tails (erfc, Numerical Recipes erfcc). */
export function logNormalCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.5 * z);
  // ln erfc(z) for z ≥ 0, fractional error < 1.2e-7 everywhere
  const logErfc =
    Math.log(t) -
    z * z -
    1.26551223 +
    t *
      (1.00002368 +
        t *
          (0.37409196 +
            t *
              (0.09678418 +
                t *
                  (-0.18628806 +
                    t *
                      (0.27886807 +
                        t *
                          (-1.13520398 +
                            t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  // Φ(x) = erfc(−x/√2) / 2
  if (x < 0) return logErfc - Math.LN2;
  return Math.log1p(-Math.exp(logErfc) / 2);
}

/** The confidence-sequence half-width and the one-sided mixture log-likelihood ratios. */
export function mixtureBoundary(
  estimate: number,
  variance: number,
  nullValue: number,
  mixtureScale: number,
  alpha: number,
): MixtureBoundary {
  const v = variance;
  const t2 = mixtureScale * mixtureScale;
  const d = estimate - nullValue;
  const logTwoSided = 0.5 * Math.log(v / (v + t2)) + (t2 * d * d) / (2 * v * (v + t2));
  const shift = (d * mixtureScale) / Math.sqrt(v * (v + t2));
  const halfWidth = Math.sqrt(
    ((v * (v + t2)) / t2) * (2 * Math.log(1 / alpha) + Math.log((v + t2) / v)),
  );
  return {
    halfWidth,
    logAbove: Math.LN2 + logTwoSided + logNormalCdf(shift),
    logBelow: Math.LN2 + logTwoSided + logNormalCdf(-shift),
  };
}
