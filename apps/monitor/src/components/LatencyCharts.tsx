import type { RunSnapshot } from '@batchlight/api';
import { memo, useMemo } from 'react';
import {
  Bar,
  BarChart,
  CartesianGrid,
  ComposedChart,
  Legend,
  Line,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts';

const COLORS = ['#2563eb', '#db2777', '#059669', '#d97706', '#7c3aed', '#0891b2', '#dc2626', '#4b5563'];

interface Props {
  /** The server's aggregates over the whole run; the page passes a new one at most once a second. */
  snapshot: RunSnapshot | null;
  names: Map<string, string>;
}

const fmtBin = (ms: number) =>
  ms < 10 ? ms.toFixed(1) : ms < 1000 ? `${Math.round(ms)}` : `${(ms / 1000).toFixed(1)}s`;

/**
 * Latency over time (the mean per bucket, and items finished per second) and a latency histogram
 * per model, both from the server's bins: the whole run at a bounded size, however many calls it
 * made. Redrawn only when a new snapshot comes (memo on it).
 */
export const LatencyCharts = memo(function LatencyCharts({ snapshot, names }: Props) {
  const { series, bins, modelNames } = useMemo(() => {
    if (!snapshot) return { series: [], bins: [], modelNames: [] };
    const { bucketMs, points } = snapshot.series;
    const series = points.map((p, i) => ({
      t: +((i * bucketMs) / 1000).toFixed(2),
      ms: p.completed ? Math.round(p.latencySum / p.completed) : null,
      perSecond: +((p.completed + p.failed) / (bucketMs / 1000)).toFixed(1),
    }));
    // One row per bin any model used, stacked by model; bins are log-spaced (8% wide).
    const rows = new Map<number, Record<string, number | string>>();
    const modelNames = snapshot.models.map((m) => names.get(m.modelId) ?? m.modelId);
    snapshot.models.forEach((m, i) => {
      for (const b of m.latency.bins) {
        const row = rows.get(b.lo) ?? { bin: fmtBin(b.lo) };
        row[modelNames[i]!] = b.count;
        rows.set(b.lo, row);
      }
    });
    const bins = [...rows.entries()].sort((a, b) => a[0] - b[0]).map(([, r]) => r);
    return { series, bins, modelNames };
  }, [snapshot, names]);
  if (!snapshot?.latency.count)
    return <div className="card muted charts-empty">Latency charts appear as calls complete.</div>;
  return (
    <div className="two-col charts" data-testid="charts" data-calls={snapshot.latency.count}>
      <div className="card">
        <h3>Latency over time (mean) and items per second</h3>
        <ResponsiveContainer width="100%" height={220}>
          <ComposedChart data={series} margin={{ top: 8, right: 12, bottom: 4, left: 0 }}>
            <CartesianGrid stroke="#eef0f3" />
            <XAxis type="number" dataKey="t" unit="s" tick={{ fontSize: 11 }} domain={[0, 'dataMax']} />
            <YAxis yAxisId="ms" unit="ms" tick={{ fontSize: 11 }} width={64} />
            <YAxis yAxisId="rate" orientation="right" tick={{ fontSize: 11 }} width={48} />
            <Tooltip />
            <Legend wrapperStyle={{ fontSize: 12 }} />
            <Line
              yAxisId="ms"
              dataKey="ms"
              name="mean latency"
              stroke={COLORS[0]}
              dot={false}
              isAnimationActive={false}
            />
            <Line
              yAxisId="rate"
              dataKey="perSecond"
              name="items/s"
              stroke={COLORS[2]}
              dot={false}
              isAnimationActive={false}
            />
          </ComposedChart>
        </ResponsiveContainer>
      </div>
      <div className="card">
        <h3>
          Latency histogram (ms) · p50 {fmtBin(snapshot.latency.p50 ?? 0)} · p95 {fmtBin(snapshot.latency.p95 ?? 0)}
        </h3>
        <ResponsiveContainer width="100%" height={220}>
          <BarChart data={bins} margin={{ top: 8, right: 12, bottom: 4, left: 0 }}>
            <CartesianGrid stroke="#eef0f3" />
            <XAxis dataKey="bin" tick={{ fontSize: 11 }} />
            <YAxis allowDecimals={false} tick={{ fontSize: 11 }} width={48} />
            <Tooltip />
            <Legend wrapperStyle={{ fontSize: 12 }} />
            {modelNames.map((n, i) => (
              <Bar key={n} dataKey={n} stackId="a" fill={COLORS[i % COLORS.length]} isAnimationActive={false} />
            ))}
          </BarChart>
        </ResponsiveContainer>
      </div>
    </div>
  );
});
