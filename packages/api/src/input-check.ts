// One rule for every input, whatever procedure it is for, before any schema or database sees it
// (publicProcedure checks each call's raw input; prompt files' records too):
// no string (value or key) holds NUL or a lone surrogate (PostgreSQL refuses them mid-insert,
// SQLite stores them: both databases must answer the same 400), nothing nests deeper than
// MAX_INPUT_DEPTH (a 20,000-deep value overflowed the stack further on), and nothing refers to
// itself or repeats itself into more than MAX_INPUT_NODES values (superjson can rebuild shared
// and cyclic references from a payload's meta). Failures name the field's path.
import { TRPCError } from '@trpc/server';

export const MAX_INPUT_DEPTH = 64;
export const MAX_INPUT_NODES = 5_000_000;

const UNSTORABLE = /\0|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const UNSTORABLE_ALL = new RegExp(UNSTORABLE.source, 'g');

export function inputError(field: string, message: string): TRPCError {
  return new TRPCError({
    code: 'BAD_REQUEST',
    message: `${field}: ${message}`,
    cause: Object.assign(new Error(message), { field }),
  });
}

const fieldOf = (path: Array<string | number>) => (path.length ? path.join('.') : 'input');

/** Where a too-deep value is named: before its run of array indexes, at most 8 steps in. */
function nestingStart(path: Array<string | number>): Array<string | number> {
  let end = path.length;
  while (end > 0 && typeof path[end - 1] === 'number') end--;
  return path.slice(0, Math.min(end, 8));
}

function checkString(s: string, path: Array<string | number>, what: string) {
  if (!UNSTORABLE.test(s)) return;
  const m = /\0/.test(s) ? 'a NUL character' : 'a lone surrogate (not valid Unicode)';
  throw inputError(fieldOf(path), `${what} holds ${m}`);
}

function entriesOf(value: object): Iterable<[unknown, unknown]> {
  if (value instanceof Map) return value.entries();
  if (value instanceof Set) return [...value].map((v, i) => [i, v] as [unknown, unknown]);
  if (Array.isArray(value)) return value.map((v, i) => [i, v] as [unknown, unknown]);
  return Object.entries(value);
}

/** Throws a BAD_REQUEST naming the field when `input` breaks the rule; returns its size in values. */
export function checkInput(input: unknown): number {
  const sizes = new Map<object, number>(); // values already checked, and how many values they hold
  const onPath = new Set<object>();
  const path: Array<string | number> = [];
  // Recursion is bounded: nothing goes deeper than MAX_INPUT_DEPTH.
  const walk = (value: unknown, depth: number): number => {
    if (typeof value === 'string') {
      checkString(value, path, 'the text');
      return 1;
    }
    if (value === null || typeof value !== 'object') return 1;
    const known = sizes.get(value);
    if (known !== undefined) return known;
    if (onPath.has(value)) throw inputError(fieldOf(path), 'refers to itself');
    if (depth >= MAX_INPUT_DEPTH)
      throw inputError(fieldOf(nestingStart(path)), `is nested deeper than ${MAX_INPUT_DEPTH} levels`);
    onPath.add(value);
    let size = 1;
    for (const [key, child] of entriesOf(value)) {
      // A bad key is named by the object that holds it.
      if (typeof key === 'string') checkString(key, path, `the key "${key.replace(UNSTORABLE_ALL, '?').slice(0, 40)}"`);
      path.push(typeof key === 'string' || typeof key === 'number' ? key : String(key));
      size += walk(child, depth + 1);
      // A value shared many times counts each time: schemas and the database would see it so.
      if (size > MAX_INPUT_NODES)
        throw inputError('input', `holds more than ${MAX_INPUT_NODES.toLocaleString('en')} values`);
      path.pop();
    }
    onPath.delete(value);
    sizes.set(value, size);
    return size;
  };
  return walk(input, 0);
}
