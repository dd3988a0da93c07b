import { useEffect, useState } from 'react';
import { api, errorMessage, type Outputs } from '../api';
import { AttributionBadge, Empty, ErrorBox } from '../components/ui';
import { diffWords } from '../diff';
import { fmtInt, fmtMs, fmtPct, fmtUsd } from '../format';
import { go, query } from '../router';

type Report = Outputs['runs']['compare'];
type RunListItem = Outputs['runs']['list']['runs'][number];

export function ComparePage() {
  const ids = (query().get('ids') ?? '').split(',').filter(Boolean);
  const [runs, setRuns] = useState<RunListItem[]>([]);
  const [picked, setPicked] = useState<string[]>(ids);
  const [report, setReport] = useState<Report | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    api.runs.list.query({ limit: 200 }).then(
      (r) => setRuns(r.runs),
      (e) => setError(errorMessage(e)),
    );
  }, []);
  useEffect(() => {
    setReport(null);
    setError(null);
    if (ids.length < 1) return;
    api.runs.compare.query({ runIds: ids, limit: 100 }).then(setReport, (e) => setError(errorMessage(e)));
  }, [ids.join(',')]); // eslint-disable-line react-hooks/exhaustive-deps

  const base = picked[0] ? runs.find((r) => r.id === picked[0]) : undefined;
  const candidates = base ? runs.filter((r) => r.promptSetId === base.promptSetId) : runs;

  return (
    <section>
      <div className="page-head">
        <h1>Compare runs</h1>
      </div>
      <div className="card">
        <div className="muted">Pick one run (its models side by side) or several on the same prompt set.</div>
        <div className="checks">
          {candidates.map((r) => (
            <label key={r.id} className="check">
              <input
                type="checkbox"
                checked={picked.includes(r.id)}
                onChange={(e) => {
                  const next = e.target.checked ? [...picked, r.id] : picked.filter((x) => x !== r.id);
                  setPicked(next);
                  // The choice lives in the URL: a reload or a shared link keeps it.
                  history.replaceState(null, '', `#/compare?ids=${next.join(',')}`);
                }}
              />
              <span>{r.name || r.promptSet.name}</span>{' '}
              <span className="muted mono">
                {r.id.slice(-8)} · {r.models.map((m) => m.name).join(', ')} · {r.status}
              </span>
            </label>
          ))}
        </div>
        <button
          type="button"
          className="button primary"
          disabled={picked.length < 1}
          onClick={() => go(`compare?ids=${picked.join(',')}`)}
        >
          Compare
        </button>
      </div>
      <ErrorBox error={error} />
      {ids.length >= 1 && !report && !error ? <div className="muted">Loading…</div> : null}
      {ids.length < 1 ? <Empty>Choose a run, or several.</Empty> : null}
      {report ? <CompareView report={report} /> : null}
      {report?.nextCursor != null ? (
        <div className="actions center">
          <button
            type="button"
            className="button"
            onClick={() =>
              api.runs.compare.query({ runIds: ids, cursor: report.nextCursor ?? undefined, limit: 100 }).then(
                // A later page has no score comparison (null): the first page's stays.
                (more) => setReport({ ...more, scores: report.scores, rows: [...report.rows, ...more.rows] }),
                (e) => setError(errorMessage(e)),
              )
            }
          >
            Load more prompts
          </button>
        </div>
      ) : null}
    </section>
  );
}

/** A run by its name, else the last 8 characters of its id (the first 8 of a uuidv7 are a timestamp). */
const runLabel = (c: { runName: string | null; runId: string }) => c.runName || c.runId.slice(-8);
/** Higher latency is worse, lower better; the same (or unknown) is neither. */
const deltaTone = (v: number | null | undefined) => (v == null || v === 0 ? 'same' : v > 0 ? 'worse' : 'better');

function CompareView({ report }: { report: Report }) {
  const first = report.columns[0]!;
  const multiRun = new Set(report.columns.map((c) => c.runId)).size > 1;
  return (
    <>
      <div className="card">
        <h3>Per model</h3>
        <table className="grid">
          <thead>
            <tr>
              <th>run</th>
              <th>model</th>
              <th className="num">items</th>
              <th className="num">success</th>
              <th className="num">p50</th>
              <th className="num">p95</th>
              <th className="num">TTFT p50</th>
              <th className="num">tokens in/out</th>
              <th className="num">cost</th>
              <th className="num">mismatch</th>
            </tr>
          </thead>
          <tbody>
            {report.columns.map((c) => {
              const a = report.aggregates[c.key]!;
              return (
                <tr key={c.key}>
                  <td className="mono">
                    <a href={`#/run/${c.runId}`}>{runLabel(c)}</a>
                  </td>
                  <td>{c.modelName}</td>
                  <td className="num">{fmtInt(a.items)}</td>
                  <td className="num">{fmtPct(a.successRate)}</td>
                  <td className="num">{fmtMs(a.latencyP50)}</td>
                  <td className="num">{fmtMs(a.latencyP95)}</td>
                  <td className="num">{fmtMs(a.ttftP50)}</td>
                  <td className="num">
                    {fmtInt(a.inputTokens)}/{fmtInt(a.outputTokens)}
                  </td>
                  <td className="num">{fmtUsd(a.costUsd)}</td>
                  <td className="num">{a.mismatches}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {report.scores?.length ? <ScoresCard report={{ ...report, scores: report.scores }} /> : null}
      <div className="card compare-rows">
        <h3>
          Prompt by prompt{' '}
          <span className="muted">
            (differences from {first.modelName} in {runLabel(first)})
          </span>
        </h3>
        {report.rows.map((row) => (
          <div key={row.promptIndex} className="compare-row">
            <div className="prompt">
              <span className="mono muted">#{row.promptIndex}</span> {row.prompt}
            </div>
            <div
              className="cells"
              style={{ gridTemplateColumns: `repeat(${report.columns.length}, minmax(220px, 1fr))` }}
            >
              {report.columns.map((c) => {
                const cell = row.cells[c.key];
                const baseOut = row.cells[first.key]?.output;
                const d = row.deltas[c.key];
                return (
                  <div key={c.key} className="cell">
                    <div className="cell-head">
                      <b data-testid="compare-column">
                        {c.modelName}
                        {multiRun ? <span className="muted"> · {runLabel(c)}</span> : null}
                      </b>{' '}
                      <AttributionBadge
                        attribution={cell?.attribution ?? null}
                        requested={c.providerModel}
                        reported={cell?.responseModel}
                      />
                      <span className="muted">
                        {' '}
                        {fmtMs(cell?.latencyMs)} · {fmtUsd(cell?.costUsd)}
                      </span>
                      {d ? (
                        <>
                          {' Δ '}
                          <span className={`delta ${deltaTone(d.latencyMs)}`}>
                            {d.latencyMs != null ? `${d.latencyMs > 0 ? '+' : ''}${Math.round(d.latencyMs)} ms` : '—'}
                          </span>
                          {' · '}
                          <span className={`delta ${deltaTone(d.costUsd)}`}>
                            {d.costUsd != null ? `${d.costUsd > 0 ? '+' : ''}${fmtUsd(d.costUsd)}` : '—'}
                          </span>
                        </>
                      ) : null}
                    </div>
                    <div className="cell-out">
                      {!cell ? (
                        <span className="muted">not in this run</span>
                      ) : c.key === first.key || baseOut == null || cell.output == null ? (
                        (cell.output ?? <span className="muted">{cell.status}</span>)
                      ) : (
                        diffWords(baseOut, cell.output).map((p, i) => (
                          <span key={i} className={`d-${p.kind}`}>
                            {p.text}
                          </span>
                        ))
                      )}
                    </div>
                  </div>
                );
              })}
            </div>
          </div>
        ))}
      </div>
    </>
  );
}

/**
 * Each column's paired test against the first: the sentence the server worded ("better" only
 * when significant) and the prompts that passed in the baseline and fail in the candidate.
 */
function ScoresCard({ report }: { report: Report & { scores: NonNullable<Report['scores']> } }) {
  const promptOf = new Map(report.rows.map((r) => [r.promptIndex, r.prompt]));
  return (
    <div className="card" data-testid="compare-scores">
      <h3>Scores</h3>
      {report.scores.map((c) => (
        <div key={`${c.baseline}|${c.candidate}`} className="score-compare">
          <p
            className={c.significant ? 'significance significant' : 'significance'}
            data-testid="significance"
            data-significant={c.significant}
          >
            {c.summary}
          </p>
          {c.regressed.length ? (
            <div data-testid="regressed">
              <span className="bad-text">
                {c.regressed.length} regressed {c.regressed.length === 1 ? 'prompt' : 'prompts'}
              </span>{' '}
              <span className="muted">
                (passed under {c.labelB}, fail under {c.labelA})
              </span>
              <ul className="regressed">
                {c.regressed.map((i) => (
                  <li key={i}>
                    <span className="mono muted">#{i}</span> {promptOf.get(i) ?? ''}
                  </li>
                ))}
              </ul>
            </div>
          ) : (
            <div className="muted" data-testid="regressed">
              no regressed prompts
            </div>
          )}
        </div>
      ))}
    </div>
  );
}
