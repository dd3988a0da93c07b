import { useEffect, useState } from 'react';
import { api, errorMessage, type Outputs } from '../api';
import { Empty, ErrorBox, Field } from '../components/ui';
import { fmtTime } from '../format';

type Preview = Outputs['promptSets']['preview'];
/** How long the "Imported …" notice stays. */
const SAVED_NOTICE_MS = 6_000;

export function PromptSetsPage() {
  const [sets, setSets] = useState<Outputs['promptSets']['list'] | null>(null);
  const [name, setName] = useState('');
  const [format, setFormat] = useState<'jsonl' | 'csv'>('jsonl');
  const [content, setContent] = useState('');
  const [preview, setPreview] = useState<Preview | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);

  const load = () => api.promptSets.list.query().then(setSets, (e) => setError(errorMessage(e)));
  useEffect(() => void load(), []);
  // "Imported …" is about the last import: it goes after a while, and at the next edit or file.
  useEffect(() => {
    if (!saved) return;
    const t = setTimeout(() => setSaved(null), SAVED_NOTICE_MS);
    return () => clearTimeout(t);
  }, [saved]);
  const edit = (text: string) => {
    setContent(text);
    setSaved(null);
  };
  useEffect(() => {
    if (!content.trim()) return setPreview(null);
    const t = setTimeout(
      () => api.promptSets.preview.mutate({ format, content }).then(setPreview, (e) => setError(errorMessage(e))),
      250,
    );
    return () => clearTimeout(t);
  }, [content, format]);

  async function onFile(file: File) {
    setName(name || file.name.replace(/\.(jsonl|csv)$/i, ''));
    if (/\.csv$/i.test(file.name)) setFormat('csv');
    else setFormat('jsonl');
    edit(await file.text());
  }

  async function save() {
    setError(null);
    try {
      const s = await api.promptSets.import.mutate({ name: name || 'Imported prompts', format, content });
      setSaved(`Imported ${s.promptCount} prompts as "${s.name}".`);
      setContent('');
      setName('');
      await load();
    } catch (err) {
      setError(errorMessage(err));
    }
  }

  return (
    <section>
      <div className="page-head">
        <h1>Prompt sets</h1>
      </div>
      <div className="card form">
        <h3>Import JSONL or CSV</h3>
        <div className="muted">
          JSONL: one <code>{'{"input": "…", "expected": "…"}'}</code> per line (or a chat <code>messages</code> array).
          CSV: a header with an <code>input</code> column; <code>expected</code> optional; other columns become
          metadata.
        </div>
        <div className="row4">
          <Field label="Name">
            <input
              name="setName"
              value={name}
              onChange={(e) => {
                setName(e.target.value);
                setSaved(null);
              }}
            />
          </Field>
          <Field label="Format">
            <select name="format" value={format} onChange={(e) => setFormat(e.target.value as 'jsonl' | 'csv')}>
              <option value="jsonl">JSONL</option>
              <option value="csv">CSV</option>
            </select>
          </Field>
          <Field label="File">
            <input
              type="file"
              accept=".jsonl,.csv,.ndjson"
              onChange={(e) => e.target.files?.[0] && onFile(e.target.files[0])}
            />
          </Field>
        </div>
        <textarea
          name="content"
          rows={6}
          placeholder="…or paste the file here"
          value={content}
          onChange={(e) => edit(e.target.value)}
        />
        {preview ? (
          <div className="preview">
            {preview.errors.length ? (
              <ul className="bad-text" data-testid="import-errors">
                {preview.errors.map((e, i) => (
                  <li key={i}>
                    line {e.line}: {e.message}
                  </li>
                ))}
              </ul>
            ) : (
              <div className="ok-text">{preview.count} prompts ready.</div>
            )}
            {/* Numbered by file line, as the errors are (a CSV header is line 1). */}
            <ul className="preview-list" data-testid="import-preview">
              {preview.prompts.map((p) => (
                <li key={p.line}>
                  <span className="line-no">line {p.line}</span>
                  {typeof p.input === 'string' ? p.input : p.input.map((m) => m.content).join(' / ')}
                </li>
              ))}
            </ul>
          </div>
        ) : null}
        <button
          type="button"
          className="button primary"
          disabled={!preview || preview.errors.length > 0 || !preview.count}
          onClick={save}
        >
          Import
        </button>
        {saved ? (
          <div className="ok-text" data-testid="import-saved">
            {saved}
          </div>
        ) : null}
      </div>
      <ErrorBox error={error} />
      {sets === null ? (
        <div className="muted">Loading…</div>
      ) : sets.length === 0 ? (
        <Empty>No prompt sets yet.</Empty>
      ) : (
        <table className="grid">
          <thead>
            <tr>
              <th>Name</th>
              <th className="num">Prompts</th>
              <th>Created</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {sets.map((s) => (
              <tr key={s.id}>
                <td>
                  <a href={`#/prompts/${s.id}`}>{s.name}</a>
                </td>
                <td className="num">{s.promptCount}</td>
                <td>{fmtTime(s.createdAt)}</td>
                <td>
                  <a href={`#/new?set=${s.id}`}>Run it</a>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
