import { useEffect, useRef, useState } from 'react';
import { api, errorMessage, type Outputs } from '../api';
import { fmtMs, fmtUsd } from '../format';
import { AttributionBadge, ErrorBox, StatusBadge } from './ui';

type Trace = Outputs['traces']['get'];
type Attempts = Outputs['traces']['list']['traces'];

/** One call in full: input, output, timings, usage, error, requested vs reported model. */
export function TraceDrawer({
  traceId,
  onClose,
  onOpen,
}: {
  traceId: string;
  onClose: () => void;
  /** Another attempt of the same item was chosen (the page keeps the shown trace in its URL). */
  onOpen?: (traceId: string) => void;
}) {
  const [shownId, setShownId] = useState(traceId);
  const [t, setT] = useState<Trace | null>(null);
  const [attempts, setAttempts] = useState<Attempts>([]);
  const [error, setError] = useState<string | null>(null);
  const close = useRef<HTMLButtonElement>(null);
  useEffect(() => setShownId(traceId), [traceId]);
  useEffect(() => {
    setT(null);
    api.traces.get.query({ id: shownId }).then(
      (trace) => {
        setT(trace);
        // Every attempt of the item: a retried call left one trace per attempt.
        if (trace.itemId)
          api.traces.list.query({ itemId: trace.itemId, limit: 100 }).then(
            (r) => setAttempts(r.traces),
            () => undefined,
          );
      },
      (e) => setError(errorMessage(e)),
    );
  }, [shownId]);
  useEffect(() => {
    const esc = (e: KeyboardEvent) => e.key === 'Escape' && onClose();
    window.addEventListener('keydown', esc);
    close.current?.focus();
    return () => window.removeEventListener('keydown', esc);
  }, [onClose]);
  const show = (id: string) => {
    setShownId(id);
    onOpen?.(id);
  };
  const input = (t?.input ?? []) as Array<{ role: string; content: string }>;
  return (
    <div className="drawer-backdrop">
      <button type="button" className="drawer-dismiss" aria-label="close the trace" tabIndex={-1} onClick={onClose} />
      <aside className="drawer" role="dialog" aria-label="trace">
        <div className="panel-head">
          <h2>Trace</h2>
          <button type="button" className="button" ref={close} onClick={onClose}>
            Close
          </button>
        </div>
        <ErrorBox error={error} />
        {attempts.length > 1 ? (
          <nav className="attempts" aria-label="attempts" data-testid="attempts">
            {attempts.map((a) => (
              <button
                key={a.id}
                type="button"
                className={`button small${a.id === shownId ? ' primary' : ''}`}
                aria-current={a.id === shownId ? 'true' : undefined}
                onClick={() => show(a.id)}
              >
                attempt {a.attempt}:{' '}
                {a.status === 'ok' ? 'ok' : `${a.errorType ?? a.status}${a.httpStatus ? ` ${a.httpStatus}` : ''}`}
              </button>
            ))}
          </nav>
        ) : null}
        {!t ? (
          <div className="muted">Loading…</div>
        ) : (
          <>
            <div className="kv wide" data-testid="trace-models">
              <span>status</span>
              <b>
                <StatusBadge status={t.status} /> attempt {t.attempt}
              </b>
              <span>model</span>
              <b>
                {t.modelName}{' '}
                <span className="muted">
                  rev {t.modelRevision} · {t.provider}
                </span>
              </b>
              <span>requested</span>
              <b className="mono">{t.requestedModel}</b>
              <span>reported</span>
              <b className="mono">
                {t.responseModel ?? '—'}
                {t.servedBy ? <span className="muted"> via {t.servedBy}</span> : null}
              </b>
              <span>attribution</span>
              <b>
                <AttributionBadge attribution={t.attribution} requested={t.requestedModel} reported={t.responseModel} />
              </b>
              <span>finish reason</span>
              <b className={t.finishReason === 'length' ? 'warn-text' : undefined} data-testid="trace-finish">
                {t.finishReason ?? '—'}
              </b>
              <span>latency / TTFT</span>
              <b>
                {fmtMs(t.latencyMs)} / {fmtMs(t.ttftMs)}
              </b>
              <span>started / ended</span>
              <b>
                {new Date(t.startedAt).toLocaleTimeString()} →{' '}
                {t.endedAt ? new Date(t.endedAt).toLocaleTimeString() : '—'}
              </b>
              <span>tokens in / out</span>
              <b>
                {t.inputTokens ?? '—'} / {t.outputTokens ?? '—'}
                {t.cachedInputTokens ? ` (cached ${t.cachedInputTokens})` : ''}
                {t.reasoningTokens ? ` (reasoning ${t.reasoningTokens})` : ''}
              </b>
              <span>cost</span>
              <b>
                {fmtUsd(t.costUsd)} <span className="muted">({t.costSource})</span>
              </b>
              {t.errorType ? (
                <>
                  <span>error</span>
                  <b className="bad-text">
                    {t.errorType}
                    {t.httpStatus ? ` (HTTP ${t.httpStatus})` : ''}: {t.errorMessage}
                  </b>
                </>
              ) : null}
            </div>
            <h3>Input</h3>
            {input.map((m, i) => (
              <div key={i} className="msg">
                <span className="role">{m.role}</span>
                <pre>{m.content}</pre>
              </div>
            ))}
            <h3>Output</h3>
            <pre className="output" data-testid="trace-output">
              {t.output ?? '—'}
            </pre>
            {t.rawUsage ? (
              <>
                <h3>Raw usage</h3>
                <pre className="mono small">{JSON.stringify(t.rawUsage, null, 2)}</pre>
              </>
            ) : null}
          </>
        )}
      </aside>
    </div>
  );
}
