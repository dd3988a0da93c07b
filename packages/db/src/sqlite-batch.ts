// SQLite's hot path: writeBatch's rows written with prepared single-row statements on a
// connection of our own, in one synchronous transaction. Through the Prisma client each batch's
// multi-row SQL was compiled afresh by SQLite and walked through the client's query layer (about
// three times the CPU per prompt: docs/performance.md). The transaction runs under the lock every
// Prisma query takes too (sqlite-serial.ts), so it never meets one of them inside SQLite.
import type { Mutex } from 'async-mutex';
import type Database from 'better-sqlite3';
import { type Column, EVENT, ITEM, type Kind, MESSAGE, runUpdateSets, SCORE, SCORE_UPSERT, TRACE } from './columns.js';
import type { LastSeqs, RunCounters, WriteBatch } from './rows.js';

// Prisma's SQLite adapter stores DateTime as ISO-8601 text with an explicit +00:00 offset, and
// Boolean as 0 or 1.
function sqliteValue(v: unknown, kind: Kind): unknown {
  if (v == null) return null;
  if (kind === 'time') return (v as Date).toISOString().replace('Z', '+00:00');
  if (kind === 'json') return JSON.stringify(v);
  if (kind === 'bool') return v ? 1 : 0;
  return v;
}

const COUNTERS: Array<keyof RunCounters> = [
  'completedItems',
  'failedItems',
  'cancelledItems',
  'retries',
  'inputTokens',
  'outputTokens',
  'costUsd',
];

const insertSql = (table: string, cols: Column<never>[]) =>
  `INSERT INTO "${table}" (${cols.map(([n]) => `"${n}"`).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`;

function values<R>(cols: Column<R>[], row: R): unknown[] {
  const out = new Array<unknown>(cols.length);
  for (let i = 0; i < cols.length; i++) out[i] = sqliteValue(cols[i]![2](row), cols[i]![1]);
  return out;
}

/** A writeBatch for `conn`: the whole batch in one transaction, traces before the rows naming them. */
export function sqliteBatchWriter(conn: Database.Database, lock: Mutex): (batch: WriteBatch) => Promise<LastSeqs> {
  // Prepared on first use: the schema exists by then (migrations run before the server writes).
  let write: ((batch: WriteBatch) => LastSeqs) | null = null;
  const prepare = () => {
    const trace = conn.prepare(insertSql('Trace', TRACE as Column<never>[]));
    const message = conn.prepare(insertSql('Message', MESSAGE as Column<never>[]));
    const event = conn.prepare(insertSql('RunEvent', EVENT as Column<never>[]));
    const score = conn.prepare(`${insertSql('Score', SCORE as Column<never>[])} ${SCORE_UPSERT}`);
    const item = conn.prepare(
      `UPDATE "RunItem" SET ${ITEM.slice(1)
        .map(([n]) => `"${n}" = ?`)
        .join(', ')} WHERE "id" = ?`,
    );
    const counters = conn.prepare(
      `UPDATE "Run" SET ${COUNTERS.map((k) => `"${k}" = "${k}" + ?`).join(', ')} WHERE "id" = ?`,
    );
    const cancelPending = conn.prepare(
      `UPDATE "RunItem" SET "status" = 'cancelled' WHERE "runId" = ? AND "status" = 'pending'`,
    );
    const takeSeqs = conn.prepare<[number, string], { lastSeq: number }>(
      `UPDATE "Run" SET "lastSeq" = "lastSeq" + ? WHERE "id" = ? RETURNING "lastSeq"`,
    );
    const countCancelled = conn.prepare(`UPDATE "Run" SET "cancelledItems" = "cancelledItems" + ? WHERE "id" = ?`);
    // A run's own updates are rare (a stretch's end) and come in few shapes: prepared per shape.
    const runStatements = new Map<string, Database.Statement>();
    /** Each run's events, numbered on from its last seq. */
    function logEvents(batch: WriteBatch): LastSeqs {
      const counts = new Map<string, number>();
      for (const e of batch.events) counts.set(e.runId, (counts.get(e.runId) ?? 0) + 1);
      const last: LastSeqs = new Map();
      const next = new Map<string, number>();
      for (const [runId, n] of counts) {
        const row = takeSeqs.get(n, runId);
        if (!row) throw new Error(`events of run ${runId}: no such run`);
        last.set(runId, row.lastSeq);
        next.set(runId, row.lastSeq - n + 1);
      }
      for (const e of batch.events) {
        const seq = next.get(e.runId)!;
        next.set(e.runId, seq + 1);
        event.run(values(EVENT, { ...e, seq }));
      }
      return last;
    }
    return conn.transaction((batch: WriteBatch) => {
      for (const r of batch.traces) trace.run(values(TRACE, r));
      for (const r of batch.messages) message.run(values(MESSAGE, r));
      for (const r of batch.items) {
        const v = values(ITEM, r);
        item.run([...v.slice(1), v[0]]);
      }
      for (const r of batch.scores) score.run(values(SCORE, r));
      for (const [runId, c] of batch.counters) counters.run([...COUNTERS.map((k) => c[k]), runId]);
      for (const u of batch.runs ?? []) {
        if (u.cancelPending) {
          const { changes } = cancelPending.run(u.runId);
          if (changes) countCancelled.run(changes, u.runId);
        }
        const sets = runUpdateSets(u);
        if (!sets.length) continue;
        const sql = `UPDATE "Run" SET ${sets.map((c) => c.sql('?')).join(', ')} WHERE "id" = ?`;
        const statement = runStatements.get(sql) ?? conn.prepare(sql);
        runStatements.set(sql, statement);
        const bound = sets.flatMap((c) => (c.bound ? [sqliteValue(c.bound.value, c.bound.kind)] : []));
        statement.run([...bound, u.runId]);
      }
      return logEvents(batch);
    }).immediate;
  };
  return async (batch) => {
    if (
      !batch.traces.length &&
      !batch.messages.length &&
      !batch.items.length &&
      !batch.scores.length &&
      !batch.counters.size &&
      !batch.runs?.length &&
      !batch.events.length
    )
      return new Map();
    return lock.runExclusive(() => {
      write ??= prepare();
      return write(batch);
    });
  };
}
