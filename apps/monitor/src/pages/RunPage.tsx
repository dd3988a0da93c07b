import type { RunEventMessage } from '@batchlight/api';
import { runOutcome, throughput } from '@batchlight/api/outcome';
import { FINISHED_RUN_STATUSES } from '@batchlight/api/schemas';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { api, errorMessage, type Outputs, onConnection, type RunView } from '../api';
import { FIRST_WINDOW, ItemsTable, ROWS_PER_PAGE } from '../components/ItemsTable';
import { TraceDrawer } from '../components/TraceDrawer';
import { ErrorBox, OutcomeBadge, ProgressBar, Stat } from '../components/ui';
import { fmtDuration, fmtInt, fmtMs, fmtPct, fmtUsd } from '../format';
import { query } from '../router';
import {
  applyEvents,
  applySnapshot,
  emptyState,
  keepWindow,
  modelStats,
  type PromptWindow,
  type RateLimitView,
} from '../run-state';
import { passRateText } from '../scores';

// The charts (recharts: half the monitor's code) load as a chunk of their own, asked for as soon
// as this page's code runs: the page's first data and the chunk come at once, and the counters
// show without waiting for the charts' code to be parsed. Not React.lazy: a Suspense boundary
// that has shown its fallback holds the content back a further 300 ms.
type Charts = typeof import('../components/LatencyCharts')['LatencyCharts'];
let chartsLoaded: Charts | null = null;
const chartsCode: Promise<Charts | null> = import('../components/LatencyCharts').then(
  (m) => (chartsLoaded = m.LatencyCharts),
  () => null,
);
function useCharts(): Charts | null | 'failed' {
  const [charts, setCharts] = useState<Charts | null | 'failed'>(() => chartsLoaded);
  useEffect(() => {
    if (!charts) void chartsCode.then((c) => setCharts(() => c ?? 'failed'));
  }, [charts]);
  return charts;
}

type Audit = Outputs['runs']['audit'];
type Interrupted = Outputs['traces']['list']['traces'];
const SNAPSHOT_EVERY_MS = 1000;

export function RunPage({ runId }: { runId: string }) {
  const state = useRef(emptyState());
  const LatencyCharts = useCharts();
  const [version, setVersion] = useState(0);
  const [run, setRun] = useState<RunView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [connected, setConnected] = useState(true);
  // The open trace lives in the URL (#/run/<id>?trace=<traceId>): a link opens it.
  const [trace, setTraceState] = useState<string | null>(() => query().get('trace'));
  const setTrace = useCallback(
    (id: string | null) => {
      setTraceState(id);
      history.replaceState(null, '', `#/run/${runId}${id ? `?trace=${id}` : ''}`);
    },
    [runId],
  );
  const closeTrace = useCallback(() => setTrace(null), [setTrace]);
  const [audit, setAudit] = useState<Audit | null>(null);
  const [interrupted, setInterrupted] = useState<Interrupted>([]);
  const [busy, setBusy] = useState(false);
  /** Bumped by a resume: the page loads the run afresh and subscribes again. */
  const [epoch, setEpoch] = useState(0);
  /** Events received from the subscription, replays included: equals lastSeq when no seq came twice. */
  const received = useRef(0);
  /** item.scored events seen: the pass rates are fetched again (throttled) as they arrive. */
  const [scored, setScored] = useState(0);
  const [scores, setScores] = useState<Outputs['runs']['scores'] | null>(null);
  /** The table's window moved: the subscription goes on from where it was, for that window's rows. */
  const moveWindow = useRef<(w: PromptWindow) => void>(() => {});
  /** The table's first page, asked for with the run: a finished run's rows come with its counters. */
  const [firstPage, setFirstPage] = useState<Promise<Outputs['runs']['items']> | null>(null);
  const onWindow = useCallback((w: PromptWindow) => moveWindow.current(w), []);
  /** Subscriptions made to the rows' events: the table fetches its pages again at each. */
  const [subscribed, setSubscribed] = useState(0);

  useEffect(() => {
    let alive = true;
    let unsubscribe = () => {};
    let poll: ReturnType<typeof setTimeout> | undefined;
    state.current = emptyState();
    received.current = 0;
    const buffer: RunEventMessage[] = [];
    let frame = 0;
    // Events are coalesced and applied once per animation frame: a 100,000-item run stays smooth.
    const flush = () => {
      frame = 0;
      if (!alive || !buffer.length) return;
      const batch = buffer.splice(0);
      applyEvents(state.current, batch);
      if (batch.some((e) => e.type === 'run.finished' || e.type === 'run.status')) {
        void api.runs.get.query({ id: runId }).then((r) => alive && setRun(r));
        void refresh();
      }
      setVersion((v) => v + 1);
    };
    // The charts and per-model figures: the server's snapshot, fetched at most once a second while
    // the run goes (a copy of aggregates kept as it runs, not a scan), and once more at its end.
    const refresh = async () => {
      const snap = await api.runs.snapshot.query({ runId });
      if (!alive) return;
      applySnapshot(state.current, snap);
      setVersion((v) => v + 1);
    };
    const schedule = () => {
      poll = setTimeout(async () => {
        if (!alive || state.current.finished) return;
        await refresh().catch(() => undefined);
        schedule();
      }, SNAPSHOT_EVERY_MS);
    };
    // From the snapshot's seq on; a subscriber that falls too far behind is told to resync: it
    // takes a new snapshot and goes on from there instead of being fed the backlog. Item rows'
    // events come only for the prompts in the table's window.
    let rowsWindow = FIRST_WINDOW;
    /** The newest seq received (some may wait in `buffer` for the next frame); null: not subscribed yet. */
    let seen: number | null = null;
    const subscribe = (from: number) => {
      seen = Math.max(seen ?? 0, from);
      const sub = api.runs.events.subscribe(
        { runId, lastEventId: String(from), behind: 'resync', items: rowsWindow },
        {
          onData: ({ data }) => {
            if (data.type === 'resync') {
              sub.unsubscribe();
              void start();
              return;
            }
            received.current++;
            seen = Math.max(seen ?? 0, data.seq);
            if (data.type === 'item.scored') setScored((n) => n + 1);
            buffer.push(data);
            if (!frame) frame = requestAnimationFrame(flush);
          },
          onError: (err) => alive && setError(errorMessage(err)),
        },
      );
      unsubscribe = () => sub.unsubscribe();
      setSubscribed((n) => n + 1);
    };
    let moving: ReturnType<typeof setTimeout> | undefined;
    moveWindow.current = (w) => {
      keepWindow(state.current, w);
      // Inside the window subscribed to: its events come already.
      if (w.fromPrompt >= rowsWindow.fromPrompt && w.toPrompt <= rowsWindow.toPrompt) return;
      rowsWindow = w;
      clearTimeout(moving);
      // A scroll reports windows in quick succession: the last one is subscribed to.
      moving = setTimeout(() => {
        if (!alive || seen == null || state.current.finished) return;
        unsubscribe();
        subscribe(seen);
      }, 150);
    };
    const start = async () => {
      const snap = await api.runs.snapshot.query({ runId });
      if (!alive) return;
      if (frame) flush(); // events already received come first: the snapshot is newer
      applySnapshot(state.current, snap, { start: true });
      received.current = 0;
      setVersion((v) => v + 1);
      subscribe(snap.seq);
    };
    const early = api.runs.items.query({ runId, offset: 0, limit: ROWS_PER_PAGE });
    early.catch(() => undefined); // the table asks again if it fails
    setFirstPage(early);
    (async () => {
      try {
        const [r] = await Promise.all([api.runs.get.query({ id: runId }), start()]);
        if (!alive) return;
        setRun(r);
        schedule();
      } catch (err) {
        if (alive) setError(errorMessage(err));
      }
    })();
    const off = onConnection((s) => setConnected(s === 'open'));
    return () => {
      alive = false;
      unsubscribe();
      clearTimeout(poll);
      clearTimeout(moving);
      moveWindow.current = () => {};
      off();
      if (frame) cancelAnimationFrame(frame);
    };
  }, [runId, epoch]);

  const s = state.current;
  const finished =
    s.finished || (run != null && (FINISHED_RUN_STATUSES as readonly string[]).includes(run.status) && !run.executing);
  useEffect(() => {
    if (finished) api.runs.audit.query({ runId }).then(setAudit, () => undefined);
  }, [finished, runId]);
  // Pass rates come from the server (Wilson intervals over the Score table): asked again at most
  // once every 2 s while scores arrive, and once more when the run finishes.
  // Both wait for the run to be known: asked before, they would be asked again at once when a
  // finished run's page learns that it is finished.
  const known = run != null;
  const scoredThrottled = useThrottled(scored, 2000);
  useEffect(() => {
    if (!known) return;
    let alive = true;
    void scoredThrottled;
    api.runs.scores.query({ runId }).then(
      (r) => alive && setScores(r),
      () => undefined,
    );
    return () => {
      alive = false;
    };
  }, [known, scoredThrottled, finished, runId]);
  const scoresOf = useMemo(() => new Map((scores?.models ?? []).map((m) => [m.modelId, m])), [scores]);
  // Calls a restart cut off are closed as `interrupted` (no event says so): listed with the retries.
  useEffect(() => {
    if (!known) return;
    api.traces.list.query({ runId, status: 'interrupted', limit: 50 }).then(
      (r) => setInterrupted(r.traces),
      () => undefined,
    );
  }, [known, finished, runId]);

  // Rows and counters follow every frame; per-model figures and charts follow the snapshot (at
  // most once a second).
  const stats = useMemo(() => modelStats(s), [s.snapshot]); // eslint-disable-line react-hooks/exhaustive-deps

  const names = useMemo(() => new Map((run?.models ?? []).map((m) => [m.modelId, m.name])), [run]);

  if (!run) return error ? <ErrorBox error={error} /> : <div className="muted">Loading run…</div>;

  const p = s.progress;
  const completed = p?.completed ?? run.completedItems;
  const failed = p?.failed ?? run.failedItems;
  const cancelled = p?.cancelled ?? run.cancelledItems;
  const total = p?.total ?? run.totalItems;
  const inFlight = finished ? 0 : (p?.inFlight ?? 0);
  const done = completed + failed + cancelled;
  const eta = !finished && p && p.throughput > 0 ? ((total - done) / p.throughput) * 1000 : null;
  const status = s.status ?? run.status;
  const outcome = runOutcome({ status, completedItems: completed, failedItems: failed });
  // Active time covers every stretch (start and resumes); wall time runs from the first start.
  const activeMs = finished ? run.activeMs : (p?.activeMs ?? run.activeMs);
  const wallMs = finished ? run.wallMs : run.startedAt ? Date.now() - new Date(run.startedAt).getTime() : null;
  const rate = finished ? throughput(completed + failed, activeMs) : (p?.throughput ?? null);

  async function act(kind: 'cancel' | 'resume' | 'retry') {
    setBusy(true);
    setError(null);
    try {
      const r =
        kind === 'cancel'
          ? await api.runs.cancel.mutate({ id: runId })
          : await api.runs.resume.mutate({ id: runId, retryFailed: kind === 'retry' });
      setRun(await api.runs.get.query({ id: r.id }));
      if (kind !== 'cancel') {
        setAudit(null);
        setEpoch((e) => e + 1);
      }
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section data-first-seq={s.firstSeq} data-last-seq={s.lastSeq} data-events-received={received.current}>
      {!connected && !finished ? (
        <div className="banner" role="status">
          Connection lost — reconnecting; the run goes on and no event will be missed.
        </div>
      ) : null}
      <div className="page-head">
        <div>
          <h1>
            {run.name || run.promptSet.name} <OutcomeBadge outcome={outcome} />
          </h1>
          <div className="sub">
            <span className="mono">{run.id}</span> · {run.promptSet.name} · concurrency {run.concurrency} · delay{' '}
            {run.delayMs} ms
            {run.promptLimit ? ` · first ${run.promptLimit} prompts` : ''}
            {run.repeats > 1 ? ` · ×${run.repeats}` : ''}
          </div>
        </div>
        <div className="actions">
          {!finished ? (
            <button type="button" className="button danger" disabled={busy} onClick={() => act('cancel')}>
              Cancel
            </button>
          ) : status !== 'completed' ? (
            <button type="button" className="button" disabled={busy} onClick={() => act('resume')}>
              Resume
            </button>
          ) : null}
          {finished && failed > 0 ? (
            <button
              type="button"
              className="button"
              disabled={busy}
              onClick={() => act('retry')}
              title="Resume the run and call the failed items again"
            >
              Retry failed
            </button>
          ) : null}
          <a className="button" href={`#/run/${run.id}/matrix`}>
            Matrix
          </a>
          <a className="button" href={`/export/${run.id}.csv`} download>
            Export CSV
          </a>
          <a className="button" href={`/export/${run.id}.jsonl`} download>
            Export JSONL
          </a>
          <a className="button" href={`#/compare?ids=${run.id}`}>
            Compare…
          </a>
        </div>
      </div>
      <ErrorBox error={error} />

      <div className="card">
        <ProgressBar completed={completed} failed={failed} total={total} inFlight={inFlight} />
        <div className="stats">
          <Stat label="completed" value={<span data-testid="count-completed">{fmtInt(completed)}</span>} tone="ok" />
          <Stat
            label="failed"
            value={<span data-testid="count-failed">{fmtInt(failed)}</span>}
            tone={failed ? 'bad' : undefined}
          />
          <Stat label="in flight" value={<span data-testid="count-inflight">{fmtInt(inFlight)}</span>} />
          <Stat label="total" value={<span data-testid="count-total">{fmtInt(total)}</span>} />
          {cancelled ? <Stat label="cancelled" value={fmtInt(cancelled)} tone="warn" /> : null}
          <Stat
            label="throughput"
            value={<span data-testid="throughput">{rate != null ? `${rate.toFixed(1)}/s` : '—'}</span>}
          />
          <Stat label="active time" value={<span data-testid="active-time">{fmtDuration(activeMs)}</span>} />
          <Stat label="wall time" value={<span data-testid="wall-time">{fmtDuration(wallMs)}</span>} />
          {!finished ? <Stat label="ETA" value={eta != null ? fmtDuration(eta) : '—'} /> : null}
          <Stat
            label="retries"
            value={<span data-testid="count-retries">{fmtInt(p?.retries ?? run.retries)}</span>}
            tone={(p?.retries ?? 0) > 0 ? 'warn' : undefined}
          />
          <Stat label="cost" value={fmtUsd([...stats.values()].reduce((a, x) => a + x.costUsd, 0))} />
        </div>
      </div>

      <div className="model-panels">
        {run.models.map((m) => {
          const st = stats.get(m.modelId);
          const sc = scoresOf.get(m.modelId);
          return (
            <div className="card model-panel" key={m.modelId} data-model={m.name}>
              <div className="panel-head">
                <strong>{m.name}</strong>
                <span className="muted mono">
                  {m.provider} · {m.providerModel} · rev {m.modelRevision}
                </span>
              </div>
              <div className="kv">
                <span>success</span>
                <b>{fmtPct(st?.successRate)}</b>
                {sc && sc.passes + sc.fails + sc.errors > 0 ? (
                  <>
                    <span title="items passing every scorer, over the answered and judged ones; errors are not failures">
                      pass rate
                    </span>
                    <b data-testid="pass-rate">
                      {passRateText(sc.passRate)}
                      <span className="muted" data-testid="score-errors">
                        {' '}
                        · {sc.passes}/{sc.passes + sc.fails} · {fmtInt(sc.errors)}{' '}
                        {sc.errors === 1 ? 'error' : 'errors'}
                      </span>
                    </b>
                  </>
                ) : null}
                <span>latency p50 / p95</span>
                <b>
                  {fmtMs(st?.p50)} / {fmtMs(st?.p95)}
                </b>
                <span>TTFT p50 / p95</span>
                <b>
                  {fmtMs(st?.ttftP50)} / {fmtMs(st?.ttftP95)}
                </b>
                <span>tokens in / out</span>
                <b>
                  {fmtInt(st?.inputTokens)} / {fmtInt(st?.outputTokens)}
                </b>
                <span>cost</span>
                <b>{fmtUsd(st?.costUsd)}</b>
                <span title="answers the provider ended with finish_reason length: cut off by max tokens">
                  cut off by length
                </span>
                <b data-testid="length-finishes" className={st?.lengthFinishes ? 'warn-text' : undefined}>
                  {fmtInt(st?.lengthFinishes ?? 0)}
                </b>
                <span>attribution</span>
                <b data-testid="model-attribution">
                  {st?.mismatches ? (
                    <span className="badge attr-mismatch">{st.mismatches} mismatched</span>
                  ) : !st?.completed ? (
                    // Nothing answered: there is no attribution to vouch for.
                    <span className="badge attr-unknown">{finished ? 'none answered' : 'none answered yet'}</span>
                  ) : (
                    <span className="badge attr-match">all match</span>
                  )}
                </b>
              </div>
            </div>
          );
        })}
      </div>

      {LatencyCharts === 'failed' ? (
        <ErrorBox error="The charts' code could not be loaded: reload the page." />
      ) : LatencyCharts ? (
        <LatencyCharts snapshot={s.snapshot} names={names} />
      ) : (
        <div className="card muted">Loading charts…</div>
      )}

      {s.rateLimits.size ? <RateLimitPanel limits={[...s.rateLimits.values()]} finished={finished} /> : null}

      <div className="two-col">
        <div className="card">
          <h3>Retries and rate-limit waits</h3>
          {s.waits.length || interrupted.length ? (
            <ul className="waits" data-testid="waits">
              {s.waits.slice(0, 12).map((w, i) => (
                <li key={i}>
                  <span className="muted">{new Date(w.at).toLocaleTimeString()}</span> {w.text}
                </li>
              ))}
              {interrupted.map((t) => (
                <li key={t.id} data-testid="interrupted-call">
                  <button type="button" className="link" onClick={() => setTrace(t.id)}>
                    <span className="muted">{new Date(t.startedAt).toLocaleTimeString()}</span> #
                    {t.item?.promptIndex ?? '?'} attempt {t.attempt} interrupted: the server stopped mid-call, called
                    again on restart
                  </button>
                </li>
              ))}
            </ul>
          ) : (
            <div className="muted">None so far.</div>
          )}
        </div>
        <div className="card" data-testid="audit">
          <h3>Attribution audit</h3>
          {audit ? (
            audit.verdict === 'still_running' ? (
              <div className="muted">The run is still running: the audit is final once it ends.</div>
            ) : audit.verdict === 'nothing_to_check' ? (
              <div className="warn-text" data-testid="audit-verdict">
                Nothing to check: no call answered ({fmtInt(audit.tracesChecked)} traces, 0 answered), so no attribution
                could be checked.
              </div>
            ) : audit.ok ? (
              <div className="ok-text" data-testid="audit-verdict">
                ✓ {fmtInt(audit.tracesAnswered)} answered traces and {fmtInt(audit.messagesChecked)} messages match
                their models ({audit.counts.alias} alias).
              </div>
            ) : (
              <>
                <div className="bad-text">
                  {audit.findingsTotal} finding(s) in {fmtInt(audit.tracesChecked)} traces
                </div>
                <table className="grid compact">
                  <thead>
                    <tr>
                      <th>kind</th>
                      <th>model</th>
                      <th>sent</th>
                      <th>reported</th>
                    </tr>
                  </thead>
                  <tbody>
                    {audit.findings.slice(0, 50).map((f, i) => (
                      <tr key={i} className="clickable" onClick={() => f.traceId && setTrace(f.traceId)}>
                        <td>{f.kind.replace(/_/g, ' ')}</td>
                        <td>{f.modelName}</td>
                        <td className="mono">{f.expected}</td>
                        <td className="mono">{f.actual}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </>
            )
          ) : (
            <div className="muted">
              Runs when the run finishes.{' '}
              <button type="button" className="link" onClick={() => api.runs.audit.query({ runId }).then(setAudit)}>
                Audit now
              </button>
            </div>
          )}
        </div>
      </div>

      <ItemsTable
        runId={runId}
        state={s}
        version={version}
        live={!finished}
        subscribed={subscribed}
        firstPage={firstPage}
        names={names}
        onOpen={setTrace}
        onWindow={onWindow}
      />
      {trace ? <TraceDrawer traceId={trace} onClose={closeTrace} onOpen={setTrace} /> : null}
    </section>
  );
}

/** `value`, changed at most once per `ms`; the latest value always lands (trailing edge). */
/** Provider keys this run's calls waited for: their limits as the last `rate.limit` event had them. */
function RateLimitPanel({ limits, finished }: { limits: RateLimitView[]; finished: boolean }) {
  const now = Date.now();
  return (
    <div className="card" data-testid="rate-limits">
      <h3>Provider rate limits</h3>
      <ul className="waits">
        {limits.map((l) => {
          const paused = !finished && l.pausedUntil && Date.parse(l.pausedUntil) > now;
          const rate = [
            l.requestsPerMinute != null ? `${fmtInt(l.requestsPerMinute)} req/min` : null,
            l.tokensPerMinute != null ? `${fmtInt(l.tokensPerMinute)} tokens/min` : null,
          ].filter(Boolean);
          return (
            <li key={l.key} data-testid="rate-limit">
              <b>{l.key}</b> · {rate.length ? rate.join(', ') : 'no rate set'}
              {l.learned ? ' (announced by the provider)' : ''} · {l.inFlight} in flight, {l.waiting} waiting ·
              concurrency {l.concurrency}
              {paused ? ` · paused until ${new Date(l.pausedUntil!).toLocaleTimeString()}` : ''}
              <span className="muted"> (as of {new Date(l.at).toLocaleTimeString()})</span>
            </li>
          );
        })}
      </ul>
    </div>
  );
}

export function useThrottled<T>(value: T, ms: number): T {
  const [out, setOut] = useState(value);
  const last = useRef(0);
  useEffect(() => {
    const wait = last.current + ms - Date.now();
    const apply = () => {
      last.current = Date.now();
      setOut(value);
    };
    if (wait <= 0) return apply();
    const t = setTimeout(apply, wait);
    return () => clearTimeout(t);
  }, [value, ms]);
  return out;
}
