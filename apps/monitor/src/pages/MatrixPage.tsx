import { runOutcome } from '@batchlight/api/outcome';
import { ACTIVE_RUN_STATUSES, ITEM_STATUSES, MATRIX_CELL_FIELDS } from '@batchlight/api/schemas';
import { useVirtualizer } from '@tanstack/react-virtual';
import { type KeyboardEvent, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { api, errorMessage, type Outputs, type RunView } from '../api';
import { TraceDrawer } from '../components/TraceDrawer';
import { ErrorBox, OutcomeBadge, StatusBadge } from '../components/ui';
import { fmtInt, fmtMs, fmtUsd } from '../format';
import { usePagedRows } from '../paged-rows';
import { go, query } from '../router';
import { cellVerdict, scoreTitle } from '../scores';

type Page = Outputs['runs']['matrix'];
type MatrixRow = Page['rows'][number];
type Column = Page['columns'][number];
type CellField = (typeof MATRIX_CELL_FIELDS)[number];
type Sort = { field: 'index' | 'prompt' | 'expected' } | { field: CellField; column: string };

const ROW = 64;
const HEADER = 52;
const PAGE = 100;

/**
 * One run as a matrix: a row per prompt, a column per model (and repeat). The server searches,
 * filters, sorts and pages; the rows on screen are the only ones in the DOM, and only their
 * pages are fetched, so a 100,000-item run scrolls like a 100-item one.
 */
export function MatrixPage({ runId }: { runId: string }) {
  const [run, setRun] = useState<RunView | null>(null);
  const [columns, setColumns] = useState<Column[]>([]);
  const [rowsTotal, setRowsTotal] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const [search, setSearch] = useState(query().get('q') ?? '');
  const [debounced, setDebounced] = useState(search);
  const [status, setStatus] = useState('');
  const [model, setModel] = useState('');
  const [sort, setSort] = useState<Sort>({ field: 'index' });
  const [dir, setDir] = useState<'asc' | 'desc'>('asc');
  const [trace, setTrace] = useState<string | null>(query().get('trace'));

  useEffect(() => {
    const t = setTimeout(() => setDebounced(search), 250);
    return () => clearTimeout(t);
  }, [search]);

  useEffect(() => {
    api.runs.get.query({ id: runId }).then(setRun, (e) => setError(errorMessage(e)));
  }, [runId]);

  const input = useMemo(
    () => ({
      runId,
      search: debounced || undefined,
      status: (status || undefined) as (typeof ITEM_STATUSES)[number] | undefined,
      modelId: model || undefined,
      sortField: sort.field,
      sortColumn: 'column' in sort ? sort.column : undefined,
      dir,
    }),
    [runId, debounced, status, model, sort, dir],
  );

  const fetchPage = useCallback(
    async (offset: number, limit: number) => {
      const p = await api.runs.matrix.query({ ...input, offset, limit });
      setColumns(p.columns);
      setRowsTotal(p.rowsTotal);
      return { rows: p.rows, matching: p.matching };
    },
    [input],
  );
  const paged = usePagedRows<MatrixRow>(fetchPage, PAGE, errorMessage);
  const { matching, rowAt, want, refetch } = paged;

  // A run still going: its cells change, so the pages on screen are fetched again every 3 s.
  const active = run != null && (ACTIVE_RUN_STATUSES as readonly string[]).includes(run.status);
  useEffect(() => {
    if (!active) return;
    const t = setInterval(() => {
      refetch();
      api.runs.get.query({ id: runId }).then(setRun, () => undefined);
    }, 3000);
    return () => clearInterval(t);
  }, [active, refetch, runId]);

  const shown = model ? columns.filter((c) => c.modelId === model) : columns;
  const scroller = useRef<HTMLDivElement>(null);
  const v = useVirtualizer({
    count: matching ?? 0,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW,
    overscan: 8,
    // The sticky header sits above the rows in the same scroller.
    scrollPaddingStart: HEADER,
  });
  const items = v.getVirtualItems();
  useEffect(() => {
    if (items.length) want(items[0]!.index, items[items.length - 1]!.index);
  });

  const sortBy = (next: Sort) => {
    const same =
      next.field === sort.field && ('column' in next ? next.column : '') === ('column' in sort ? sort.column : '');
    setDir(same && dir === 'asc' ? 'desc' : 'asc');
    setSort(next);
  };
  const sortMark = (s: Sort) =>
    s.field === sort.field && ('column' in s ? s.column : '') === ('column' in sort ? sort.column : '')
      ? dir === 'asc'
        ? ' ▲'
        : ' ▼'
      : '';
  const grid = { gridTemplateColumns: `56px minmax(240px, 2fr) repeat(${shown.length}, minmax(230px, 1fr))` };

  /** Arrow keys move between cells (and rows); Enter opens the focused cell's trace. */
  const onKey = (e: KeyboardEvent<HTMLButtonElement>) => {
    const el = e.target as HTMLElement;
    const r = Number(el.dataset.row);
    const c = Number(el.dataset.col);
    if (Number.isNaN(r) || Number.isNaN(c)) return;
    const move = { ArrowDown: [1, 0], ArrowUp: [-1, 0], ArrowRight: [0, 1], ArrowLeft: [0, -1] }[e.key];
    if (!move) return;
    e.preventDefault();
    const nr = Math.max(0, Math.min((matching ?? 1) - 1, r + move[0]!));
    const nc = Math.max(0, Math.min(shown.length - 1, c + move[1]!));
    v.scrollToIndex(nr);
    requestAnimationFrame(() =>
      scroller.current?.querySelector<HTMLElement>(`[data-row="${nr}"][data-col="${nc}"]`)?.focus(),
    );
  };

  const openTrace = (id: string) => {
    setTrace(id);
    history.replaceState(null, '', `#/run/${runId}/matrix?trace=${id}`);
  };
  const closeTrace = useCallback(() => {
    setTrace(null);
    history.replaceState(null, '', `#/run/${runId}/matrix`);
  }, [runId]);

  return (
    <section>
      <div className="page-head">
        <div>
          <h1>
            {run ? run.name || run.promptSet.name : 'Run'} {run ? <OutcomeBadge outcome={runOutcome(run)} /> : null}
          </h1>
          <div className="sub">
            <span className="mono">{runId}</span> · matrix: a row per prompt, a column per model
            {run && run.repeats > 1 ? ' and repeat' : ''}
          </div>
        </div>
        <div className="actions">
          <button type="button" className="button" onClick={() => go(`run/${runId}`)}>
            Run overview
          </button>
        </div>
      </div>
      <ErrorBox error={error ?? paged.error} />
      <div className="card">
        <div className="table-head">
          <h3>
            Prompts{' '}
            <span className="muted" data-testid="matrix-count">
              ({matching == null ? '…' : fmtInt(matching)}
              {matching != null && matching !== rowsTotal ? ` of ${fmtInt(rowsTotal)}` : ''})
            </span>
          </h3>
          <div className="filters">
            <input
              type="search"
              aria-label="search prompts and outputs"
              placeholder="search prompts and outputs"
              value={search}
              onChange={(e) => setSearch(e.target.value)}
            />
            <select aria-label="status filter" value={status} onChange={(e) => setStatus(e.target.value)}>
              <option value="">all statuses</option>
              {ITEM_STATUSES.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
            <select aria-label="model filter" value={model} onChange={(e) => setModel(e.target.value)}>
              <option value="">all models</option>
              {[...new Map(columns.map((c) => [c.modelId, c.modelName]))].map(([id, name]) => (
                <option key={id} value={id}>
                  {name}
                </option>
              ))}
            </select>
          </div>
        </div>
        <div ref={scroller} className="mx-scroll" data-testid="matrix">
          <div className="mx-row mx-header" style={grid}>
            <span className="mx-key">
              <button type="button" className="link" onClick={() => sortBy({ field: 'index' })}>
                #{sortMark({ field: 'index' })}
              </button>
            </span>
            <span className="mx-key mx-prompt">
              <button type="button" className="link" onClick={() => sortBy({ field: 'prompt' })}>
                prompt{sortMark({ field: 'prompt' })}
              </button>{' '}
              ·{' '}
              <button type="button" className="link" onClick={() => sortBy({ field: 'expected' })}>
                expected{sortMark({ field: 'expected' })}
              </button>
            </span>
            {shown.map((c) => (
              <span key={c.key} data-column={c.key}>
                <b>{c.modelName}</b>
                {run && run.repeats > 1 ? <span className="muted"> · repeat {c.repeatIndex + 1}</span> : null}
                <span className="mx-sorts">
                  {MATRIX_CELL_FIELDS.map((f) => (
                    <button
                      key={f}
                      type="button"
                      className="link"
                      aria-label={`sort by ${c.modelName} ${f}`}
                      onClick={() => sortBy({ field: f, column: c.key })}
                    >
                      {f}
                      {sortMark({ field: f, column: c.key })}
                    </button>
                  ))}
                </span>
              </span>
            ))}
          </div>
          <div style={{ height: v.getTotalSize(), position: 'relative' }}>
            {items.map((vi) => {
              const row = rowAt(vi.index);
              return (
                <div
                  key={vi.key}
                  className="mx-row"
                  data-prompt-index={row?.promptIndex}
                  style={{ ...grid, position: 'absolute', top: 0, transform: `translateY(${vi.start}px)`, height: ROW }}
                >
                  {row ? (
                    <>
                      <span className="mx-key mono">{row.promptIndex}</span>
                      <span className="mx-key mx-prompt" title={row.prompt}>
                        <span className="clamp">{row.prompt}</span>
                        {row.expected != null || row.metadata != null ? (
                          <span className="sub ellipsis">
                            {row.expected != null ? `expected: ${row.expected}` : ''}
                            {row.metadata != null ? ` ${JSON.stringify(row.metadata)}` : ''}
                          </span>
                        ) : null}
                      </span>
                      {shown.map((c, ci) => {
                        const cell = row.cells[c.key];
                        const verdict = cell ? cellVerdict(cell.scores) : null;
                        return cell ? (
                          <button
                            key={c.key}
                            type="button"
                            className={`mx-cell${verdict ? ` score-${verdict}` : ''}`}
                            data-row={vi.index}
                            data-col={ci}
                            data-status={cell.status}
                            data-score={verdict ?? undefined}
                            disabled={!cell.traceId}
                            aria-label={`${c.modelName}, prompt ${row.promptIndex}: ${cell.status}${verdict ? `, scored ${verdict}` : ''}`}
                            onClick={() => cell.traceId && openTrace(cell.traceId)}
                            onKeyDown={onKey}
                          >
                            <span className="mx-meta">
                              <StatusBadge status={cell.status} />
                              {cell.attempts > 1 ? <span className="note">{cell.attempts} attempts</span> : null}
                              <span>{fmtMs(cell.latencyMs)}</span>
                              <span>
                                {cell.outputTokens != null ? `${cell.inputTokens ?? 0}/${cell.outputTokens} tok` : '—'}
                              </span>
                              <span>{fmtUsd(cell.costUsd)}</span>
                              {cell.scores.map((sc) => (
                                <span
                                  key={sc.scorer}
                                  className={`score-chip score-${sc.status}`}
                                  data-scorer={sc.scorer}
                                  title={scoreTitle(sc)}
                                >
                                  {sc.status === 'pass' ? '✓' : sc.status === 'fail' ? '✗' : '!'}
                                </span>
                              ))}
                            </span>
                            <span className={`ellipsis${cell.status === 'completed' ? '' : ' muted'}`}>
                              {cell.errorType ? <em className="note">{cell.errorType} </em> : null}
                              {cell.output ?? ''}
                            </span>
                          </button>
                        ) : (
                          <span key={c.key} className="muted">
                            —
                          </span>
                        );
                      })}
                    </>
                  ) : (
                    <span className="muted">Loading…</span>
                  )}
                </div>
              );
            })}
          </div>
        </div>
      </div>
      {trace ? <TraceDrawer traceId={trace} onClose={closeTrace} onOpen={openTrace} /> : null}
    </section>
  );
}
