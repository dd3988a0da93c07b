// How the monitor words and colours scores: one cell's verdict, a pass rate with its interval.

export interface CellScore {
  scorer: string;
  /** pass | fail | error */
  status: string;
  score: number | null;
  reason: string;
}

/**
 * One verdict for a cell: any failing scorer fails it; otherwise an error (nothing fit to judge)
 * keeps it from passing; all passing passes. A cell with no scores has no verdict.
 */
export function cellVerdict(scores: readonly CellScore[]): 'pass' | 'fail' | 'error' | null {
  if (scores.length === 0) return null;
  if (scores.some((s) => s.status === 'fail')) return 'fail';
  if (scores.some((s) => s.status !== 'pass')) return 'error';
  return 'pass';
}

/** The hover text of one score: which scorer, its verdict, and why (one line each). */
export function scoreTitle(s: CellScore): string {
  const value = s.score == null ? '' : ` ${s.score.toFixed(2)}`;
  return `${s.scorer}: ${s.status}${value} — ${s.reason}`;
}

const pct = (v: number) => `${(v * 100).toFixed(1)}%`;

/** "80.0% (95% CI 49.0–94.3%)", or "—" when nothing was answered. */
export function passRateText(rate: { value: number; low: number; high: number } | null): string {
  if (!rate) return '—';
  return `${pct(rate.value)} (95% CI ${(rate.low * 100).toFixed(1)}–${pct(rate.high)})`;
}
