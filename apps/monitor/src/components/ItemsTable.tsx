import { ITEM_STATUSES } from '@batchlight/api/schemas';
import { useVirtualizer } from '@tanstack/react-virtual';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { api, errorMessage, type Outputs } from '../api';
import { fmtMs, fmtUsd } from '../format';
import { usePagedRows } from '../paged-rows';
import { type PromptWindow, type RunState, rowFromItem, shownRow } from '../run-state';
import { AttributionBadge, ErrorBox, StatusBadge } from './ui';

interface Props {
  runId: string;
  /** The rows the event stream moved on since their page was fetched. */
  state: RunState;
  version: number;
  /** The run is still going: with a filter, the pages on screen are fetched again every second. */
  live: boolean;
  /**
   * Bumped each time the page subscribes to the rows' events (a new window, a resync): the pages
   * held are fetched again, so each is at least as new as the point its rows' events start from.
   */
  subscribed: number;
  names: Map<string, string>;
  onOpen: (traceId: string) => void;
  /** The prompts of the rows on screen (and a margin): the only rows whose events the page needs. */
  onWindow: (window: PromptWindow) => void;
  /**
   * The first page of rows, asked for with the run itself: taken if the run is over when the
   * table opens (a running run's rows must be newer than the point its events start from).
   */
  firstPage?: Promise<Outputs['runs']['items']> | null;
}

type ItemStatus = (typeof ITEM_STATUSES)[number];
const ROW = 34;
/** Rows per page fetched from the server. */
export const ROWS_PER_PAGE = 100;
const REFRESH_MS = 1000;
const ENDED = new Set<string>(['completed', 'failed', 'cancelled']);
/** Prompts either side of the rows on screen whose events come too, so a short scroll needs none. */
const MARGIN = 50;
/** The window before the first rows are in: the table opens at its top. */
export const FIRST_WINDOW: PromptWindow = { fromPrompt: 0, toPrompt: 2 * MARGIN };

/**
 * The run's items as a window over the server's pages (runs.items by offset, filtered there): only
 * the rows on screen are in the DOM and only their pages are fetched, so a 100,000-item run costs
 * the page what a 100-item one does. Events of the rows in the window show between fetches.
 */
export function ItemsTable({ runId, state, version, live, subscribed, names, onOpen, onWindow, firstPage }: Props) {
  const [status, setStatus] = useState('');
  const [model, setModel] = useState('');

  const filters = useMemo(
    () => ({
      runId,
      ...(status === 'mismatch' ? { mismatch: true } : status ? { status: status as ItemStatus } : {}),
      ...(model ? { modelId: model } : {}),
    }),
    [runId, status, model],
  );
  const filtered = status !== '' || model !== '';
  const prefetched = useRef(live ? null : (firstPage ?? null));
  const fetchPage = useCallback(
    async (offset: number, limit: number) => {
      const early = offset === 0 && limit === ROWS_PER_PAGE && !filtered ? prefetched.current : null;
      prefetched.current = null;
      const query = () => api.runs.items.query({ ...filters, offset, limit });
      // Read before the run was known to be over, it may predate the run's last commits: taken
      // only if every row in it had ended (an ended item does not change in a finished run).
      const p = await (early
        ? early.then((e) => (e.items.every((i) => ENDED.has(i.status)) ? e : query()), query)
        : query());
      return { rows: p.items.map(rowFromItem), matching: p.matching ?? 0 };
    },
    [filters, filtered],
  );
  const { matching, error, rowAt, want, refetch } = usePagedRows(fetchPage, ROWS_PER_PAGE, errorMessage);

  // Unfiltered, the rows on screen follow their items' events, which carry every column: their
  // pages are fetched again only from where a subscription starts, and once when the run ends
  // (each page fetched every second cost the server more than the run's own events). A filter's
  // rows come and go as items change status: those pages are fetched again every second.
  // A finished run's rows do not move: its pages are fetched once.
  const refetchNow = useRef(refetch);
  refetchNow.current = refetch;
  const wasLive = useRef(live);
  useEffect(() => {
    if (!live) {
      if (wasLive.current) refetchNow.current();
      wasLive.current = false;
      return;
    }
    wasLive.current = true;
    if (!filtered) return;
    const t = setInterval(() => refetchNow.current(), REFRESH_MS);
    return () => clearInterval(t);
  }, [live, filtered]);
  // The table mounts after the first subscription: its first pages are newer already.
  const subscribedAtMount = useRef(subscribed);
  useEffect(() => {
    if (subscribed !== subscribedAtMount.current && wasLive.current) refetchNow.current();
  }, [subscribed]);

  const scroller = useRef<HTMLDivElement>(null);
  const v = useVirtualizer({
    count: matching ?? 0,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW,
    overscan: 12,
  });
  const items = v.getVirtualItems();
  useEffect(() => {
    if (items.length) want(items[0]!.index, items[items.length - 1]!.index);
  });

  // The prompts on screen, reported when they leave the window last reported.
  const reported = useRef<PromptWindow | null>(null);
  const onScreen = items.map((vi) => rowAt(vi.index)?.promptIndex).filter((x): x is number => x != null);
  useEffect(() => {
    if (!onScreen.length) return;
    const lo = Math.min(...onScreen);
    const hi = Math.max(...onScreen);
    const w = reported.current;
    if (w && lo >= w.fromPrompt && hi <= w.toPrompt) return;
    reported.current = { fromPrompt: Math.max(0, lo - MARGIN), toPrompt: hi + MARGIN };
    onWindow(reported.current);
  });
  void version; // a frame of events: the rows below show them

  return (
    <div className="card">
      <div className="table-head">
        <h3>
          Prompts <span className="muted">({matching == null ? '…' : matching.toLocaleString()})</span>
        </h3>
        <div className="filters">
          <select aria-label="status filter" value={status} onChange={(e) => setStatus(e.target.value)}>
            <option value="">all statuses</option>
            {[...ITEM_STATUSES, 'mismatch'].map((s) => (
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
      <ErrorBox error={error} />
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
          {items.map((vi) => {
            const fetched = rowAt(vi.index);
            const style = {
              position: 'absolute',
              top: 0,
              transform: `translateY(${vi.start}px)`,
              height: ROW,
              width: '100%',
            } as const;
            if (!fetched)
              return (
                <div key={`loading-${vi.index}`} className="vt-row muted" style={style}>
                  <span>…</span>
                </div>
              );
            const r = shownRow(state, fetched);
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
                style={style}
                onClick={() => r.traceId && onOpen(r.traceId)}
                onKeyDown={(e) => {
                  // Arrow keys move between rows (Tab reaches them, Enter opens the trace).
                  const step = e.key === 'ArrowDown' ? 1 : e.key === 'ArrowUp' ? -1 : 0;
                  if (!step) return;
                  e.preventDefault();
                  const next = Math.max(0, Math.min((matching ?? 1) - 1, vi.index + step));
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
