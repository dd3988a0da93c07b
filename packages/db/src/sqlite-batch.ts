// SQLite's hot path: the rows of writeBatch written with prepared single-row statements, cached
// per connection. Through the Prisma client, each batch's multi-row SQL was compiled afresh by
// SQLite and walked through the client's query layer, about 15% of the server's CPU at 750
// prompts/s (README, Performance). The connection is the one Prisma's driver adapter opened, and
// its transaction lock is taken first, so Prisma's own transactions and these never interleave.
import Database from 'better-sqlite3';
import type { SqlDriverAdapter } from '@prisma/driver-adapter-utils';
import type { RunCounters, WriteBatch } from './batch.js';
import { EVENT, ITEM, MESSAGE, TRACE, type Column, type Kind } from './columns.js';

// Prisma's SQLite adapter stores DateTime as ISO-8601 text with an explicit +00:00 offset, and
// Boolean as 0 or 1.
export const sqliteValue = (v: unknown, kind: Kind): unknown =>
  v == null
    ? null
    : kind === 'time'
      ? (v as Date).toISOString().replace('Z', '+00:00')
      : kind === 'json'
        ? JSON.stringify(v)
        : kind === 'bool'
          ? (v ? 1 : 0)
          : v;

const COUNTERS: Array<keyof RunCounters> = ['completedItems', 'failedItems', 'cancelledItems', 'retries', 'inputTokens', 'outputTokens', 'costUsd'];

const insertSql = (table: string, cols: Column<never>[]) =>
  `INSERT INTO "${table}" (${cols.map(([n]) => `"${n}"`).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`;

function prepare(conn: Database.Database) {
  return {
    trace: conn.prepare(insertSql('Trace', TRACE as Column<never>[])),
    message: conn.prepare(insertSql('Message', MESSAGE as Column<never>[])),
    event: conn.prepare(insertSql('RunEvent', EVENT as Column<never>[])),
    item: conn.prepare(`UPDATE "RunItem" SET ${ITEM.slice(1).map(([n]) => `"${n}" = ?`).join(', ')} WHERE "id" = ?`),
    counters: conn.prepare(`UPDATE "Run" SET ${COUNTERS.map((k) => `"${k}" = "${k}" + ?`).join(', ')} WHERE "id" = ?`),
    commit: conn.prepare('COMMIT'),
    rollback: conn.prepare('ROLLBACK'),
  };
}
const statements = new WeakMap<Database.Database, ReturnType<typeof prepare>>();

function values<R>(cols: Column<R>[], row: R): unknown[] {
  const out = new Array<unknown>(cols.length);
  for (let i = 0; i < cols.length; i++) out[i] = sqliteValue(cols[i]![2](row), cols[i]![1]);
  return out;
}

/** The better-sqlite3 connection behind Prisma's adapter; fails loudly if the adapter changes shape. */
function connectionOf(adapter: SqlDriverAdapter): Database.Database {
  const conn = (adapter as unknown as { client?: unknown }).client;
  if (!(conn instanceof Database)) throw new Error('@prisma/adapter-better-sqlite3 no longer exposes its connection as `client`');
  return conn;
}

/** Writes the whole batch in one transaction; traces before the rows that name them. */
export async function writeSqliteBatch(adapter: SqlDriverAdapter, batch: WriteBatch): Promise<void> {
  if (!batch.traces.length && !batch.messages.length && !batch.items.length && !batch.counters.size && !batch.events.length) return;
  const conn = connectionOf(adapter);
  let st = statements.get(conn);
  if (!st) statements.set(conn, (st = prepare(conn)));
  // Runs BEGIN under the adapter's lock: a Prisma transaction in progress finishes first.
  const tx = await adapter.startTransaction();
  try {
    for (const r of batch.traces) st.trace.run(values(TRACE, r));
    for (const r of batch.messages) st.message.run(values(MESSAGE, r));
    for (const r of batch.items) {
      const v = values(ITEM, r);
      st.item.run([...v.slice(1), v[0]]);
    }
    for (const [runId, c] of batch.counters) st.counters.run([...COUNTERS.map((k) => c[k]), runId]);
    for (const r of batch.events) st.event.run(values(EVENT, r));
    st.commit.run();
  } catch (err) {
    if (conn.inTransaction) st.rollback.run();
    throw err;
  } finally {
    await tx.commit(); // only releases the adapter's lock: COMMIT or ROLLBACK ran above
  }
}
