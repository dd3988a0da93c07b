import { useEffect, useState } from 'react';
import { api, errorMessage, type Outputs } from '../api';
import { Empty, ErrorBox } from '../components/ui';
import { fmtInt, fmtTime } from '../format';
import { go } from '../router';

type SetPage = Outputs['promptSets']['get'];
/** Prompts shown at a time; the server pages them by index. */
const PAGE = 50;

/** One prompt set: its prompts a page at a time, and its deletion (refused while a run uses it). */
export function PromptSetPage({ id }: { id: string }) {
  const [start, setStart] = useState(0);
  const [data, setData] = useState<SetPage | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [confirming, setConfirming] = useState(false);

  useEffect(() => {
    let alive = true;
    api.promptSets.get.query({ id, cursor: start, limit: PAGE }).then(
      (d) => alive && setData(d),
      (e) => alive && setError(errorMessage(e)),
    );
    return () => {
      alive = false;
    };
  }, [id, start]);

  async function remove() {
    setError(null);
    try {
      await api.promptSets.delete.mutate({ id });
      go('prompts');
    } catch (err) {
      setError(errorMessage(err));
      setConfirming(false);
    }
  }

  const shown = data?.prompts ?? [];
  return (
    <section>
      <div className="page-head">
        <h1>{data ? data.name : 'Prompt set'}</h1>
        <div className="actions">
          <a className="button" href={`#/new?set=${id}`}>
            Run it
          </a>
          {confirming ? (
            <span className="actions" data-testid="confirm-delete">
              <span>Delete this set and its {data ? fmtInt(data.promptCount) : ''} prompts?</span>
              <button type="button" className="button danger" onClick={remove}>
                Delete
              </button>
              <button type="button" className="button" onClick={() => setConfirming(false)}>
                Keep
              </button>
            </span>
          ) : (
            <button type="button" className="button" onClick={() => setConfirming(true)}>
              Delete…
            </button>
          )}
        </div>
      </div>
      <ErrorBox error={error} />
      {data === null ? (
        error ? null : (
          <div className="muted">Loading…</div>
        )
      ) : data.promptCount === 0 ? (
        <Empty>This set has no prompts.</Empty>
      ) : (
        <div className="card">
          <div className="table-head">
            <h3 data-testid="prompt-range">
              Prompts {fmtInt(start + 1)}–{fmtInt(start + shown.length)} of {fmtInt(data.promptCount)}
            </h3>
            <div className="actions">
              <span className="muted">created {fmtTime(data.createdAt)}</span>
              <button
                type="button"
                className="button small"
                disabled={start === 0}
                onClick={() => setStart(Math.max(0, start - PAGE))}
              >
                Previous
              </button>
              <button
                type="button"
                className="button small"
                disabled={data.nextCursor == null}
                onClick={() => data.nextCursor != null && setStart(data.nextCursor)}
              >
                Next
              </button>
            </div>
          </div>
          <table className="grid prompt-table">
            <thead>
              <tr>
                <th className="num">#</th>
                <th>Prompt</th>
                <th>Expected</th>
                <th>Metadata</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((p) => (
                <tr key={p.index} data-index={p.index}>
                  <td className="num">{p.index}</td>
                  <td className="cell-text">{p.text}</td>
                  <td className="cell-text">{p.expected ?? <span className="muted">—</span>}</td>
                  <td className="mono sub">{p.metadata ? JSON.stringify(p.metadata) : ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
