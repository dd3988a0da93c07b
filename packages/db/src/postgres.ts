// PostgreSQL: the Prisma client over a pg pool, and the engine's hot path (writeBatch) as a few
// multi-row statements in one transaction. Raw SQL because building thousands of rows a second
// through the ORM's per-row queries costs more CPU than the calls themselves. Values are bound,
// never interpolated.
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import {
  type Column,
  ITEM,
  type Kind,
  MESSAGE,
  PG_TYPE,
  runUpdateSets,
  SCORE,
  SCORE_UPSERT,
  TRACE,
} from './columns.js';
import { type Db, EVENTS_CHANNEL, type PrismaClient } from './db.js';
import { PrismaClient as PostgresClient } from './generated/postgres/client.js';
import type { ItemUpdate, LastSeqs, NewEventRow, RunCounters, RunUpdate, WriteBatch } from './rows.js';

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
    listenEvents: (onRuns, onGap) => listenEvents(url, onRuns, onGap),
    close: () => prisma.$disconnect(),
  };
}

/**
 * LISTEN on its own connection (a pooled one would be handed to others); a lost connection is
 * opened again a second later, and `onGap` says so (what was notified meanwhile is not resent).
 */
async function listenEvents(
  url: string,
  onRuns: (runs: Array<{ runId: string; lastSeq: number; count: number }>) => void,
  onGap: () => void,
): Promise<() => Promise<void>> {
  let client: pg.Client | null = null;
  let stopped = false;
  let retry: NodeJS.Timeout | null = null;
  const connect = async (): Promise<void> => {
    const c = new pg.Client({ connectionString: url });
    c.on('notification', (n) => {
      if (n.channel !== EVENTS_CHANNEL || !n.payload) return;
      onRuns(
        n.payload.split(',').map((entry) => {
          const [runId, lastSeq, count] = entry.split(':');
          return { runId: runId!, lastSeq: Number(lastSeq), count: Number(count) };
        }),
      );
    });
    c.on('error', () => {
      c.end().catch(() => undefined);
      if (client !== c || stopped) return;
      client = null;
      retry = setTimeout(() => {
        connect().then(onGap, () => undefined);
      }, 1_000);
    });
    await c.connect();
    await c.query(`LISTEN ${EVENTS_CHANNEL}`);
    client = c;
  };
  await connect();
  return async () => {
    stopped = true;
    if (retry) clearTimeout(retry);
    await client?.end().catch(() => undefined);
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

/**
 * Each run's events, numbered on from its last seq in the same statement that takes the seqs
 * (Run.lastSeq), a power-of-two chunk at a time; each statement returns the seqs it wrote.
 */
function eventInserts(events: NewEventRow[]): Statement[] {
  const byRun = new Map<string, NewEventRow[]>();
  for (const e of events) {
    const list = byRun.get(e.runId);
    if (list) list.push(e);
    else byRun.set(e.runId, [e]);
  }
  const out: Statement[] = [];
  for (const [runId, rows] of byRun) {
    for (const chunk of pow2Chunks(rows, Math.floor(MAX_PARAMS / 4))) {
      const args: unknown[] = [chunk.length, runId];
      const values = chunk
        .map((e, i) => {
          args.push(i + 1, e.type, JSON.stringify(e.payload), value(e.createdAt, 'time'));
          const at = args.length;
          return `($${at - 3}::integer, $${at - 2}::text, $${at - 1}::jsonb, $${at}::timestamp(3))`;
        })
        .join(', ');
      out.push({
        sql:
          'WITH r AS (UPDATE "Run" SET "lastSeq" = "lastSeq" + $1::integer WHERE "id" = $2::text RETURNING "lastSeq") ' +
          'INSERT INTO "RunEvent" ("runId", "seq", "type", "payload", "createdAt") ' +
          `SELECT $2::text, r."lastSeq" - $1::integer + v.n, v.t, v.p, v.c FROM (VALUES ${values}) AS v(n, t, p, c) ` +
          // No such run: no seq, and the insert fails (the whole batch with it) instead of logging nothing.
          'LEFT JOIN r ON true ' +
          'RETURNING "runId", "seq"',
        args,
      });
    }
  }
  return out;
}

/** Tells the other processes (LISTEN) which runs logged what: `runId:lastSeq:count`, at commit. */
function notifyEvents(counts: Map<string, number>): Statement[] {
  const out: Statement[] = [];
  const runs = [...counts];
  // A notification's payload holds under 8,000 bytes: about 45 per run.
  for (let i = 0; i < runs.length; i += 100) {
    const args: unknown[] = [EVENTS_CHANNEL];
    const values = runs
      .slice(i, i + 100)
      .map(([runId, n]) => {
        args.push(runId, n);
        return `($${args.length - 1}::text, $${args.length}::integer)`;
      })
      .join(', ');
    out.push({
      sql:
        `SELECT pg_notify($1::text, string_agg(r."id" || ':' || r."lastSeq" || ':' || v.n, ',')) ` +
        `FROM "Run" r JOIN (VALUES ${values}) AS v(id, n) ON r."id" = v.id`,
      args,
    });
  }
  return out;
}

/** Writes the whole batch atomically. Foreign keys in order: traces before the rows naming them. */
async function writePostgresBatch(prisma: PrismaClient, batch: WriteBatch): Promise<LastSeqs> {
  const statements = [
    ...inserts('Trace', TRACE, batch.traces),
    ...inserts('Message', MESSAGE, batch.messages),
    ...itemUpdates(batch.items),
    ...inserts('Score', SCORE, batch.scores, SCORE_UPSERT),
    ...counterUpdates(batch.counters),
    ...runUpdates(batch.runs ?? []),
  ];
  const events = eventInserts(batch.events);
  const counts = new Map<string, number>();
  for (const e of batch.events) counts.set(e.runId, (counts.get(e.runId) ?? 0) + 1);
  const notify = notifyEvents(counts);
  if (!statements.length && !events.length) return new Map();
  const results = await prisma.$transaction([
    ...statements.map((s) => prisma.$executeRawUnsafe(s.sql, ...s.args)),
    ...events.map((s) => prisma.$queryRawUnsafe<Array<{ runId: string; seq: number }>>(s.sql, ...s.args)),
    ...notify.map((s) => prisma.$executeRawUnsafe(s.sql, ...s.args)),
  ]);
  const last: LastSeqs = new Map();
  for (const rows of results.slice(statements.length, statements.length + events.length)) {
    for (const r of rows as Array<{ runId: string; seq: number }>) {
      last.set(r.runId, Math.max(last.get(r.runId) ?? 0, Number(r.seq)));
    }
  }
  return last;
}
