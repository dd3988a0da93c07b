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
  rpm: '',
  tpm: '',
  keyConcurrency: '',
};

export function ModelsPage() {
  const [models, setModels] = useState<ModelView[] | null>(null);
  const [form, setForm] = useState<typeof blank | null>(null);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);
  const [tests, setTests] = useState<Record<string, TestResult | 'running'>>({});

  const load = () => api.models.list.query({ includeArchived: true }).then(setModels, (e) => setError(errorMessage(e)));
  useEffect(() => void load(), []);

  const edit = (m?: ModelView) =>
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
            rpm: m.rateLimits.requestsPerMinute?.toString() ?? '',
            tpm: m.rateLimits.tokensPerMinute?.toString() ?? '',
            keyConcurrency: m.rateLimits.concurrency?.toString() ?? '',
          }
        : { ...blank },
    );

  async function save(e: FormEvent) {
    e.preventDefault();
    if (!form) return;
    setErrors({});
    const price = (v: string) => (v.trim() ? Number(v) : null);
    const body = {
      name: form.name,
      provider: form.provider,
      providerModel: form.providerModel,
      baseUrl: form.baseUrl.trim() || null,
      ...(form.credentialEnv.trim() ? { credentialEnv: form.credentialEnv.trim() } : {}),
      ...(form.apiKey ? { apiKey: form.apiKey } : {}),
      pricing: { inputPerMTok: price(form.input), outputPerMTok: price(form.output) },
      rateLimits: {
        requestsPerMinute: price(form.rpm),
        tokensPerMinute: price(form.tpm),
        concurrency: price(form.keyConcurrency),
      },
    };
    try {
      if (form.id) await api.models.update.mutate({ id: form.id, ...body });
      else await api.models.create.mutate(body);
      setForm(null);
      await load();
    } catch (err) {
      const fe = fieldErrors(err);
      setErrors(fe);
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

  const set = (k: keyof typeof blank) => (e: { target: { value: string } }) =>
    form && setForm({ ...form, [k]: e.target.value });

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
            <Field label="$ / M input tokens" error={errors['pricing.inputPerMTok']}>
              <input name="input" inputMode="decimal" value={form.input} onChange={set('input')} />
            </Field>
            <Field label="$ / M output tokens" error={errors['pricing.outputPerMTok']}>
              <input name="output" inputMode="decimal" value={form.output} onChange={set('output')} />
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
                        <span className="bad-text">
                          {t.error.type}: {t.error.message}
                        </span>
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
