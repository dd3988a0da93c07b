// Regular expressions from users run on RE2 (re2js): matching takes time linear in the input,
// whatever the pattern, so a hostile pattern cannot stall the server (no catastrophic
// backtracking). RE2 has no backreferences or lookaround; such a pattern is refused by name.
import { RE2JS } from 're2js';

export type CompiledRegex = { ok: true; regex: RE2JS } | { ok: false; message: string };

const FLAG_BITS: Record<string, number> = {
  i: RE2JS.CASE_INSENSITIVE,
  m: RE2JS.MULTILINE,
  s: RE2JS.DOTALL,
};

/** Compiled patterns, by flags and pattern: a run checks the same few patterns on every item. */
const cache = new Map<string, CompiledRegex>();
const CACHE_MAX = 256;

export function compileRegex(pattern: string, flags = ''): CompiledRegex {
  const key = `${flags}/${pattern}`;
  const hit = cache.get(key);
  if (hit) return hit;
  let bits = 0;
  for (const f of flags) bits |= FLAG_BITS[f] ?? 0;
  let out: CompiledRegex;
  try {
    out = { ok: true, regex: RE2JS.compile(pattern, bits) };
  } catch (err) {
    out = { ok: false, message: `not a valid RE2 pattern: ${(err as Error).message}` };
  }
  if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value!);
  cache.set(key, out);
  return out;
}
