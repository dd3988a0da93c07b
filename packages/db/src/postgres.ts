// PostgreSQL: the Prisma client over a pg pool, and the engine's hot path (writeBatch) as a few
// multi-row statements in one transaction. Raw SQL because building thousands of rows a second
// through the ORM's per-row queries costs more CPU than the calls themselves. Values are bound,
// never interpolated.
import { PrismaPg } from '@prisma/adapter-pg';
import {
  type Column,
  EVENT,
  ITEM,
  type Kind,
  MESSAGE,
  PG_TYPE,
  runUpdateSets,
  SCORE,
  SCORE_UPSERT,
  TRACE,
} from './columns.js';
import type { Db, PrismaClient } from './db.js';
import { PrismaClient as PostgresClient } from './generated/postgres/client.js';
import type { ItemUpdate, RunCounters, RunUpdate, WriteBatch } from './rows.js';

export function openPostgres(url: string): Db {
  const prisma = new PostgresClient({
    adapter: new PrismaPg({ connectionString: url, max: 10 }),
  }) as unknown as PrismaClient;
  return {
    prisma,
    provider: 'postgresql',
    url,
    writeBatch: (batch) => writePostgresBatch(prisma, batch),
    // A pool: a read takes a connection of its own and waits for no write.
    readEvents: async (runId, afterSeq, limit) =>
      prisma.runEvent.findMany({ where: { runId, seq: { gt: afterSeq } }, orderBy: { seq: 'asc' }, take: limit }),
    close: () => prisma.$disconnect(),
  };
}

const MAX_PARAMS = 60_000;
const param = (i: number, kind: Kind) => `$${i}::${PG_TYPE[kind]}`;
const value = (v: unknown, kind: Kind): unknown =>
  v == null
    ? null
    : kind === 'time'
      ? (v as Date).toISOString().replace('Z', '')
      : kind === 'json'
        ? JSON.stringify(v)
        : v;

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

/** `(…), (…)` for each row of `chunk`, its values appended to `args`. */
function tuples<R>(cols: Column<R>[], chunk: R[], args: unknown[]): string {
  return chunk
    .map(
      (r) =>
        `(${cols
          .map(([, kind, get]) => {
            args.push(value(get(r), kind));
            return param(args.length, kind);
          })
          .join(', ')})`,
    )
    .join(', ');
}

/** Multi-row INSERTs, split so no statement exceeds the database's bound-parameter limit. */
function inserts<R>(table: string, cols: Column<R>[], rows: R[], onConflict = ''): Statement[] {
  const names = cols.map(([n]) => `"${n}"`).join(', ');
  return pow2Chunks(rows, Math.max(1, Math.floor(MAX_PARAMS / cols.length))).map((chunk) => {
    const args: unknown[] = [];
    return { sql: `INSERT INTO "${table}" (${names}) VALUES ${tuples(cols, chunk, args)} ${onConflict}`, args };
  });
}

/** One UPDATE … FROM (VALUES …) per chunk: every item update of the batch in one statement. */
function itemUpdates(rows: ItemUpdate[]): Statement[] {
  const names = ITEM.map(([n]) => `"${n}"`).join(', ');
  const set = ITEM.slice(1)
    .map(([n]) => `"${n}" = v."${n}"`)
    .join(', ');
  return pow2Chunks(rows, Math.floor(MAX_PARAMS / ITEM.length)).map((chunk) => {
    const args: unknown[] = [];
    const values = tuples(ITEM, chunk, args);
    return {
      sql: `UPDATE "RunItem" AS i SET ${set} FROM (VALUES ${values}) AS v(${names}) WHERE i."id" = v."id"`,
      args,
    };
  });
}

function counterUpdates(counters: Map<string, RunCounters>): Statement[] {
  const out: Statement[] = [];
  for (const [runId, c] of counters) {
    const cols = (Object.keys(c) as Array<keyof RunCounters>).filter((k) => c[k] !== 0);
    if (!cols.length) continue;
    const args: unknown[] = [];
    const set = cols.map((k) => {
      args.push(c[k]);
      return `"${k}" = "${k}" + ${param(args.length, k === 'costUsd' ? 'float' : 'int')}`;
    });
    args.push(runId);
    out.push({ sql: `UPDATE "Run" SET ${set.join(', ')} WHERE "id" = ${param(args.length, 'text')}`, args });
  }
  return out;
}

/** A run's own row: its pending items cancelled and counted by the database, then the columns set. */
function runUpdates(updates: RunUpdate[]): Statement[] {
  const out: Statement[] = [];
  for (const u of updates) {
    if (u.cancelPending) {
      out.push({
        sql:
          `WITH c AS (UPDATE "RunItem" SET "status" = 'cancelled' WHERE "runId" = $1::text AND "status" = 'pending' ` +
          'RETURNING 1) UPDATE "Run" SET "cancelledItems" = "cancelledItems" + (SELECT count(*) FROM c)::integer ' +
          'WHERE "id" = $1::text',
        args: [u.runId],
      });
    }
    const sets = runUpdateSets(u);
    if (!sets.length) continue;
    const args: unknown[] = [];
    const set = sets.map((c) => {
      if (!c.bound) return c.sql('');
      args.push(value(c.bound.value, c.bound.kind));
      return c.sql(param(args.length, c.bound.kind));
    });
    args.push(u.runId);
    out.push({ sql: `UPDATE "Run" SET ${set.join(', ')} WHERE "id" = ${param(args.length, 'text')}`, args });
  }
  return out;
}

/** Writes the whole batch atomically. Foreign keys in order: traces before the rows naming them. */
async function writePostgresBatch(prisma: PrismaClient, batch: WriteBatch): Promise<void> {
  const statements = [
    ...inserts('Trace', TRACE, batch.traces),
    ...inserts('Message', MESSAGE, batch.messages),
    ...itemUpdates(batch.items),
    ...inserts('Score', SCORE, batch.scores, SCORE_UPSERT),
    ...counterUpdates(batch.counters),
    ...runUpdates(batch.runs ?? []),
    ...inserts('RunEvent', EVENT, batch.events),
  ];
  if (!statements.length) return;
  await prisma.$transaction(statements.map((s) => prisma.$executeRawUnsafe(s.sql, ...s.args)));
}
