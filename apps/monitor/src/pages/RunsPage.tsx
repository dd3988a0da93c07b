import { runOutcome } from '@batchlight/api/outcome';
import { ACTIVE_RUN_STATUSES } from '@batchlight/api/schemas';
import { useEffect, useRef, useState } from 'react';
import { api, errorMessage, type Outputs } from '../api';
import { Empty, ErrorBox, OutcomeBadge, ProgressBar } from '../components/ui';
import { fmtDuration, fmtTime, fmtUsd } from '../format';

type RunListItem = Outputs['runs']['list']['runs'][number];
/** Runs asked for at a time; older ones come a page at a time (the server's cursor). */
const PAGE = 100;
const isActive = (status: string) => (ACTIVE_RUN_STATUSES as readonly string[]).includes(status);

export function RunsPage() {
  const [runs, setRuns] = useState<RunListItem[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [search, setSearch] = useState('');
  const [debounced, setDebounced] = useState('');
  const [confirming, setConfirming] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [, tick] = useState(0);
  // The search the list on screen is for: an answer to an older one is dropped.
  const current = useRef('');

  useEffect(() => {
    const t = setTimeout(() => setDebounced(search.trim()), 250);
    return () => clearTimeout(t);
  }, [search]);

  useEffect(() => {
    let alive = true;
    current.current = debounced;
    const firstPage = () => api.runs.list.query({ limit: PAGE, ...(debounced ? { search: debounced } : {}) });
    firstPage().then(
      (r) => {
        if (!alive) return;
        setRuns(r.runs);
        setNext(r.nextCursor);
      },
      (e) => alive && setError(errorMessage(e)),
    );
    // New runs (and a run's final times) come from the first page again, merged into what is shown.
    const refresh = () =>
      firstPage().then(
        (r) =>
          alive &&
          setRuns((prev) => {
            const fresh = new Map(r.runs.map((x) => [x.id, x]));
            const kept = (prev ?? []).map((x) => fresh.get(x.id) ?? x);
            const known = new Set(kept.map((x) => x.id));
            return [...r.runs.filter((x) => !known.has(x.id)), ...kept];
          }),
        (e) => alive && setError(errorMessage(e)),
      );
    // Live: counters and status changes arrive on the feed; an unknown run means a new one.
    const sub = api.runs.feed.subscribe(undefined, {
      onData: (m) =>
        setRuns((prev) => {
          if (!prev) return prev;
          const i = prev.findIndex((r) => r.id === m.runId);
          if (i < 0) {
            void refresh();
            return prev;
          }
          const updated = [...prev];
          updated[i] = {
            ...prev[i]!,
            status: m.status,
            completedItems: m.completed,
            failedItems: m.failed,
            cancelledItems: m.cancelled,
            costUsd: m.costUsd,
          };
          updated[i] = { ...updated[i]!, outcome: runOutcome(updated[i]!) };
          // A run that just finished: its times are the server's (active time over every stretch).
          if (m.status !== prev[i]!.status && m.status !== 'running') void refresh();
          return updated;
        }),
    });
    const timer = setInterval(() => tick((n) => n + 1), 1000); // running durations
    return () => {
      alive = false;
      sub.unsubscribe();
      clearInterval(timer);
    };
  }, [debounced]);

  async function more() {
    if (!next) return;
    const forSearch = current.current;
    try {
      const r = await api.runs.list.query({ limit: PAGE, cursor: next, ...(forSearch ? { search: forSearch } : {}) });
      if (current.current !== forSearch) return;
      setRuns((prev) => {
        const known = new Set((prev ?? []).map((x) => x.id));
        return [...(prev ?? []), ...r.runs.filter((x) => !known.has(x.id))];
      });
      setNext(r.nextCursor);
    } catch (err) {
      setError(errorMessage(err));
    }
  }

  async function remove(id: string) {
    setError(null);
    try {
      await api.runs.delete.mutate({ id });
      setRuns((prev) => prev?.filter((r) => r.id !== id) ?? prev);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setConfirming(null);
    }
  }

  return (
    <section>
      <div className="page-head">
        <h1>Runs</h1>
        <a className="button primary" href="#/new">
          New run
        </a>
      </div>
      <ErrorBox error={error} />
      <div className="filters list-filters">
        <input
          type="search"
          name="search"
          aria-label="search runs by name or model"
          placeholder="search by run, prompt set or model"
          value={search}
          onChange={(e) => setSearch(e.target.value)}
        />
      </div>
      {runs === null ? (
        <div className="muted">Loading…</div>
      ) : runs.length === 0 && debounced ? (
        <Empty>No run matches “{debounced}”.</Empty>
      ) : runs.length === 0 ? (
        <Empty>
          No runs yet. <a href="#/new">Start one</a> — the simulated models and the demo prompt set need no key.
        </Empty>
      ) : (
        <>
          <table className="grid runs-table">
            <thead>
              <tr>
                <th>Run</th>
                <th>Status</th>
                <th>Models</th>
                <th className="w-progress">Progress</th>
                <th>Started</th>
                <th className="num" title="time spent executing, over every start and resume">
                  Active
                </th>
                <th className="num" title="from the first start to the finish">
                  Wall
                </th>
                <th className="num">Cost</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {runs.map((r) => {
                const done = r.completedItems + r.failedItems + r.cancelledItems;
                const end = r.finishedAt ? new Date(r.finishedAt).getTime() : Date.now();
                const wall = r.startedAt ? end - new Date(r.startedAt).getTime() : null;
                return (
                  <tr key={r.id} data-run-id={r.id}>
                    <td>
                      <a href={`#/run/${r.id}`}>{r.name || r.promptSet.name}</a>
                      <div className="sub mono">{r.id.slice(-8)}</div>
                    </td>
                    <td>
                      <OutcomeBadge outcome={r.outcome} />
                    </td>
                    <td>{r.models.map((m) => m.name).join(', ')}</td>
                    <td>
                      <ProgressBar completed={r.completedItems} failed={r.failedItems} total={r.totalItems} />
                      <div className="sub">
                        {done} / {r.totalItems}
                        {r.failedItems ? ` · ${r.failedItems} failed` : ''}
                      </div>
                    </td>
                    <td>{fmtTime(r.startedAt ?? r.createdAt)}</td>
                    <td className="num">{fmtDuration(r.activeMs)}</td>
                    <td className="num">{fmtDuration(wall)}</td>
                    <td className="num">{fmtUsd(r.costUsd)}</td>
                    <td>
                      {confirming === r.id ? (
                        <div className="actions" data-testid="confirm-delete">
                          <span>Delete with its traces?</span>
                          <button type="button" className="button small danger" onClick={() => remove(r.id)}>
                            Delete
                          </button>
                          <button type="button" className="button small" onClick={() => setConfirming(null)}>
                            Keep
                          </button>
                        </div>
                      ) : (
                        <button
                          type="button"
                          className="button small"
                          disabled={isActive(r.status)}
                          title={isActive(r.status) ? `the run is ${r.status}: cancel it first` : 'delete this run'}
                          onClick={() => setConfirming(r.id)}
                        >
                          Delete…
                        </button>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          {next ? (
            <div className="actions center">
              <button type="button" className="button" onClick={more}>
                Older runs
              </button>
            </div>
          ) : null}
        </>
      )}
    </section>
  );
}
