// The engine's hot path: every trace, message, event and item update of many calls written in
// one transaction: on PostgreSQL as a few multi-row statements (here), on SQLite with prepared
// statements (sqlite-batch.ts). Built as raw SQL because running thousands of
// rows a second through the ORM's per-row query building costs more CPU than the calls
// themselves (see the README's performance section). Values are bound, never interpolated.
import type { Db } from './client.js';
import { EVENT, ITEM, MESSAGE, PG_TYPE, TRACE, type Column, type Kind } from './columns.js';
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
  finishReason?: string | null;
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

// PostgreSQL's side of writeBatch (SQLite's is sqlite-batch.ts): multi-row statements with typed
// parameters.
const MAX_PARAMS = 60_000;
const param = (i: number, kind: Kind) => `$${i}::${PG_TYPE[kind]}`;
const value = (v: unknown, kind: Kind): unknown =>
  v == null ? null : kind === 'time' ? (v as Date).toISOString().replace('Z', '') : kind === 'json' ? JSON.stringify(v) : v;

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
function inserts<R>(table: string, cols: Column<R>[], rows: R[]): Statement[] {
  const out: Statement[] = [];
  for (const chunk of pow2Chunks(rows, Math.max(1, Math.floor(MAX_PARAMS / cols.length)))) {
    const args: unknown[] = [];
    const tuples = chunk.map((r) => `(${cols.map(([, kind, get]) => (args.push(value(get(r), kind)), param(args.length, kind))).join(', ')})`);
    out.push({ sql: `INSERT INTO "${table}" (${cols.map(([n]) => `"${n}"`).join(', ')}) VALUES ${tuples.join(', ')}`, args });
  }
  return out;
}

/** One UPDATE … FROM (VALUES …) per chunk: every item update of the batch in one statement. */
function itemUpdates(rows: ItemUpdate[]): Statement[] {
  const out: Statement[] = [];
  for (const chunk of pow2Chunks(rows, Math.floor(MAX_PARAMS / ITEM.length))) {
    const args: unknown[] = [];
    const tuples = chunk.map((r) => `(${ITEM.map(([, kind, get]) => (args.push(value(get(r), kind)), param(args.length, kind))).join(', ')})`);
    const names = ITEM.map(([n]) => `"${n}"`).join(', ');
    const set = ITEM.slice(1).map(([n]) => `"${n}" = v."${n}"`).join(', ');
    out.push({ sql: `UPDATE "RunItem" AS i SET ${set} FROM (VALUES ${tuples.join(', ')}) AS v(${names}) WHERE i."id" = v."id"`, args });
  }
  return out;
}

function counterUpdates(counters: Map<string, RunCounters>): Statement[] {
  const out: Statement[] = [];
  for (const [runId, c] of counters) {
    const cols = (Object.keys(c) as Array<keyof RunCounters>).filter((k) => c[k] !== 0);
    if (!cols.length) continue;
    const args: unknown[] = [];
    const set = cols.map((k) => (args.push(c[k]), `"${k}" = "${k}" + ${param(args.length, k === 'costUsd' ? 'float' : 'int')}`));
    args.push(runId);
    out.push({ sql: `UPDATE "Run" SET ${set.join(', ')} WHERE "id" = ${param(args.length, 'text')}`, args });
  }
  return out;
}

/** Writes the whole batch atomically. Foreign keys in order: traces before the rows naming them. */
export async function writeBatch(db: Db, batch: WriteBatch): Promise<void> {
  if (db.provider === 'sqlite') {
    if (!db.sqlite) throw new Error('writeBatch on SQLite needs a Db made by createDb()');
    return writeSqliteBatch(db.sqlite(), batch);
  }
  const statements = [
    ...inserts('Trace', TRACE, batch.traces),
    ...inserts('Message', MESSAGE, batch.messages),
    ...itemUpdates(batch.items),
    ...counterUpdates(batch.counters),
    ...inserts('RunEvent', EVENT, batch.events),
  ];
  if (!statements.length) return;
  await db.prisma.$transaction(statements.map((s) => db.prisma.$executeRawUnsafe(s.sql, ...s.args)));
}
