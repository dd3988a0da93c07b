import { memo, useMemo } from 'react';
import {
  Bar,
  BarChart,
  CartesianGrid,
  Legend,
  ResponsiveContainer,
  Scatter,
  ScatterChart,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts';

const COLORS = ['#2563eb', '#db2777', '#059669', '#d97706', '#7c3aed', '#0891b2', '#dc2626', '#4b5563'];
const MAX_DRAWN = 1500;

interface Props {
  points: Array<{ at: number; latencyMs: number; modelId: string }>;
  names: Map<string, string>;
  version: number;
}

/** Latency over time (one series per model) and a latency histogram. */
export const LatencyCharts = memo(function LatencyCharts({ points, names, version }: Props) {
  const { series, bins, t0 } = useMemo(() => {
    const t0 = points[0]?.at ?? 0;
    // Beyond a few thousand dots a chart is a smear: draw an even sample.
    const step = Math.max(1, Math.ceil(points.length / MAX_DRAWN));
    const byModel = new Map<string, Array<{ t: number; ms: number }>>();
    for (let i = 0; i < points.length; i += step) {
      const p = points[i]!;
      const arr = byModel.get(p.modelId) ?? [];
      arr.push({ t: (p.at - t0) / 1000, ms: Math.round(p.latencyMs) });
      byModel.set(p.modelId, arr);
    }
    const values = points.map((p) => p.latencyMs);
    const max = values.length ? Math.max(...values) : 0;
    const width = max > 0 ? niceStep(max / 20) : 1;
    const counts = new Map<number, Record<string, number>>();
    for (const p of points) {
      const b = Math.floor(p.latencyMs / width);
      const row = counts.get(b) ?? {};
      const name = names.get(p.modelId) ?? p.modelId;
      row[name] = (row[name] ?? 0) + 1;
      counts.set(b, row);
    }
    // Every bin from 0 to the slowest call, empty ones too, so the x axis is to scale.
    const bins = [];
    for (let b = 0; b * width <= max; b++) bins.push({ bin: `${+(b * width).toPrecision(6)}`, ...counts.get(b) });
    return { series: [...byModel.entries()], bins, t0 };
  }, [points, points.length, names, version]);
  void t0;
  const modelNames = [...names.values()];
  // One colour per model, the same in both charts: by the model's place in the run.
  const colorOf = (modelId: string) => COLORS[Math.max(0, [...names.keys()].indexOf(modelId)) % COLORS.length];
  if (!points.length) return <div className="card muted charts-empty">Latency charts appear as calls complete.</div>;
  return (
    <div className="two-col charts">
      <div className="card">
        <h3>Latency over time</h3>
        <ResponsiveContainer width="100%" height={220}>
          <ScatterChart margin={{ top: 8, right: 12, bottom: 4, left: 0 }}>
            <CartesianGrid stroke="#eef0f3" />
            <XAxis type="number" dataKey="t" unit="s" tick={{ fontSize: 11 }} />
            <YAxis type="number" dataKey="ms" unit="ms" tick={{ fontSize: 11 }} width={64} />
            <Tooltip cursor={false} />
            <Legend wrapperStyle={{ fontSize: 12 }} />
            {series.map(([modelId, data]) => (
              <Scatter
                key={modelId}
                name={names.get(modelId) ?? modelId}
                data={data}
                fill={colorOf(modelId)}
                isAnimationActive={false}
                shape="circle"
              />
            ))}
          </ScatterChart>
        </ResponsiveContainer>
      </div>
      <div className="card">
        <h3>Latency histogram (ms)</h3>
        <ResponsiveContainer width="100%" height={220}>
          <BarChart data={bins} margin={{ top: 8, right: 12, bottom: 4, left: 0 }}>
            <CartesianGrid stroke="#eef0f3" />
            <XAxis dataKey="bin" tick={{ fontSize: 11 }} />
            <YAxis allowDecimals={false} tick={{ fontSize: 11 }} width={40} />
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

function niceStep(raw: number): number {
  const pow = 10 ** Math.floor(Math.log10(raw));
  const m = raw / pow;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * pow;
}
