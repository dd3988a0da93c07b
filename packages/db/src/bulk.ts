// Bulk inserts of prompts and run items: 100,000 rows in one transaction, the insert's own
// memory independent of the row count.
//
// Rows are pulled from an iterable one statement's worth at a time, and each statement carries
// its rows as ONE bound parameter, a JSON array of row tuples that the database unpacks
// (SQLite json_each, PostgreSQL json_array_elements). One parameter instead of one per value
// matters twice over: Prisma builds objects for every bound value (a type tag, converted and
// serialised copies), and Prisma's debug module keeps the arguments of the last 100 queries
// alive, DEBUG set or not: with a parameter per value and 2,048 rows a statement, creating a
// 100,000-prompt set would leave ~80 MB alive after it returned. A statement's values being one
// string of at most BULK_CHARS, what that history keeps is bounded by 100 × BULK_CHARS (1.6 MB).

import { type Column, PG_TYPE } from './columns.js';
import type { Db } from './db.js';

export interface PromptRow {
  id: string;
  promptSetId: string;
  index: number;
  input: unknown;
  expected: string | null;
  metadata: unknown;
  /** Scorer specs of the prompt's `assert` entries (null: none). */
  asserts?: unknown;
}
export interface NewRunItem {
  id: string;
  runId: string;
  modelId: string;
  promptIndex: number;
  repeatIndex: number;
}

const PROMPT: Column<PromptRow>[] = [
  ['id', 'text', (r) => r.id],
  ['promptSetId', 'text', (r) => r.promptSetId],
  ['index', 'int', (r) => r.index],
  ['input', 'json', (r) => r.input],
  ['expected', 'text', (r) => r.expected],
  ['metadata', 'json', (r) => r.metadata],
  ['asserts', 'json', (r) => r.asserts],
];
const RUN_ITEM: Column<NewRunItem>[] = [
  ['id', 'text', (r) => r.id],
  ['runId', 'text', (r) => r.runId],
  ['modelId', 'text', (r) => r.modelId],
  ['promptIndex', 'int', (r) => r.promptIndex],
  ['repeatIndex', 'int', (r) => r.repeatIndex],
];

/** A statement holds at most this many rows, or this many characters of JSON, whichever comes first. */
export const BULK_ROWS = 1024;
export const BULK_CHARS = 16 * 1024;

/**
 * `INSERT … SELECT` from the JSON parameter. Every value travels as a JSON string, number or null
 * and comes out through `->>` as text, integer or NULL; a JSON column's value is its
 * JSON.stringify text (what Prisma itself stores), so rows read back exactly as the ORM wrote them.
 */
function insertSql(provider: Db['provider'], table: string, cols: Column<never>[]): string {
  const names = cols.map(([n]) => `"${n}"`).join(', ');
  if (provider === 'sqlite') {
    return `INSERT INTO "${table}" (${names}) SELECT ${cols.map((_, i) => `r.value ->> ${i}`).join(', ')} FROM json_each(?) AS r`;
  }
  const values = cols.map(([, kind], i) => (kind === 'text' ? `r ->> ${i}` : `(r ->> ${i})::${PG_TYPE[kind]}`));
  return `INSERT INTO "${table}" (${names}) SELECT ${values.join(', ')} FROM json_array_elements($1::json) AS r`;
}

function tuple<R>(cols: Column<R>[], row: R): string {
  return JSON.stringify(
    cols.map(([, kind, get]) => {
      const v = get(row) ?? null;
      return kind === 'json' && v !== null ? JSON.stringify(v) : v;
    }),
  );
}

type RawExecutor = Pick<Db['prisma'], '$executeRawUnsafe'>;

/**
 * Inserts `rows` as a few statements run one after another on `client` (a transaction client, so
 * that they are atomic with the rest). `rows` is read lazily: pass a generator so that only one
 * statement's rows exist at a time. Returns the number of rows inserted.
 */
export async function bulkInsert(
  client: RawExecutor,
  provider: Db['provider'],
  table: 'Prompt',
  rows: Iterable<PromptRow>,
): Promise<number>;
export async function bulkInsert(
  client: RawExecutor,
  provider: Db['provider'],
  table: 'RunItem',
  rows: Iterable<NewRunItem>,
): Promise<number>;
export async function bulkInsert(
  client: RawExecutor,
  provider: Db['provider'],
  table: 'Prompt' | 'RunItem',
  rows: Iterable<PromptRow | NewRunItem>,
): Promise<number> {
  const cols = (table === 'Prompt' ? PROMPT : RUN_ITEM) as Column<PromptRow | NewRunItem>[];
  const sql = insertSql(provider, table, cols as Column<never>[]);
  let total = 0;
  let parts: string[] = [];
  let chars = 0;
  const flush = async () => {
    if (!parts.length) return;
    const json = `[${parts.join(',')}]`;
    total += parts.length;
    parts = [];
    chars = 0;
    await client.$executeRawUnsafe(sql, json);
  };
  for (const row of rows) {
    const t = tuple(cols, row);
    parts.push(t);
    chars += t.length + 1;
    if (parts.length >= BULK_ROWS || chars >= BULK_CHARS) await flush();
  }
  await flush();
  return total;
}
