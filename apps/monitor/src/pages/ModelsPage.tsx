import { type FormEvent, useEffect, useState } from 'react';
import { api, errorMessage, fieldErrors, type ModelView, type Outputs } from '../api';
import { Empty, ErrorBox, Field } from '../components/ui';
import { fmtMs } from '../format';

type TestResult = Outputs['models']['test'];
const blank = {
  id: '',
  name: '',
  provider: 'openai' as ModelView['provider'],
  providerModel: '',
  baseUrl: '',
  credentialEnv: '',
  apiKey: '',
  input: '',
  output: '',
  cached: '',
  temperature: '',
  maxTokens: '',
  stream: true,
  /** The model's params as stored: the form edits three of them and keeps the rest (simulation, topP…). */
  params: {} as Record<string, unknown>,
  rpm: '',
  tpm: '',
  keyConcurrency: '',
};
type Form = typeof blank;
type TextKey = { [K in keyof Form]: Form[K] extends string ? K : never }[keyof Form];

/** The API's name of each form field, where it differs: errors come back under it. */
const API_FIELD: Partial<Record<keyof Form, string>> = {
  input: 'pricing.inputPerMTok',
  output: 'pricing.outputPerMTok',
  cached: 'pricing.cachedInputPerMTok',
  temperature: 'params.temperature',
  maxTokens: 'params.maxTokens',
  stream: 'params.stream',
};
/** How an error names a field whose label is a symbol ("$ / M input tokens"). */
const SPOKEN: Record<string, string> = {
  'pricing.inputPerMTok': 'input price per 1M tokens',
  'pricing.outputPerMTok': 'output price per 1M tokens',
  'pricing.cachedInputPerMTok': 'cached input price per 1M tokens',
  'params.temperature': 'temperature',
  'params.maxTokens': 'max tokens',
};
const apiField = (k: keyof Form) => API_FIELD[k] ?? k;

export function ModelsPage() {
  const [models, setModels] = useState<ModelView[] | null>(null);
  const [form, setForm] = useState<Form | null>(null);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);
  const [tests, setTests] = useState<Record<string, TestResult | 'running'>>({});

  const load = () => api.models.list.query({ includeArchived: true }).then(setModels, (e) => setError(errorMessage(e)));
  useEffect(() => void load(), []);

  const edit = (m?: ModelView) => {
    setErrors({});
    setForm(
      m
        ? {
            id: m.id,
            name: m.name,
            provider: m.provider,
            providerModel: m.providerModel,
            baseUrl: m.baseUrl ?? '',
            credentialEnv: '',
            apiKey: '',
            input: m.pricing.inputPerMTok?.toString() ?? '',
            output: m.pricing.outputPerMTok?.toString() ?? '',
            cached: m.pricing.cachedInputPerMTok?.toString() ?? '',
            temperature: typeof m.params.temperature === 'number' ? String(m.params.temperature) : '',
            maxTokens: typeof m.params.maxTokens === 'number' ? String(m.params.maxTokens) : '',
            stream: m.params.stream !== false,
            params: m.params,
            rpm: m.rateLimits.requestsPerMinute?.toString() ?? '',
            tpm: m.rateLimits.tokensPerMinute?.toString() ?? '',
            keyConcurrency: m.rateLimits.concurrency?.toString() ?? '',
          }
        : { ...blank },
    );
  };

  async function save(e: FormEvent) {
    e.preventDefault();
    if (!form) return;
    setErrors({});
    setError(null);
    // Empty is "none"; anything else goes as a number, and the API says what is wrong with it.
    const num = (v: string) => (v.trim() ? Number(v) : null);
    const { temperature: _t, maxTokens: _m, stream: _s, ...kept } = form.params;
    const params = {
      ...kept,
      ...(form.temperature.trim() ? { temperature: Number(form.temperature) } : {}),
      ...(form.maxTokens.trim() ? { maxTokens: Number(form.maxTokens) } : {}),
      stream: form.stream,
    };
    const body = {
      name: form.name,
      provider: form.provider,
      providerModel: form.providerModel,
      baseUrl: form.baseUrl.trim() || null,
      ...(form.credentialEnv.trim() ? { credentialEnv: form.credentialEnv.trim() } : {}),
      ...(form.apiKey ? { apiKey: form.apiKey } : {}),
      params,
      pricing: { inputPerMTok: num(form.input), outputPerMTok: num(form.output), cachedInputPerMTok: num(form.cached) },
      rateLimits: {
        requestsPerMinute: num(form.rpm),
        tokensPerMinute: num(form.tpm),
        concurrency: num(form.keyConcurrency),
      },
    };
    try {
      if (form.id) await api.models.update.mutate({ id: form.id, ...body });
      else await api.models.create.mutate(body);
      setForm(null);
      await load();
    } catch (err) {
      const fe = fieldErrors(err);
      setErrors(Object.fromEntries(Object.entries(fe).map(([k, v]) => [k, SPOKEN[k] ? `${SPOKEN[k]}: ${v}` : v])));
      if (!Object.keys(fe).length) setError(errorMessage(err));
    }
  }

  async function test(id: string) {
    setTests((t) => ({ ...t, [id]: 'running' }));
    try {
      const r = await api.models.test.mutate({ id });
      setTests((t) => ({ ...t, [id]: r }));
    } catch (err) {
      setError(errorMessage(err));
      setTests((t) => ({ ...t, [id]: undefined as never }));
    }
  }

  // Editing a field clears its error: the message was about the value that is gone.
  const clear = (k: keyof Form) => {
    const key = apiField(k);
    if (errors[key]) setErrors(({ [key]: _, ...rest }) => rest);
  };
  const set = (k: TextKey) => (e: { target: { value: string } }) => {
    if (!form) return;
    setForm({ ...form, [k]: e.target.value });
    clear(k);
  };

  return (
    <section>
      <div className="page-head">
        <h1>Models</h1>
        <button type="button" className="button primary" onClick={() => edit()}>
          Add model
        </button>
      </div>
      <ErrorBox error={error} />
      {form ? (
        <form className="card form" onSubmit={save} noValidate>
          <h3>{form.id ? 'Edit model' : 'Add a model'}</h3>
          <div className="row4">
            <Field label="Name" error={errors.name}>
              <input name="name" value={form.name} onChange={set('name')} />
            </Field>
            <Field label="Provider" error={errors.provider}>
              <select name="provider" value={form.provider} onChange={set('provider')}>
                <option value="openai">OpenAI / compatible</option>
                <option value="huggingface">Hugging Face</option>
                <option value="simulated">Simulated</option>
              </select>
            </Field>
            <Field label="Provider model" error={errors.providerModel} hint="sent as-is, e.g. gpt-5-mini">
              <input name="providerModel" value={form.providerModel} onChange={set('providerModel')} />
            </Field>
            <Field label="Base URL" error={errors.baseUrl} hint="empty for the provider's own API">
              <input name="baseUrl" value={form.baseUrl} onChange={set('baseUrl')} />
            </Field>
          </div>
          <div className="row4">
            <Field label="Key from env var" error={errors.credentialEnv} hint="e.g. OPENAI_API_KEY">
              <input name="credentialEnv" value={form.credentialEnv} onChange={set('credentialEnv')} />
            </Field>
            <Field label="…or store a key" error={errors.apiKey} hint="encrypted; never shown again">
              <input name="apiKey" type="password" autoComplete="off" value={form.apiKey} onChange={set('apiKey')} />
            </Field>
          </div>
          <div className="row4">
            <Field label="$ / M input tokens" error={errors['pricing.inputPerMTok']}>
              <input name="input" inputMode="decimal" value={form.input} onChange={set('input')} />
            </Field>
            <Field label="$ / M output tokens" error={errors['pricing.outputPerMTok']}>
              <input name="output" inputMode="decimal" value={form.output} onChange={set('output')} />
            </Field>
            <Field
              label="$ / M cached input tokens"
              error={errors['pricing.cachedInputPerMTok']}
              hint="empty: cached tokens cost as input"
            >
              <input name="cached" inputMode="decimal" value={form.cached} onChange={set('cached')} />
            </Field>
          </div>
          <div className="row4">
            <Field label="Temperature" error={errors['params.temperature']} hint="0–2; empty: the provider's">
              <input name="temperature" inputMode="decimal" value={form.temperature} onChange={set('temperature')} />
            </Field>
            <Field label="Max tokens" error={errors['params.maxTokens']} hint="per answer; empty: no limit">
              <input name="maxTokens" inputMode="numeric" value={form.maxTokens} onChange={set('maxTokens')} />
            </Field>
            <Field label="Stream" error={errors['params.stream']} hint="measures time to first token">
              <span className="check">
                <input
                  type="checkbox"
                  name="stream"
                  checked={form.stream}
                  onChange={(e) => {
                    setForm({ ...form, stream: e.target.checked });
                    clear('stream');
                  }}
                />
                <span>stream the answer</span>
              </span>
            </Field>
          </div>
          <div className="row4">
            <Field
              label="Requests / min (key)"
              error={errors['rateLimits.requestsPerMinute']}
              hint="shared by every model on this key; empty: as the provider announces"
            >
              <input name="rpm" inputMode="numeric" value={form.rpm} onChange={set('rpm')} />
            </Field>
            <Field label="Tokens / min (key)" error={errors['rateLimits.tokensPerMinute']}>
              <input name="tpm" inputMode="numeric" value={form.tpm} onChange={set('tpm')} />
            </Field>
            <Field label="Calls in flight (key)" error={errors['rateLimits.concurrency']} hint="adapts below it on 429">
              <input
                name="keyConcurrency"
                inputMode="numeric"
                value={form.keyConcurrency}
                onChange={set('keyConcurrency')}
              />
            </Field>
          </div>
          <div className="actions">
            <button className="button primary" type="submit">
              Save
            </button>
            <button className="button" type="button" onClick={() => setForm(null)}>
              Cancel
            </button>
          </div>
        </form>
      ) : null}
      {models === null ? (
        <div className="muted">Loading…</div>
      ) : models.length === 0 ? (
        <Empty>No models yet.</Empty>
      ) : (
        <table className="grid">
          <thead>
            <tr>
              <th>Name</th>
              <th>Provider</th>
              <th>Sends</th>
              <th>Key</th>
              <th className="num">Rev</th>
              <th>Connection</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {models.map((m) => {
              const t = tests[m.id];
              return (
                <tr key={m.id} className={m.archivedAt ? 'archived' : ''}>
                  <td>
                    {m.name}
                    {m.archivedAt ? <span className="badge">archived</span> : null}
                  </td>
                  <td>
                    {m.provider}
                    {m.baseUrl ? <div className="sub mono">{m.baseUrl}</div> : null}
                  </td>
                  <td className="mono">{m.providerModel}</td>
                  <td className="mono">{m.credentialHint ?? <span className="muted">none</span>}</td>
                  <td className="num">{m.revision}</td>
                  <td>
                    {t === 'running' ? (
                      'testing…'
                    ) : t ? (
                      t.ok ? (
                        <span className="ok-text">
                          ok · {fmtMs(t.latencyMs)} · {t.responseModel} ({t.attribution})
                        </span>
                      ) : (
                        <div data-testid="test-failure">
                          <span className="bad-text">
                            {t.url ?? 'the simulator'}: {t.cause}
                          </span>
                          <div className="sub">{t.error.message}</div>
                        </div>
                      )
                    ) : null}
                  </td>
                  <td>
                    <div className="actions">
                      <button type="button" className="button small" onClick={() => test(m.id)}>
                        Test
                      </button>
                      <button type="button" className="button small" onClick={() => edit(m)}>
                        Edit
                      </button>
                      <button
                        type="button"
                        className="button small"
                        onClick={() =>
                          api.models.archive
                            .mutate({ id: m.id, archived: !m.archivedAt })
                            .then(load, (e) => setError(errorMessage(e)))
                        }
                      >
                        {m.archivedAt ? 'Restore' : 'Archive'}
                      </button>
                    </div>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
