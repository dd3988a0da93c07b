// The statistics of scores: intervals for one model's pass rate and mean score, and paired tests
// for two models (or two runs) on the same prompts. No imports: it runs in the server, the CLI
// and the browser alike. Every result carries what a sentence about it may honestly say.

/** z for a two-sided 95% interval. */
export const Z95 = 1.959963984540054;

export interface Interval {
  /** The point estimate. */
  value: number;
  low: number;
  high: number;
}

/**
 * Wilson score interval for `passes` out of `n` (95% by default): unlike the normal approximation
 * it stays inside [0, 1] and is right at small n and near 0 or 1. Null when n is 0.
 */
export function wilson(passes: number, n: number, z = Z95): Interval | null {
  if (n <= 0) return null;
  if (passes < 0 || passes > n) throw new RangeError(`passes (${passes}) must be within 0..n (${n})`);
  const p = passes / n;
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denom;
  return { value: p, low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

/** A seeded PRNG (mulberry32): the same seed gives the same bootstrap, so reports are reproducible. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface BootstrapOptions {
  /** Resamples drawn; 2,000 by default. */
  resamples?: number;
  /** Default 0.95. */
  confidence?: number;
  /** Default 1: a report computed twice says the same. */
  seed?: number;
}

/**
 * Percentile bootstrap interval for the mean of `values` (resampled with replacement). For paired
 * data pass the per-pair differences. Null for no values.
 */
export function bootstrapMean(values: readonly number[], opts: BootstrapOptions = {}): Interval | null {
  const n = values.length;
  if (!n) return null;
  const resamples = opts.resamples ?? 2_000;
  const confidence = opts.confidence ?? 0.95;
  const random = seededRandom(opts.seed ?? 1);
  const mean = values.reduce((s, v) => s + v, 0) / n;
  const means = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += values[Math.floor(random() * n)]!;
    means[r] = sum / n;
  }
  means.sort();
  const alpha = (1 - confidence) / 2;
  const at = (q: number) => means[Math.min(resamples - 1, Math.max(0, Math.round(q * (resamples - 1))))]!;
  return { value: mean, low: Math.min(at(alpha), mean), high: Math.max(at(1 - alpha), mean) };
}

/**
 * McNemar's exact test on the discordant pairs: `b` prompts pass under A and fail under B, `c`
 * the other way. Two-sided p of a binomial(b + c, 1/2), computed in log space (no underflow at
 * large counts). 1 when there is no discordant pair.
 */
export function mcnemarExact(b: number, c: number): number {
  const n = b + c;
  if (n === 0) return 1;
  const k = Math.min(b, c);
  // log C(n, i) - n log 2, summed for i = 0..k with log-sum-exp.
  const logHalfN = -n * Math.LN2;
  let logC = 0;
  const terms: number[] = [];
  for (let i = 0; i <= k; i++) {
    terms.push(logC + logHalfN);
    logC += Math.log(n - i) - Math.log(i + 1);
  }
  const max = Math.max(...terms);
  const tail = Math.exp(max) * terms.reduce((s, t) => s + Math.exp(t - max), 0);
  return Math.min(1, 2 * tail);
}

/** One prompt's result under two models (or two runs): null where it was not scored (an error). */
export interface PairedResult {
  key: string;
  a: { pass: boolean; score: number } | null;
  b: { pass: boolean; score: number } | null;
}

export interface PairedComparison {
  labelA: string;
  labelB: string;
  /** Prompts scored under both. */
  pairs: number;
  /** Pass under A, fail under B; and the other way. */
  onlyA: number;
  onlyB: number;
  /** McNemar exact p on the pass/fail pairs. */
  mcnemarP: number;
  /** Mean of (A − B) in points (scores × 100), with its paired bootstrap interval. */
  scoreDiff: Interval | null;
  /** Pass rate of A minus B in points, with its paired bootstrap interval. */
  passDiff: Interval | null;
  /** Whether the data show a difference: p < 0.05 and the interval leaves out 0. */
  significant: boolean;
  /** The sentence to show: "A is better than B by …" only when `significant`. */
  summary: string;
}

const points = (x: number) => (Math.round(x * 10) / 10).toFixed(1);

/** "6.2 points (95% CI 2.1 to 10.3)". */
export function describeInterval(i: Interval, unit = 'points'): string {
  return `${points(i.value)} ${unit} (95% CI ${points(i.low)} to ${points(i.high)})`;
}

/**
 * Compares A with B on the prompts both scored: McNemar exact for pass/fail, a paired bootstrap of
 * the differences for scores and pass rates. "Better" is said only when the test is significant at
 * 0.05 and the interval leaves out 0; otherwise "no significant difference".
 */
export function comparePaired(
  labelA: string,
  labelB: string,
  results: readonly PairedResult[],
  opts: BootstrapOptions = {},
): PairedComparison {
  const both = results.filter((r) => r.a && r.b) as Array<{
    key: string;
    a: { pass: boolean; score: number };
    b: { pass: boolean; score: number };
  }>;
  const onlyA = both.filter((r) => r.a.pass && !r.b.pass).length;
  const onlyB = both.filter((r) => !r.a.pass && r.b.pass).length;
  const mcnemarP = mcnemarExact(onlyA, onlyB);
  const scoreDiff = bootstrapMean(
    both.map((r) => (r.a.score - r.b.score) * 100),
    opts,
  );
  const passDiff = bootstrapMean(
    both.map((r) => (Number(r.a.pass) - Number(r.b.pass)) * 100),
    opts,
  );
  const excludesZero = (i: Interval | null) => i !== null && (i.low > 0 || i.high < 0);
  const significant = mcnemarP < 0.05 && excludesZero(passDiff);
  let summary: string;
  if (!both.length) summary = `no prompt was scored under both ${labelA} and ${labelB}: nothing to compare`;
  else if (significant && passDiff) {
    const [winner, loser] = passDiff.value > 0 ? [labelA, labelB] : [labelB, labelA];
    const d = passDiff.value > 0 ? passDiff : { value: -passDiff.value, low: -passDiff.high, high: -passDiff.low };
    summary = `${winner} is better than ${loser} by ${describeInterval(d)} of pass rate, on ${both.length} shared prompts (McNemar p = ${formatP(mcnemarP)})`;
  } else {
    summary = `no significant difference between ${labelA} and ${labelB} on ${both.length} shared prompts (${labelA} − ${labelB}: ${passDiff ? describeInterval(passDiff) : 'n/a'} of pass rate, McNemar p = ${formatP(mcnemarP)})`;
  }
  return { labelA, labelB, pairs: both.length, onlyA, onlyB, mcnemarP, scoreDiff, passDiff, significant, summary };
}

export function formatP(p: number): string {
  if (p < 0.001) return '< 0.001';
  return p.toFixed(3);
}

/**
 * Per prompt with repeats: the share of its answered repeats that agree with the majority
 * (1 = every repeat passed, or every repeat failed). Prompts with fewer than two answered repeats
 * have no consistency to show and are left out.
 */
export function consistency(
  byPrompt: ReadonlyMap<string, readonly boolean[]>,
): Array<{ key: string; consistency: number; passes: number; answered: number }> {
  const out: Array<{ key: string; consistency: number; passes: number; answered: number }> = [];
  for (const [key, passes] of byPrompt) {
    if (passes.length < 2) continue;
    const k = passes.filter(Boolean).length;
    out.push({ key, consistency: Math.max(k, passes.length - k) / passes.length, passes: k, answered: passes.length });
  }
  // Flakiest first: the lowest agreement, then the most repeats.
  return out.sort((x, y) => x.consistency - y.consistency || y.answered - x.answered);
}
