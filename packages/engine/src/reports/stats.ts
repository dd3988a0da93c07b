// Percentiles of the reports, the monitor (in the browser, through @batchlight/api/stats) and bench:
// no imports, so it runs anywhere.
/** Nearest-rank percentile of ascending values (p in 0..100); null for no values. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (!sorted.length) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export const ascending = (values: Array<number | null>) =>
  values.filter((v): v is number => v !== null).sort((a, b) => a - b);
