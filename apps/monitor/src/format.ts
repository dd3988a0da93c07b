export const fmtMs = (v: number | null | undefined) =>
  v == null ? '—' : v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : `${Math.round(v)} ms`;
export const fmtUsd = (v: number | null | undefined) =>
  v == null ? '—' : v === 0 ? '$0' : v < 0.01 ? `$${v.toFixed(5)}` : `$${v.toFixed(4)}`;
export const fmtPct = (v: number | null | undefined) => (v == null ? '—' : `${(v * 100).toFixed(1)}%`);
export const fmtInt = (v: number | null | undefined) => (v == null ? '—' : v.toLocaleString('en-US'));
export function fmtDuration(ms: number | null | undefined): string {
  if (ms == null) return '—';
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  return m < 60
    ? `${m}m ${String(s % 60).padStart(2, '0')}s`
    : `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}
export const fmtTime = (d: Date | string | null | undefined) => (d ? new Date(d).toLocaleString() : '—');
