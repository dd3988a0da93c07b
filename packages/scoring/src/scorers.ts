// The scorers that need no model: pure functions of (prompt, expected, output, call) → result.
import { compileJsonSchema, firstSchemaError } from './json-schema.js';
import { compileRegex } from './regex.js';
import type { ScorerSpec } from './spec.js';

/** pass / fail judge an answer; `error` says there was nothing fit to judge (never a failure). */
export type ScoreStatus = 'pass' | 'fail' | 'error';

export interface ScoreResult {
  status: ScoreStatus;
  /** In [0, 1]; null for an error. */
  score: number | null;
  /** One line saying why. */
  reason: string;
}

/** What a scorer sees of one answered item. */
export interface ScoreInput {
  /** The prompt as text (chat prompts: their messages, one per line). */
  input: string;
  expected: string | null;
  output: string;
  latencyMs: number | null;
  costUsd: number | null;
}

const REASON_CHARS = 200;
const QUOTE_CHARS = 40;

/** One line of at most REASON_CHARS characters: a reason may quote hostile output. */
export function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > REASON_CHARS ? `${flat.slice(0, REASON_CHARS - 1)}…` : flat;
}

const quote = (s: string) => JSON.stringify(s.length > QUOTE_CHARS ? `${s.slice(0, QUOTE_CHARS - 1)}…` : s);

export const passed = (reason: string, score = 1): ScoreResult => ({ status: 'pass', score, reason: oneLine(reason) });
export const failed = (reason: string, score = 0): ScoreResult => ({ status: 'fail', score, reason: oneLine(reason) });
export const errored = (reason: string): ScoreResult => ({ status: 'error', score: null, reason: oneLine(reason) });

const verdict = (ok: boolean, yes: string, no: string) => (ok ? passed(yes) : failed(no));

/** The literal a text scorer compares with: its own value, else the prompt's `expected`. */
function target(value: string | undefined, expected: string | null): string | null {
  return value ?? (expected === null || expected === '' ? null : expected);
}

const NO_EXPECTED = 'no value to compare with: give the scorer a value or the prompt an expected answer';

/** Scores one answered item with a scorer that needs no model (a judge is the engine's call). */
export function scoreLocal(spec: Exclude<ScorerSpec, { type: 'judge' }>, item: ScoreInput): ScoreResult {
  const out = item.output;
  switch (spec.type) {
    case 'equals': {
      const t = target(spec.value, item.expected);
      if (t === null) return errored(NO_EXPECTED);
      return verdict(out.trim() === t.trim(), 'equals the expected text', `${quote(out.trim())} is not ${quote(t)}`);
    }
    case 'contains': {
      const t = target(spec.value, item.expected);
      if (t === null) return errored(NO_EXPECTED);
      return verdict(out.includes(t), `contains ${quote(t)}`, `does not contain ${quote(t)}`);
    }
    case 'icontains': {
      const t = target(spec.value, item.expected);
      if (t === null) return errored(NO_EXPECTED);
      return verdict(
        out.toLowerCase().includes(t.toLowerCase()),
        `contains ${quote(t)} (any case)`,
        `does not contain ${quote(t)} in any case`,
      );
    }
    case 'starts-with': {
      const t = target(spec.value, item.expected);
      if (t === null) return errored(NO_EXPECTED);
      return verdict(out.trimStart().startsWith(t), `starts with ${quote(t)}`, `does not start with ${quote(t)}`);
    }
    case 'regex': {
      const t = target(spec.value, item.expected);
      if (t === null) return errored(NO_EXPECTED);
      const r = compileRegex(t, spec.flags);
      if (!r.ok) return errored(`the expected pattern ${quote(t)} is ${r.message}`);
      return verdict(r.regex.test(out), `matches /${t}/`, `does not match /${t}/`);
    }
    case 'is-json': {
      const parsed = parseJson(out);
      return parsed.ok ? passed('is valid JSON') : failed(`not valid JSON: ${parsed.message}`);
    }
    case 'json-schema': {
      const parsed = parseJson(out);
      if (!parsed.ok) return failed(`not valid JSON: ${parsed.message}`);
      const c = compileJsonSchema(spec.schema);
      if (!c.ok) return errored(c.message);
      return c.validate(parsed.value) ? passed('matches the JSON Schema') : failed(firstSchemaError(c.validate));
    }
    case 'number': {
      let want = spec.value;
      if (want === undefined) {
        if (item.expected === null || item.expected.trim() === '') return errored(NO_EXPECTED);
        want = Number(item.expected.trim());
        if (!Number.isFinite(want)) return errored(`the expected answer ${quote(item.expected)} is not a number`);
      }
      const got = numberIn(out);
      if (got === null) return failed('no number in the answer');
      const diff = Math.abs(got - want);
      return verdict(
        diff <= spec.tolerance,
        `${got} is within ${spec.tolerance} of ${want}`,
        `${got} is ${round(diff)} from ${want} (tolerance ${spec.tolerance})`,
      );
    }
    case 'length': {
      const n = codePoints(out);
      if (spec.min !== undefined && n < spec.min) return failed(`${n} characters, fewer than ${spec.min}`);
      if (spec.max !== undefined && n > spec.max) return failed(`${n} characters, more than ${spec.max}`);
      return passed(`${n} characters, within bounds`);
    }
    case 'latency': {
      if (item.latencyMs === null) return errored('the call has no latency on record');
      const ms = Math.round(item.latencyMs);
      return verdict(item.latencyMs <= spec.maxMs, `${ms} ms ≤ ${spec.maxMs} ms`, `${ms} ms > ${spec.maxMs} ms`);
    }
    case 'cost': {
      if (item.costUsd === null) return errored("the call's cost is unknown (the model has no pricing)");
      return verdict(
        item.costUsd <= spec.maxUsd,
        `$${round(item.costUsd)} ≤ $${spec.maxUsd}`,
        `$${round(item.costUsd)} > $${spec.maxUsd}`,
      );
    }
  }
}

/** The whole answer read as JSON (surrounding whitespace allowed, nothing else). */
function parseJson(text: string): { ok: true; value: unknown } | { ok: false; message: string } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    return { ok: false, message: (err as Error).message };
  }
}

const NUMBER = /[-+]?(?:\d+(?:,\d{3})*(?:\.\d+)?|\.\d+)(?:[eE][-+]?\d+)?/;

/** The answer as a number: the whole of it when it is one, else the first number in it. */
export function numberIn(text: string): number | null {
  const whole = text.trim();
  if (whole !== '' && Number.isFinite(Number(whole))) return Number(whole);
  // Linear: the answer is scanned once, first match only; thousands separators are dropped.
  const m = NUMBER.exec(text.length > 100_000 ? text.slice(0, 100_000) : text);
  if (!m) return null;
  const n = Number(m[0].replaceAll(',', ''));
  return Number.isFinite(n) ? n : null;
}

function codePoints(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

const round = (x: number) => Number(x.toPrecision(4));
