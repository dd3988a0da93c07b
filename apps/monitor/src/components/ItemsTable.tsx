import { useVirtualizer } from '@tanstack/react-virtual';
import { useMemo, useRef, useState } from 'react';
import { fmtMs, fmtUsd } from '../format';
import type { RunState } from '../run-state';
import { AttributionBadge, StatusBadge } from './ui';

interface Props {
  state: RunState;
  version: number;
  names: Map<string, string>;
  onOpen: (traceId: string) => void;
}

const ROW = 34;

/** Every item of the run, virtualised: only the rows on screen are in the DOM. */
export function ItemsTable({ state, version, names, onOpen }: Props) {
  const [status, setStatus] = useState('');
  const [model, setModel] = useState('');
  const ids = useMemo(
    () =>
      state.order.filter((id) => {
        const r = state.rows.get(id)!;
        return (
          (!status || r.status === status || (status === 'mismatch' && r.attribution === 'mismatch')) &&
          (!model || r.modelId === model)
        );
      }),
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [version, status, model, state.order.length],
  );
  const scroller = useRef<HTMLDivElement>(null);
  const v = useVirtualizer({
    count: ids.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW,
    overscan: 12,
  });

  return (
    <div className="card">
      <div className="table-head">
        <h3>
          Prompts <span className="muted">({ids.length.toLocaleString()})</span>
        </h3>
        <div className="filters">
          <select aria-label="status filter" value={status} onChange={(e) => setStatus(e.target.value)}>
            <option value="">all statuses</option>
            {['pending', 'running', 'retrying', 'completed', 'failed', 'cancelled', 'mismatch'].map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
          <select aria-label="model filter" value={model} onChange={(e) => setModel(e.target.value)}>
            <option value="">all models</option>
            {[...names].map(([id, n]) => (
              <option key={id} value={id}>
                {n}
              </option>
            ))}
          </select>
        </div>
      </div>
      <div className="vt-header vt-row">
        <span>#</span>
        <span>status</span>
        <span>model</span>
        <span className="num">att.</span>
        <span className="num">latency</span>
        <span className="num">tokens</span>
        <span className="num">cost</span>
        <span>attribution</span>
        <span>output</span>
      </div>
      <div ref={scroller} className="vt-scroll" data-testid="items">
        <div style={{ height: v.getTotalSize(), position: 'relative' }}>
          {v.getVirtualItems().map((vi) => {
            const r = state.rows.get(ids[vi.index]!)!;
            return (
              <button
                type="button"
                key={r.id}
                className={`vt-row${r.traceId ? ' clickable' : ''}${r.attribution === 'mismatch' ? ' row-mismatch' : ''}`}
                data-item-id={r.id}
                data-index={vi.index}
                disabled={!r.traceId}
                aria-label={`prompt ${r.promptIndex}, ${names.get(r.modelId) ?? r.modelId}: ${r.status}`}
                data-status={r.status}
                style={{
                  position: 'absolute',
                  top: 0,
                  transform: `translateY(${vi.start}px)`,
                  height: ROW,
                  width: '100%',
                }}
                onClick={() => r.traceId && onOpen(r.traceId)}
                onKeyDown={(e) => {
                  // Arrow keys move between rows (Tab reaches them, Enter opens the trace).
                  const step = e.key === 'ArrowDown' ? 1 : e.key === 'ArrowUp' ? -1 : 0;
                  if (!step) return;
                  e.preventDefault();
                  const next = Math.max(0, Math.min(ids.length - 1, vi.index + step));
                  v.scrollToIndex(next);
                  requestAnimationFrame(() =>
                    scroller.current?.querySelector<HTMLElement>(`[data-index="${next}"]`)?.focus(),
                  );
                }}
              >
                <span className="mono">
                  {r.promptIndex}
                  {r.repeatIndex ? `·${r.repeatIndex}` : ''}
                </span>
                <span>
                  <StatusBadge status={r.status} />
                </span>
                <span className="ellipsis">{names.get(r.modelId) ?? r.modelId}</span>
                <span className="num">{r.attempts || ''}</span>
                <span className="num">{fmtMs(r.latencyMs)}</span>
                <span className="num">{r.outputTokens != null ? `${r.inputTokens ?? 0}/${r.outputTokens}` : '—'}</span>
                <span className="num">{fmtUsd(r.costUsd)}</span>
                <span>
                  <AttributionBadge
                    attribution={r.attribution}
                    requested={r.requestedModel}
                    reported={r.responseModel}
                  />
                </span>
                <span className="ellipsis muted" title={r.outputPreview ?? ''}>
                  {r.note ? <em className="note">{r.note} </em> : null}
                  {r.outputPreview}
                </span>
              </button>
            );
          })}
        </div>
      </div>
    </div>
  );
}
