// SQLite's read path for event logs: a read-only connection of its own. In WAL mode it reads the
// last committed state while the engine's writer commits, and it takes no part in the process's
// write lock (sqlite-serial.ts), so a monitor replaying a log neither waits behind the run's
// writes nor holds them up. Each call reads one bounded page: better-sqlite3 is synchronous, and
// the caller yields to the event loop between pages.
import Database from 'better-sqlite3';
import type { EventRow } from './rows.js';

interface RawEvent {
  seq: number;
  type: string;
  payload: string;
  createdAt: string;
}

export function sqliteEventReader(file: string, busyTimeoutMs: number) {
  // Opened at first use: the file and its tables exist by then (migrations run at start-up).
  let conn: Database.Database | null = null;
  let page: Database.Statement<[string, number, number], RawEvent> | null = null;
  return {
    read(runId: string, afterSeq: number, limit: number): Promise<EventRow[]> {
      if (!conn) {
        conn = new Database(file, { readonly: true, fileMustExist: true, timeout: busyTimeoutMs });
        conn.pragma('cache_size = -2000');
        page = conn.prepare(
          'SELECT "seq", "type", "payload", "createdAt" FROM "RunEvent" WHERE "runId" = ? AND "seq" > ? ORDER BY "seq" LIMIT ?',
        );
      }
      const rows = page!.all(runId, afterSeq, limit);
      return Promise.resolve(
        rows.map((r) => ({
          runId,
          seq: r.seq,
          type: r.type,
          payload: JSON.parse(r.payload) as unknown,
          // Stored by Prisma's adapter and the batch writer as ISO text (or epoch ms, SQLite's own).
          createdAt: new Date(/^\d+$/.test(String(r.createdAt)) ? Number(r.createdAt) : r.createdAt),
        })),
      );
    },
    close() {
      conn?.close();
      conn = null;
    },
  };
}
