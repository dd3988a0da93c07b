// The engine's hot path: every trace, message, event and item update of many calls written in
// one transaction as a few multi-row statements. Built as raw SQL because running thousands of
// rows a second through the ORM's per-row query building costs more CPU than the calls
// themselves (see the README's performance section). Values are bound, never interpolated.
import type { Db } from './client.js';
import { EVENT, ITEM, MESSAGE, TRACE, sqliteValue, type Column, type Kind } from './columns.js';
import { writeSqliteBatch } from './sqlite-batch.js';

export interface TraceRow {
  id: string;
  runId: string | null;
  modelId: string;
  itemId: string | null;
  modelRevision: number;
  provider: string;
  requestedModel: string;
  responseModel?: string | null;
  servedBy?: string | null;
  attribution: string;
  status: string;
  attempt: number;
  errorType?: string | null;
  errorMessage?: string | null;
  httpStatus?: number | null;
  startedAt: Date;
  firstTokenAt?: Date | null;
  endedAt?: Date | null;
  latencyMs?: number | null;
  ttftMs?: number | null;
  inputTokens?: number | null;
  outputTokens?: number | null;
  cachedInputTokens?: number | null;
  reasoningTokens?: number | null;
  costUsd?: number | null;
  costSource?: string;
  rawUsage?: unknown;
  input: unknown;
  output?: string | null;
}

export interface MessageRow {
  id: string;
  conversationId: string;
  role: string;
  content: string;
  runId?: string | null;
  modelId?: string | null;
  provider?: string | null;
  providerModel?: string | null;
  traceId?: string | null;
  promptIndex?: number | null;
  repeatIndex?: number | null;
  createdAt: Date;
}

export interface EventRow {
  runId: string;
  seq: number;
  type: string;
  payload: unknown;
  createdAt: Date;
}

export interface ItemUpdate {
  id: string;
  status: string;
  attempts: number;
  finalTraceId: string | null;
  startedAt: Date | null;
  endedAt: Date | null;
}

export interface RunCounters {
  completedItems: number;
  failedItems: number;
  cancelledItems: number;
  retries: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
}

export interface WriteBatch {
  traces: TraceRow[];
  messages: MessageRow[];
  items: ItemUpdate[];
  counters: Map<string, RunCounters>;
  events: EventRow[];
}

interface Dialect {
  param(i: number, kind: Kind): string;
  value(v: unknown, kind: Kind): unknown;
  maxParams: number;
}

const PG_TYPE: Record<Kind, string> = { text: 'text', int: 'integer', float: 'double precision', time: 'timestamp(3)', json: 'jsonb' };
const dialects: Record<Db['provider'], Dialect> = {
  sqlite: { param: () => '?', value: sqliteValue, maxParams: 30_000 },
  postgresql: {
    param: (i, kind) => `$${i}::${PG_TYPE[kind]}`,
    value: (v, kind) => (v == null ? null : kind === 'time' ? (v as Date).toISOString().replace('Z', '') : kind === 'json' ? JSON.stringify(v) : v),
    maxParams: 60_000,
  },
};

interface Statement {
  sql: string;
  args: unknown[];
}

/**
 * Splits rows into chunks whose sizes are powers of two (37 → 32, 4, 1), at most `max`: the
 * statements then come in a few shapes only, so the database and driver caches of prepared
 * statements stay small instead of growing with every distinct batch size.
 */
function pow2Chunks<R>(rows: R[], max: number): R[][] {
  const out: R[][] = [];
  let top = 1;
  while (top * 2 <= max) top *= 2;
  for (let start = 0; start < rows.length; ) {
    let size = top;
    while (size > rows.length - start) size /= 2;
    out.push(rows.slice(start, start + size));
    start += size;
  }
  return out;
}

/** Multi-row INSERTs, split so no statement exceeds the database's bound-parameter limit. */
function inserts<R>(d: Dialect, table: string, cols: Column<R>[], rows: R[]): Statement[] {
  const out: Statement[] = [];
  for (const chunk of pow2Chunks(rows, Math.max(1, Math.floor(d.maxParams / cols.length)))) {
    const args: unknown[] = [];
    const tuples = chunk.map((r) => `(${cols.map(([, kind, get]) => (args.push(d.value(get(r), kind)), d.param(args.length, kind))).join(', ')})`);
    out.push({ sql: `INSERT INTO "${table}" (${cols.map(([n]) => `"${n}"`).join(', ')}) VALUES ${tuples.join(', ')}`, args });
  }
  return out;
}

/** One UPDATE … FROM (VALUES …) per chunk: every item update of the batch in one statement. */
function itemUpdates(d: Dialect, provider: Db['provider'], rows: ItemUpdate[]): Statement[] {
  const out: Statement[] = [];
  for (const chunk of pow2Chunks(rows, Math.floor(d.maxParams / ITEM.length))) {
    const args: unknown[] = [];
    const tuples = chunk.map((r) => `(${ITEM.map(([, kind, get]) => (args.push(d.value(get(r), kind)), d.param(args.length, kind))).join(', ')})`);
    const names = ITEM.map(([n]) => `"${n}"`).join(', ');
    const set = ITEM.slice(1).map(([n]) => `"${n}" = v."${n}"`).join(', ');
    out.push({
      sql:
        provider === 'sqlite'
          ? `WITH v(${names}) AS (VALUES ${tuples.join(', ')}) UPDATE "RunItem" SET ${set} FROM v WHERE "RunItem"."id" = v."id"`
          : `UPDATE "RunItem" AS i SET ${set} FROM (VALUES ${tuples.join(', ')}) AS v(${names}) WHERE i."id" = v."id"`,
      args,
    });
  }
  return out;
}

function counterUpdates(d: Dialect, counters: Map<string, RunCounters>): Statement[] {
  const out: Statement[] = [];
  for (const [runId, c] of counters) {
    const cols = (Object.keys(c) as Array<keyof RunCounters>).filter((k) => c[k] !== 0);
    if (!cols.length) continue;
    const args: unknown[] = [];
    const set = cols.map((k) => (args.push(c[k]), `"${k}" = "${k}" + ${d.param(args.length, k === 'costUsd' ? 'float' : 'int')}`));
    args.push(runId);
    out.push({ sql: `UPDATE "Run" SET ${set.join(', ')} WHERE "id" = ${d.param(args.length, 'text')}`, args });
  }
  return out;
}

/** Writes the whole batch atomically. Foreign keys in order: traces before the rows naming them. */
export async function writeBatch(db: Db, batch: WriteBatch): Promise<void> {
  if (db.sqlite) return writeSqliteBatch(db.sqlite(), batch);
  const d = dialects[db.provider];
  const statements = [
    ...inserts(d, 'Trace', TRACE, batch.traces),
    ...inserts(d, 'Message', MESSAGE, batch.messages),
    ...itemUpdates(d, db.provider, batch.items),
    ...counterUpdates(d, batch.counters),
    ...inserts(d, 'RunEvent', EVENT, batch.events),
  ];
  if (!statements.length) return;
  await db.prisma.$transaction(statements.map((s) => db.prisma.$executeRawUnsafe(s.sql, ...s.args)));
}
