// The engine's hot path: every trace, message, event and item update of many calls written in
// one transaction as a few multi-row statements. Built as raw SQL because running thousands of
// rows a second through the ORM's per-row query building costs more CPU than the calls
// themselves (see the README's performance section). Values are bound, never interpolated.
import type { Db } from './client.js';

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

type Kind = 'text' | 'int' | 'float' | 'time' | 'json';
type Column<R> = [name: string, kind: Kind, get: (r: R) => unknown];

const TRACE: Column<TraceRow>[] = [
  ['id', 'text', (r) => r.id], ['runId', 'text', (r) => r.runId], ['modelId', 'text', (r) => r.modelId], ['itemId', 'text', (r) => r.itemId],
  ['modelRevision', 'int', (r) => r.modelRevision], ['provider', 'text', (r) => r.provider], ['requestedModel', 'text', (r) => r.requestedModel],
  ['responseModel', 'text', (r) => r.responseModel], ['servedBy', 'text', (r) => r.servedBy], ['attribution', 'text', (r) => r.attribution],
  ['status', 'text', (r) => r.status], ['attempt', 'int', (r) => r.attempt], ['errorType', 'text', (r) => r.errorType],
  ['errorMessage', 'text', (r) => r.errorMessage], ['httpStatus', 'int', (r) => r.httpStatus], ['startedAt', 'time', (r) => r.startedAt],
  ['firstTokenAt', 'time', (r) => r.firstTokenAt], ['endedAt', 'time', (r) => r.endedAt], ['latencyMs', 'float', (r) => r.latencyMs],
  ['ttftMs', 'float', (r) => r.ttftMs], ['inputTokens', 'int', (r) => r.inputTokens], ['outputTokens', 'int', (r) => r.outputTokens],
  ['cachedInputTokens', 'int', (r) => r.cachedInputTokens], ['reasoningTokens', 'int', (r) => r.reasoningTokens], ['costUsd', 'float', (r) => r.costUsd],
  ['costSource', 'text', (r) => r.costSource ?? 'unknown'], ['rawUsage', 'json', (r) => r.rawUsage], ['input', 'json', (r) => r.input], ['output', 'text', (r) => r.output],
];
const MESSAGE: Column<MessageRow>[] = [
  ['id', 'text', (r) => r.id], ['conversationId', 'text', (r) => r.conversationId], ['role', 'text', (r) => r.role], ['content', 'text', (r) => r.content],
  ['runId', 'text', (r) => r.runId], ['modelId', 'text', (r) => r.modelId], ['provider', 'text', (r) => r.provider], ['providerModel', 'text', (r) => r.providerModel],
  ['traceId', 'text', (r) => r.traceId], ['promptIndex', 'int', (r) => r.promptIndex], ['repeatIndex', 'int', (r) => r.repeatIndex], ['createdAt', 'time', (r) => r.createdAt],
];
const EVENT: Column<EventRow>[] = [
  ['runId', 'text', (r) => r.runId], ['seq', 'int', (r) => r.seq], ['type', 'text', (r) => r.type], ['payload', 'json', (r) => r.payload], ['createdAt', 'time', (r) => r.createdAt],
];
const ITEM: Column<ItemUpdate>[] = [
  ['id', 'text', (r) => r.id], ['status', 'text', (r) => r.status], ['attempts', 'int', (r) => r.attempts], ['finalTraceId', 'text', (r) => r.finalTraceId],
  ['startedAt', 'time', (r) => r.startedAt], ['endedAt', 'time', (r) => r.endedAt],
];

interface Dialect {
  param(i: number, kind: Kind): string;
  value(v: unknown, kind: Kind): unknown;
  maxParams: number;
}

const PG_TYPE: Record<Kind, string> = { text: 'text', int: 'integer', float: 'double precision', time: 'timestamp(3)', json: 'jsonb' };
const dialects: Record<Db['provider'], Dialect> = {
  // Prisma's SQLite adapter stores DateTime as ISO-8601 text with an explicit +00:00 offset.
  sqlite: {
    param: () => '?',
    value: (v, kind) => (v == null ? null : kind === 'time' ? (v as Date).toISOString().replace('Z', '+00:00') : kind === 'json' ? JSON.stringify(v) : v),
    maxParams: 30_000,
  },
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
