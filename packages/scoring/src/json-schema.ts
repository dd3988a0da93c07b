// JSON Schema checks through ajv. Schemas come from users: the `pattern` keywords they hold run on
// RE2 (ajv's `code.regExp` option) so they cannot backtrack catastrophically, and no remote
// `$ref` is ever loaded (ajv has no loader unless given one).
import { Ajv, type ValidateFunction } from 'ajv';
import { RE2JS } from 're2js';

function re2(pattern: string, flags: string) {
  const re = RE2JS.compile(pattern, flags.includes('i') ? RE2JS.CASE_INSENSITIVE : 0);
  return { test: (s: string) => re.test(s) };
}
// ajv puts `code` into the validators it generates, to name the engine it calls.
re2.code = 'require("re2js").RE2JS';

// Unknown keywords are refused (a misspelt `requird` would otherwise check nothing); the stricter
// type rules are off, since the schemas users write often leave `type` implied; nothing is logged.
const ajv = new Ajv({
  allErrors: false,
  strictSchema: true,
  strictTypes: false,
  strictTuples: false,
  strictRequired: false,
  logger: false,
  code: { regExp: re2 },
});

export type CompiledSchema = { ok: true; validate: ValidateFunction } | { ok: false; message: string };

/** Compiled validators, by the schema's JSON: a run checks the same schema on every item. */
const cache = new Map<string, CompiledSchema>();
const CACHE_MAX = 64;

export function compileJsonSchema(schema: Record<string, unknown>): CompiledSchema {
  const key = JSON.stringify(schema);
  const hit = cache.get(key);
  if (hit) return hit;
  let out: CompiledSchema;
  try {
    out = { ok: true, validate: ajv.compile(schema) };
  } catch (err) {
    out = { ok: false, message: `not a usable JSON Schema: ${(err as Error).message}` };
  }
  if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value!);
  cache.set(key, out);
  return out;
}

/** The first error of the last validation, as one line naming where it is. */
export function firstSchemaError(validate: ValidateFunction): string {
  const e = validate.errors?.[0];
  if (!e) return 'does not match the schema';
  return `${e.instancePath || '(root)'} ${e.message ?? 'does not match'}`;
}
