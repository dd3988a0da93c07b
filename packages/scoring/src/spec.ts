// What a scorer is, as data: the one schema the API, the prompt-file import and the engine take.
// Scorers are declarations, never code: no user-supplied code runs in the server.
import { z } from 'zod';
import { compileJsonSchema } from './json-schema.js';
import { compileRegex } from './regex.js';

/** Longest literal a text scorer compares against, and longest rubric a judge reads. */
export const MAX_SCORER_VALUE_CHARS = 10_000;
export const MAX_REGEX_CHARS = 1_000;
export const MAX_RUBRIC_CHARS = 20_000;
/** Serialized size of a JSON Schema a scorer may carry. */
export const MAX_SCHEMA_CHARS = 64_000;
/** Scorers one run (or one prompt) may carry. */
export const MAX_SCORERS = 20;

const scorerName = z
  .string()
  .trim()
  .min(1)
  .max(80)
  .regex(/^[^\r\n\t]+$/, 'one line, no tabs');

const base = { name: scorerName.optional() };

/** Compared with `value` when given, else with the prompt's `expected`. */
const textMatch = z.object({
  ...base,
  type: z.enum(['equals', 'contains', 'icontains', 'starts-with']),
  value: z.string().min(1).max(MAX_SCORER_VALUE_CHARS).optional(),
});

const regex = z
  .object({
    ...base,
    type: z.literal('regex'),
    /** The pattern (RE2 syntax: linear time, no backreferences); the prompt's `expected` when absent. */
    value: z.string().min(1).max(MAX_REGEX_CHARS).optional(),
    flags: z
      .string()
      .regex(/^(?!.*(.).*\1)[ims]*$/, 'flags are some of i, m, s, each once')
      .optional(),
  })
  .superRefine((s, ctx) => {
    if (s.value === undefined) return;
    const r = compileRegex(s.value, s.flags);
    if (!r.ok) ctx.addIssue({ code: 'custom', path: ['value'], message: r.message });
  });

const isJson = z.object({ ...base, type: z.literal('is-json') });

const jsonSchema = z
  .object({ ...base, type: z.literal('json-schema'), schema: z.record(z.string(), z.unknown()) })
  .superRefine((s, ctx) => {
    if (JSON.stringify(s.schema).length > MAX_SCHEMA_CHARS) {
      ctx.addIssue({ code: 'custom', path: ['schema'], message: `at most ${MAX_SCHEMA_CHARS} characters of JSON` });
      return;
    }
    const r = compileJsonSchema(s.schema);
    if (!r.ok) ctx.addIssue({ code: 'custom', path: ['schema'], message: r.message });
  });

const numberWithin = z.object({
  ...base,
  type: z.literal('number'),
  /** The number to hit; the prompt's `expected` (read as a number) when absent. */
  value: z.number().finite().optional(),
  /** Largest absolute difference that passes. */
  tolerance: z.number().finite().min(0).default(0),
});

const length = z
  .object({
    ...base,
    type: z.literal('length'),
    min: z.number().int().min(0).optional(),
    max: z.number().int().min(0).optional(),
  })
  .refine((s) => s.min !== undefined || s.max !== undefined, { message: 'give min, max or both', path: ['min'] })
  .refine((s) => s.min === undefined || s.max === undefined || s.min <= s.max, {
    message: 'min is above max',
    path: ['min'],
  });

const latency = z.object({ ...base, type: z.literal('latency'), maxMs: z.number().finite().positive() });
const cost = z.object({ ...base, type: z.literal('cost'), maxUsd: z.number().finite().min(0) });

const judge = z.object({
  ...base,
  type: z.literal('judge'),
  /** A registered model (its id or its name) that grades: its calls are its own traces. */
  judge: z.string().trim().min(1).max(200),
  /** What the judge grades against; `{{input}}`, `{{output}}` and `{{expected}}` are filled in. */
  rubric: z
    .string()
    .min(1)
    .max(MAX_RUBRIC_CHARS)
    .refine((r) => /\{\{\s*output\s*\}\}/.test(r), 'the rubric must show the judge the answer: put {{output}} in it'),
});

export const scorerSpec = z.discriminatedUnion('type', [
  textMatch,
  regex,
  isJson,
  jsonSchema,
  numberWithin,
  length,
  latency,
  cost,
  judge,
]);
export type ScorerSpec = z.infer<typeof scorerSpec>;
export type ScorerType = ScorerSpec['type'];
export type JudgeSpec = z.infer<typeof judge>;

export const SCORER_TYPES = [
  'equals',
  'contains',
  'icontains',
  'starts-with',
  'regex',
  'is-json',
  'json-schema',
  'number',
  'length',
  'latency',
  'cost',
  'judge',
] as const satisfies readonly ScorerType[];

/** A list of scorers whose names (given or derived) are unique: results are stored by name. */
export const scorerList = z
  .array(scorerSpec)
  .max(MAX_SCORERS)
  .superRefine((list, ctx) => {
    const seen = new Map<string, number>();
    list.forEach((s, i) => {
      const n = scorerNameOf(s);
      const before = seen.get(n);
      if (before !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: [i, 'name'],
          message: `scorer "${n}" is also scorer ${before}: give one of them another name`,
        });
      else seen.set(n, i);
    });
  });

/** The name a scorer's results are stored under: its own, or its type and what it checks. */
export function scorerNameOf(s: ScorerSpec): string {
  if (s.name) return s.name;
  const short = (v: string) => (v.length > 40 ? `${v.slice(0, 39)}…` : v).replace(/\s+/g, ' ');
  switch (s.type) {
    case 'equals':
    case 'contains':
    case 'icontains':
    case 'starts-with':
    case 'regex':
      return s.value === undefined ? `${s.type}:expected` : `${s.type}:${short(s.value)}`;
    case 'number':
      return `number:${s.value ?? 'expected'}±${s.tolerance}`;
    case 'length':
      return `length:${s.min ?? ''}..${s.max ?? ''}`;
    case 'latency':
      return `latency<=${s.maxMs}ms`;
    case 'cost':
      return `cost<=$${s.maxUsd}`;
    case 'judge':
      return `judge:${short(s.judge)}`;
    default:
      return s.type;
  }
}
