/**
 * A seeded pseudo-random source for the judgment harness: xorshift128+ style state in 32-bit
 * integers (sfc32), with the samplers the traffic models need. Same seed, same draws.
 */
export interface Random {
  /** uniform in [0, 1) */
  next(): number;
  normal(): number;
  /** Gamma(shape, scale 1) */
  gamma(shape: number): number;
  poisson(mean: number): number;
  binomial(n: number, p: number): number;
}

/** A 32-bit hash of a string and integers, to derive one seed per configuration and run. */
export function seedOf(...parts: (string | number)[]): number {
  let h = 2166136261;
  for (const part of parts) {
    const text = String(part);
    for (let i = 0; i < text.length; i += 1) {
      h ^= text.charCodeAt(i);
      h = Math.imul(h, 16777619);
    }
    h ^= 0x2c;
    h = Math.imul(h, 16777619);
  }
  return h >>> 0;
}

export function createRandom(seed: number): Random {
  let a = 0x9e3779b9;
  let b = 0x243f6a88;
  let c = 0xb7e15162;
  let d = seed >>> 0;
  const next = (): number => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    let t = (a + b) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    d = (d + 1) | 0;
    t = (t + d) | 0;
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 12; i += 1) next();
  let spare = Number.NaN;
  const normal = (): number => {
    if (!Number.isNaN(spare)) {
      const s = spare;
      spare = Number.NaN;
      return s;
    }
    let u = 0;
    while (u === 0) u = next();
    const v = next();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
  const gamma = (shape: number): number => {
    // Marsaglia & Tsang; shape < 1 through the boost Gamma(k) = Gamma(k + 1) · U^(1/k)
    if (shape < 1) return gamma(shape + 1) * Math.pow(next() || 1e-300, 1 / shape);
    const dd = shape - 1 / 3;
    const cc = 1 / Math.sqrt(9 * dd);
    for (;;) {
      let x = 0;
      let v = 0;
      do {
        x = normal();
        v = 1 + cc * x;
      } while (v <= 0);
      v = v * v * v;
      const u = next();
      if (u < 1 - 0.0331 * x * x * x * x) return dd * v;
      if (Math.log(u) < 0.5 * x * x + dd * (1 - v + Math.log(v))) return dd * v;
    }
  };
  const poisson = (mean: number): number => {
    if (mean <= 0) return 0;
    if (mean < 30) {
      const limit = Math.exp(-mean);
      let k = 0;
      let p = next();
      while (p > limit) {
        k += 1;
        p *= next();
      }
      return k;
    }
    // normal approximation with continuity correction: accurate enough at these means
    return Math.max(0, Math.round(mean + Math.sqrt(mean) * normal()));
  };
  const binomial = (n: number, p: number): number => {
    if (n <= 0 || p <= 0) return 0;
    if (p >= 1) return n;
    const q = Math.min(p, 1 - p);
    let k = 0;
    if (n * q < 15) {
      // inversion by waiting times (geometric gaps)
      const logQ = Math.log(1 - q);
      let i = 0;
      for (;;) {
        i += Math.floor(Math.log(next() || 1e-300) / logQ) + 1;
        if (i > n) break;
        k += 1;
      }
    } else {
      k = Math.round(n * q + Math.sqrt(n * q * (1 - q)) * normal());
      k = Math.min(n, Math.max(0, k));
    }
    return q === p ? k : n - k;
  };
  return { next, normal, gamma, poisson, binomial };
}
