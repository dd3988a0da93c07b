import { RUN_DEFAULTS } from '@batchlight/api/schemas';
import { type FormEvent, useEffect, useState } from 'react';
import { api, errorMessage, fieldErrors, type ModelView, type Outputs } from '../api';
import { ErrorBox, Field } from '../components/ui';
import { go, query } from '../router';

type PromptSet = Outputs['promptSets']['list'][number];

export function NewRunPage() {
  const [models, setModels] = useState<ModelView[]>([]);
  const [sets, setSets] = useState<PromptSet[]>([]);
  const [form, setForm] = useState({
    promptSetId: '',
    modelIds: [] as string[],
    // The CLI's defaults: one place defines them (the API's schemas).
    concurrency: String(RUN_DEFAULTS.concurrency),
    delayMs: String(RUN_DEFAULTS.delayMs),
    promptLimit: '',
    repeats: String(RUN_DEFAULTS.repeats),
    maxRetries: String(RUN_DEFAULTS.maxRetries),
    timeoutMs: String(RUN_DEFAULTS.timeoutMs),
    name: '',
  });
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    api.models.list.query().then(setModels, (e) => setError(errorMessage(e)));
    api.promptSets.list.query().then(
      (s) => {
        setSets(s);
        const wanted = query().get('set');
        const first = s.find((x) => x.id === wanted) ?? s[0];
        setForm((f) => (f.promptSetId || !first ? f : { ...f, promptSetId: first.id }));
      },
      (e) => setError(errorMessage(e)),
    );
  }, []);

  // Editing a field clears its error: the message was about the value that is gone.
  const set = (k: keyof typeof form) => (e: { target: { value: string } }) => {
    setForm({ ...form, [k]: e.target.value });
    if (errors[k]) setErrors(({ [k]: _, ...rest }) => rest);
  };
  const num = (v: string) => (v.trim() === '' ? NaN : Number(v));

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setErrors({});
    setError(null);
    try {
      const run = await api.runs.create.mutate({
        promptSetId: form.promptSetId,
        modelIds: form.modelIds,
        concurrency: num(form.concurrency),
        delayMs: num(form.delayMs),
        promptLimit: form.promptLimit.trim() ? num(form.promptLimit) : null,
        repeats: num(form.repeats),
        maxRetries: num(form.maxRetries),
        timeoutMs: num(form.timeoutMs),
        name: form.name.trim() || null,
      });
      go(`run/${run.id}`);
    } catch (err) {
      const fe = fieldErrors(err);
      setErrors(fe);
      if (!Object.keys(fe).length) setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="narrow">
      <h1>New run</h1>
      <ErrorBox error={error} />
      <form onSubmit={submit} className="form" noValidate>
        <Field label="Prompt set" error={errors.promptSetId}>
          <select name="promptSetId" value={form.promptSetId} onChange={set('promptSetId')}>
            {sets.length === 0 ? <option value="">No prompt sets — import one first</option> : null}
            {sets.map((s) => (
              <option key={s.id} value={s.id}>
                {s.name} ({s.promptCount} prompts)
              </option>
            ))}
          </select>
        </Field>
        <Field label="Models" group error={errors.modelIds} hint="Each prompt goes to every model you tick.">
          <div className="checks">
            {models.map((m) => (
              <label key={m.id} className="check">
                <input
                  type="checkbox"
                  name="model"
                  value={m.id}
                  checked={form.modelIds.includes(m.id)}
                  onChange={(e) => {
                    setForm({
                      ...form,
                      modelIds: e.target.checked ? [...form.modelIds, m.id] : form.modelIds.filter((x) => x !== m.id),
                    });
                    setErrors(({ modelIds: _, ...rest }) => rest);
                  }}
                />
                <span>{m.name}</span>{' '}
                <span className="muted mono">
                  {m.provider} · {m.providerModel}
                </span>
              </label>
            ))}
          </div>
        </Field>
        <div className="row4">
          <Field label="Concurrency" error={errors.concurrency} hint="1–256 calls in flight">
            <input name="concurrency" inputMode="numeric" value={form.concurrency} onChange={set('concurrency')} />
          </Field>
          <Field label="Delay (ms)" error={errors.delayMs} hint="min gap between starts">
            <input name="delayMs" inputMode="numeric" value={form.delayMs} onChange={set('delayMs')} />
          </Field>
          <Field label="Limit" error={errors.promptLimit} hint="first N prompts">
            <input
              name="promptLimit"
              inputMode="numeric"
              placeholder="all"
              value={form.promptLimit}
              onChange={set('promptLimit')}
            />
          </Field>
          <Field label="Repeats" error={errors.repeats} hint="1–100">
            <input name="repeats" inputMode="numeric" value={form.repeats} onChange={set('repeats')} />
          </Field>
        </div>
        <div className="row4">
          <Field label="Max retries" error={errors.maxRetries} hint="0–10 more tries of a failed call">
            <input name="maxRetries" inputMode="numeric" value={form.maxRetries} onChange={set('maxRetries')} />
          </Field>
          <Field label="Timeout (ms)" error={errors.timeoutMs} hint="per call, 100–600000">
            <input name="timeoutMs" inputMode="numeric" value={form.timeoutMs} onChange={set('timeoutMs')} />
          </Field>
        </div>
        <Field label="Name (optional)" error={errors.name}>
          <input name="name" value={form.name} onChange={set('name')} />
        </Field>
        <button className="button primary" type="submit" disabled={busy}>
          {busy ? 'Starting…' : 'Start run'}
        </button>
      </form>
    </section>
  );
}
