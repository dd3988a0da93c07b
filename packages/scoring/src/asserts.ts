// `assert` entries of prompt files, promptfoo-like, read into scorer specs. JSONL lines carry an
// array of objects ({"type": "contains", "value": "Paris"}); CSV cells carry one assertion as text
// ("contains: Paris", "llm-rubric: is polite"), as promptfoo's `__expected` columns do. Types
// that would run user code (javascript, python, webhook…) are refused by name.
import { type ScorerSpec, scorerList } from './spec.js';

export type AssertsResult = { ok: true; scorers: ScorerSpec[] } | { ok: false; message: string };

/** promptfoo's names for ours, where they differ. */
const RENAMED: Record<string, string> = { 'llm-rubric': 'judge', 'contains-json': 'is-json' };
const RUNS_CODE = new Set(['javascript', 'python', 'webhook', 'ruby', 'js', 'py']);

function fromEntry(entry: unknown, at: string, defaultJudge: string | null): ScorerSpec | string {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return `${at}: an object with a "type"`;
  const e = entry as Record<string, unknown>;
  if (typeof e.type !== 'string') return `${at}.type: a string`;
  const raw = e.type.trim().toLowerCase();
  if (RUNS_CODE.has(raw)) return `${at}.type: "${raw}" runs user code, and batchlight runs none in the server`;
  if (raw.startsWith('not-')) return `${at}.type: "${raw}": negated assertions are not supported`;
  const type = RENAMED[raw] ?? raw;
  const name = typeof e.metric === 'string' ? e.metric : typeof e.name === 'string' ? e.name : undefined;
  const out: Record<string, unknown> = { type, ...(name !== undefined ? { name } : {}) };
  switch (type) {
    case 'equals':
    case 'contains':
    case 'icontains':
    case 'starts-with':
    case 'regex':
      if (e.value !== undefined) out.value = typeof e.value === 'number' ? String(e.value) : e.value;
      if (e.flags !== undefined) out.flags = e.flags;
      break;
    case 'is-json':
      // promptfoo's is-json with a value checks against that JSON Schema.
      if (e.value !== undefined) return { ...out, type: 'json-schema', schema: e.value } as ScorerSpec;
      break;
    case 'json-schema':
      out.schema = e.schema ?? e.value;
      break;
    case 'number':
      if (e.value !== undefined) out.value = e.value;
      if (e.tolerance !== undefined || e.threshold !== undefined) out.tolerance = e.tolerance ?? e.threshold;
      break;
    case 'length':
      out.min = e.min;
      out.max = e.max;
      break;
    case 'latency':
      out.maxMs = e.maxMs ?? e.threshold;
      break;
    case 'cost':
      out.maxUsd = e.maxUsd ?? e.threshold;
      break;
    case 'judge': {
      out.rubric = e.rubric ?? e.value;
      const judge = e.judge ?? e.provider ?? defaultJudge;
      if (judge === null || judge === undefined)
        return `${at}.provider: name the judge model (its registry name or id) for "${raw}"`;
      out.judge = judge;
      break;
    }
    default:
      return `${at}.type: "${raw}" is not a scorer batchlight knows`;
  }
  return out as ScorerSpec;
}

/**
 * A JSONL record's `assert` value (an array of entries). `defaultJudge` names the judge model for
 * `llm-rubric` entries that name none. Errors name the entry and field.
 */
export function parseAsserts(value: unknown, opts: { defaultJudge?: string | null } = {}): AssertsResult {
  if (!Array.isArray(value)) return { ok: false, message: 'assert: an array of assertions' };
  const specs: unknown[] = [];
  for (const [i, entry] of value.entries()) {
    const s = fromEntry(entry, `assert[${i}]`, opts.defaultJudge ?? null);
    if (typeof s === 'string') return { ok: false, message: s };
    specs.push(s);
  }
  const r = scorerList.safeParse(specs);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const [index, ...field] = issue.path.map(String);
    return { ok: false, message: `assert[${index ?? ''}]${field.map((f) => `.${f}`).join('')}: ${issue.message}` };
  }
  return { ok: true, scorers: r.data };
}

/**
 * One CSV cell: `type: value` ("contains: Paris", "regex: ^\d+$", "llm-rubric: is polite"), a bare
 * type ("is-json"), or plain text, which is an `equals` of that text (as promptfoo reads it).
 */
export function assertFromText(text: string): unknown {
  const m = /^\s*([a-z][a-z-]*)\s*(?::\s?([\s\S]*))?$/i.exec(text);
  const type = m?.[1]?.toLowerCase();
  const known = type && (RENAMED[type] || RUNS_CODE.has(type) || KNOWN_TEXT_TYPES.has(type) || type.startsWith('not-'));
  if (!m || !known) return { type: 'equals', value: text };
  const value = m[2];
  if (value === undefined || value === '') return { type };
  if (type === 'latency' || type === 'cost') return { type, threshold: Number(value) };
  if (type === 'is-json' || type === 'json-schema') {
    try {
      return { type, value: JSON.parse(value) };
    } catch {
      return { type, value }; // refused by the schema, with the field named
    }
  }
  return { type, value };
}

const KNOWN_TEXT_TYPES = new Set([
  'equals',
  'contains',
  'icontains',
  'starts-with',
  'regex',
  'is-json',
  'json-schema',
  'latency',
  'cost',
  'judge',
]);
