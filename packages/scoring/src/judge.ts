// The LLM judge's two pure halves: the messages it is sent, and the reading of its verdict. The call
// itself is the engine's (a trace of its own, under the judge model).
import { z } from 'zod';
import { errored, failed, oneLine, passed, type ScoreInput, type ScoreResult } from './scorers.js';

/** A chat message as the LLM client takes it. */
export interface JudgeMessage {
  role: 'system' | 'user';
  content: string;
}

export const JUDGE_SYSTEM_PROMPT =
  'You are a strict grader. Grade the answer by the rubric. Reply with one JSON object and nothing ' +
  'else: {"pass": true or false, "score": a number from 0 to 1, "reason": "one short sentence"}.';

/**
 * The rubric with `{{input}}`, `{{output}}` and `{{expected}}` filled in, in one pass: text that
 * comes in (an answer containing "{{expected}}", say) is never expanded again.
 */
export function fillRubric(rubric: string, item: Pick<ScoreInput, 'input' | 'output' | 'expected'>): string {
  return rubric.replace(/\{\{\s*(input|output|expected)\s*\}\}/g, (_m, key: 'input' | 'output' | 'expected') => {
    if (key === 'expected') return item.expected ?? '(none given)';
    return item[key];
  });
}

export function judgeMessages(rubric: string, item: ScoreInput): JudgeMessage[] {
  return [
    { role: 'system', content: JUDGE_SYSTEM_PROMPT },
    { role: 'user', content: fillRubric(rubric, item) },
  ];
}

const verdictSchema = z.object({
  pass: z.boolean(),
  score: z.number().min(0).max(1).optional(),
  reason: z.string().max(2_000),
});
export type JudgeVerdict = z.infer<typeof verdictSchema>;

/**
 * The judge's answer read as a verdict: one JSON object (alone, or alone in one ```json fence)
 * with a boolean `pass`, a `reason` and optionally a `score` in [0, 1]. Anything else (prose, a
 * refusal, a score of 7, a missing field) is an error result, never a pass.
 */
export function readVerdict(text: string): ScoreResult {
  let body = text.trim();
  const fenced = /^```(?:json)?[ \t]*\n([\s\S]*?)\n?```$/.exec(body);
  if (fenced) body = fenced[1]!.trim();
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return errored(`the judge did not answer a JSON verdict: ${JSON.stringify(oneLine(text).slice(0, 60))}`);
  }
  const r = verdictSchema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    return errored(`the judge's verdict is malformed: ${issue.path.join('.') || 'verdict'}: ${issue.message}`);
  }
  const v = r.data;
  const score = v.score ?? (v.pass ? 1 : 0);
  const reason = v.reason.trim() || (v.pass ? 'the judge passed it' : 'the judge failed it');
  return v.pass ? passed(reason, score) : failed(reason, score);
}
