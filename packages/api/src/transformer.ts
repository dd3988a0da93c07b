// The API's transformer: superjson, with a shortcut on the way out for values that are plain JSON.
// Every live event of a run goes through it once per subscriber; superjson's walker, which looks
// at each value for Dates, Maps and the like, was about a sixth of the server's main thread in B1.
import superjson from 'superjson';
import { inputError } from './input-check.js';

/**
 * True when `value` is what JSON holds and nothing else: superjson would annotate nothing, so its
 * output is `{ json: value }`. Not plain: undefined, NaN, ±Infinity and -0 (superjson keeps them),
 * class instances, Dates, Maps, BigInts, sparse arrays, an object met twice (superjson records
 * the shared identity) and the keys superjson refuses.
 */
function isPlainJson(value: unknown, seen: Set<object>): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value) && !Object.is(value, -0);
    case 'object':
      break;
    default:
      return false;
  }
  if (value === null) return true;
  if (seen.has(value)) return false;
  seen.add(value);
  if (Array.isArray(value)) {
    if (Object.getPrototypeOf(value) !== Array.prototype) return false;
    for (let i = 0; i < value.length; i++) if (!(i in value) || !isPlainJson(value[i], seen)) return false;
    return true;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype || Object.getOwnPropertySymbols(value).length) return false;
  for (const key in value) {
    // superjson refuses these keys (prototype pollution): let it say so.
    if (key === '__proto__' || key === 'constructor' || key === 'prototype') return false;
    if (!isPlainJson((value as Record<string, unknown>)[key], seen)) return false;
  }
  return true;
}

type Payload = Parameters<typeof superjson.deserialize>[0];

export const transformer = {
  /** Inputs: superjson; a payload it cannot read is the caller's error, not a 500. */
  input: {
    serialize: (value: unknown) => superjson.serialize(value),
    deserialize: (payload: Payload): unknown => {
      let value: unknown;
      try {
        value = superjson.deserialize(payload);
      } catch {
        throw inputError('input', 'is not a valid superjson payload');
      }
      return value;
    },
  },
  output: {
    serialize: (value: unknown) => (isPlainJson(value, new Set()) ? { json: value } : superjson.serialize(value)),
    deserialize: <T>(payload: Payload) => superjson.deserialize<T>(payload),
  },
};
