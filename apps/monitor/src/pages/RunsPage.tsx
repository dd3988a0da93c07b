import { runOutcome } from '@batchlight/api/outcome';
import { useEffect, useState } from 'react';
import { api, errorMessage, type Outputs } from '../api';
import { Empty, ErrorBox, OutcomeBadge, ProgressBar } from '../components/ui';
import { fmtDuration, fmtTime, fmtUsd } from '../format';

type RunListItem = Outputs['runs']['list']['runs'][number];

export function RunsPage() {
  const [runs, setRuns] = useState<RunListItem[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [, tick] = useState(0);

  useEffect(() => {
    let alive = true;
    const load = () =>
      api.runs.list.query({ limit: 100 }).then(
        (r) => alive && setRuns(r.runs),
        (e) => alive && setError(errorMessage(e)),
      );
    void load();
    // Live: counters and status changes arrive on the feed; an unknown run means a new one.
    const sub = api.runs.feed.subscribe(undefined, {
      onData: (m) =>
        setRuns((prev) => {
          if (!prev) return prev;
          const i = prev.findIndex((r) => r.id === m.runId);
          if (i < 0) {
            void load();
            return prev;
          }
          const next = [...prev];
          next[i] = {
            ...prev[i]!,
            status: m.status,
            completedItems: m.completed,
            failedItems: m.failed,
            cancelledItems: m.cancelled,
            costUsd: m.costUsd,
          };
          next[i] = { ...next[i]!, outcome: runOutcome(next[i]!) };
          // A run that just finished: its times are the server's (active time over every stretch).
          if (m.status !== prev[i]!.status && m.status !== 'running') void load();
          return next;
        }),
    });
    const timer = setInterval(() => tick((n) => n + 1), 1000); // running durations
    return () => {
      alive = false;
      sub.unsubscribe();
      clearInterval(timer);
    };
  }, []);

  return (
    <section>
      <div className="page-head">
        <h1>Runs</h1>
        <a className="button primary" href="#/new">
          New run
        </a>
      </div>
      <ErrorBox error={error} />
      {runs === null ? (
        <div className="muted">Loading…</div>
      ) : runs.length === 0 ? (
        <Empty>
          No runs yet. <a href="#/new">Start one</a> — the simulated models and the demo prompt set need no key.
        </Empty>
      ) : (
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
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
