// Scores in the CLI: scorers from the command line, the score table of a run with its intervals,
// compare's significance lines, and --fail-under for CI gating.
import { assertFromText, parseAsserts, type ScorerSpec } from '@batchlight/scoring';
import type { Client } from './client.js';
import { CliError } from './errors.js';
import { pct, table, usd } from './format.js';

/**
 * `--scorer` values: each a JSON object (`{"type":"contains","value":"Paris"}`) or the text form
 * of a prompt file's CSV cell (`contains: Paris`, `is-json`, `llm-rubric: …`). `--judge` names the
 * judge model of `llm-rubric` scorers that name none.
 */
export function scorersFrom(raw: readonly string[] | undefined, judge: string | undefined): ScorerSpec[] | undefined {
  if (!raw?.length) return undefined;
  const entries = raw.map((r, i) => {
    if (!r.trim().startsWith('{')) return assertFromText(r);
    try {
      return JSON.parse(r) as unknown;
    } catch (err) {
      throw new CliError(`--scorer ${i + 1}: not valid JSON (${(err as Error).message})`);
    }
  });
  const r = parseAsserts(entries, { defaultJudge: judge ?? null });
  if (!r.ok) throw new CliError(`--scorer: ${r.message.replace(/^assert\[(\d+)\]/, (_m, i) => `${Number(i) + 1}`)}`);
  return r.scorers;
}

export interface FailUnder {
  scope: 'model' | 'overall';
  threshold: number;
}

/** `--fail-under 0.9` (every model's pass rate) or `--fail-under overall:0.9` (all models pooled). */
export function failUnderFrom(raw: string | undefined): FailUnder | undefined {
  if (raw === undefined) return undefined;
  const m = /^(?:(overall|model):)?(\d*\.?\d+)$/.exec(raw.trim());
  const threshold = m ? Number(m[2]) : Number.NaN;
  if (!m || !(threshold >= 0 && threshold <= 1))
    throw new CliError(`--fail-under: a pass rate between 0 and 1 (e.g. 0.9, or overall:0.9), not "${raw}"`);
  return { scope: m[1] === 'overall' ? 'overall' : 'model', threshold };
}

type RunScores = Awaited<ReturnType<Client['runs']['scores']['query']>>;
type Interval = { value: number; low: number; high: number } | null;

/** "80.0% (95% CI 49.0–94.3%)". */
export const withInterval = (i: Interval) =>
  i ? `${pct(i.value)} (${(i.low * 100).toFixed(1)}–${(i.high * 100).toFixed(1)}%)` : null;
const score = (i: Interval) => (i ? `${i.value.toFixed(3)} (${i.low.toFixed(3)}–${i.high.toFixed(3)})` : null);

/** The score lines of a run: per model, then per scorer, then the judges' own cost. */
export function scoresText(s: RunScores): string {
  if (!s.scored) return 'no scores (the run has no scorers and its prompts no asserts; add some with batchlight score)';
  const lines = [
    'scores (pass rate over answered items with its 95% Wilson interval; errors are not failures):',
    table(
      ['model', 'scorer', 'pass', 'fail', 'error', 'pass rate (95% CI)', 'mean score (95% CI)'],
      s.models.flatMap((m) => [
        [m.modelName, 'all', m.passes, m.fails, m.errors, withInterval(m.passRate), score(m.meanScore)],
        ...m.scorers.map((sc) => [
          '',
          sc.scorer,
          sc.passes,
          sc.fails,
          sc.errors,
          withInterval(sc.passRate),
          score(sc.meanScore),
        ]),
      ]),
      ['l', 'l', 'r', 'r', 'r', 'r', 'r'],
    ),
  ];
  for (const m of s.models)
    if (m.consistency)
      lines.push(
        `${m.modelName}: repeats agree ${pct(m.consistency.mean)} on average` +
          (m.consistency.flakiest.length
            ? `; flakiest prompts: ${m.consistency.flakiest.map((f) => `#${f.promptIndex} (${f.passes}/${f.answered} passed)`).join(', ')}`
            : ''),
      );
  for (const j of s.judges)
    lines.push(`judge ${j.modelName}: ${j.calls} call(s), cost ${usd(j.costUsd)} (not part of the run's cost)`);
  return lines.join('\n');
}

/** Exit 1 below the threshold: the models (or the whole run) whose pass rate is lower, named. */
export function checkFailUnder(s: RunScores, f: FailUnder): { ok: boolean; message: string } {
  const groups =
    f.scope === 'overall'
      ? [{ name: 'overall', passRate: s.overall.passRate }]
      : s.models.map((m) => ({ name: m.modelName, passRate: m.passRate }));
  const below = groups.filter((g) => !g.passRate || g.passRate.value < f.threshold);
  if (!below.length) return { ok: true, message: `pass rate at or above ${f.threshold} (${f.scope})` };
  return {
    ok: false,
    message: `--fail-under ${f.threshold}: ${below
      .map((g) => `${g.name} ${g.passRate ? pct(g.passRate.value) : 'has no scored answer'}`)
      .join(', ')}`,
  };
}
