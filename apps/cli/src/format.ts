// Output: JSON or text on stdout, and the plain-text helpers (tables, durations, money).
import { throughput } from '@batchlight/api/outcome';

/** A command's result on stdout: `data` as JSON with --json, else the text. */
export function print(json: boolean, data: unknown, text: () => string): void {
  console.log(json ? JSON.stringify(data, null, 2) : text());
}

export function table(
  headers: string[],
  rows: Array<Array<string | number | null>>,
  align: Array<'l' | 'r'> = [],
): string {
  const cells = rows.map((r) => r.map((c) => (c === null ? '—' : String(c))));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (align[i] === 'r' ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), widths.map((w) => '─'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}

export const ms = (v: number | null | undefined) =>
  v == null ? null : v >= 10_000 ? `${(v / 1000).toFixed(1)}s` : `${Math.round(v)}ms`;
export const usd = (v: number | null | undefined) =>
  v == null ? null : v === 0 ? '$0' : v < 0.01 ? `$${v.toFixed(5)}` : `$${v.toFixed(4)}`;
export const pct = (v: number | null | undefined) => (v == null ? null : `${(v * 100).toFixed(1)}%`);

export function duration(msTotal: number): string {
  if (msTotal < 10_000) return `${(Math.max(0, msTotal) / 1000).toFixed(1)}s`;
  const s = Math.round(msTotal / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  return m < 60
    ? `${m}m${String(s % 60).padStart(2, '0')}s`
    : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export function bar(fraction: number, width = 28): string {
  const f = Math.max(0, Math.min(1, fraction));
  const full = Math.round(f * width);
  return '█'.repeat(full) + '░'.repeat(width - full);
}

/** A run's active time (over every stretch), wall time (first start to finish) and throughput. */
export function times(r: {
  activeMs: number | null;
  wallMs: number | null;
  completedItems: number;
  failedItems: number;
  finishedAt: Date | null;
}): string {
  if (r.activeMs == null || r.wallMs == null) return 'not started';
  const rate = throughput(r.completedItems + r.failedItems, r.activeMs);
  return [
    `active ${duration(r.activeMs)}`,
    `wall ${duration(r.wallMs)}${r.finishedAt ? '' : ' so far'}`,
    ...(rate != null ? [`${rate.toFixed(1)} items/s`] : []),
  ].join(' · ');
}
