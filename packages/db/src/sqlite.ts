// SQLite: two connections to one file in WAL mode. Prisma's (through its better-sqlite3 adapter)
// serves the ORM; the engine's hot path writes on its own (sqlite-batch.ts). One lock orders the
// writes of both (sqlite-serial.ts); WAL checkpoints run on a worker thread (checkpointer.ts).
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { Mutex } from 'async-mutex';
import Database from 'better-sqlite3';
import { startCheckpointer } from './checkpointer.js';
import type { Db } from './db.js';
import { PrismaClient as SqliteClient } from './generated/sqlite/client.js';
import { sqliteBatchWriter } from './sqlite-batch.js';
import { sqliteEventReader } from './sqlite-reader.js';
import { SerializedAdapterFactory } from './sqlite-serial.js';

/** How long a write waits for another process (Prisma Studio, the CLI) to release the file. */
const BUSY_TIMEOUT_MS = 10_000;

/**
 * Per-connection settings. WAL lets readers go on while one connection writes; NORMAL is safe under
 * WAL and about 3x faster for small writes; checkpoints are the worker's, not a commit's (with the
 * engine committing hundreds of times a second on the event loop, an inline checkpoint stalled it
 * for ~10 ms every few hundred milliseconds). better-sqlite3 builds SQLite with a 16 MB page cache
 * per connection; two connections get half each, the memory one had (15-20 MB more at peak otherwise).
 */
const PRAGMAS = [
  'journal_mode = WAL',
  'synchronous = NORMAL',
  'foreign_keys = ON',
  'wal_autocheckpoint = 0',
  'cache_size = -8000',
];

export async function openSqlite(url: string, file: string): Promise<Db> {
  mkdirSync(dirname(file), { recursive: true });
  const lock = new Mutex();
  const prisma = new SqliteClient({
    adapter: new SerializedAdapterFactory(new PrismaBetterSqlite3({ url, timeout: BUSY_TIMEOUT_MS }), lock),
  });
  for (const p of PRAGMAS) await prisma.$queryRawUnsafe(`PRAGMA ${p}`);
  const writer = new Database(file, { timeout: BUSY_TIMEOUT_MS });
  for (const p of PRAGMAS) writer.pragma(p);

  // If the worker dies, SQLite takes checkpoints back rather than let the WAL grow.
  const checkpointer = startCheckpointer(file, () => {
    writer.pragma('wal_autocheckpoint = 1000');
    void prisma.$queryRawUnsafe('PRAGMA wal_autocheckpoint = 1000').catch(() => undefined);
  });
  const events = sqliteEventReader(file, BUSY_TIMEOUT_MS);
  return {
    prisma,
    provider: 'sqlite',
    url,
    writeBatch: sqliteBatchWriter(writer, lock),
    readEvents: (runId, afterSeq, limit) => events.read(runId, afterSeq, limit),
    async close() {
      events.close();
      await checkpointer.stop();
      await lock.runExclusive(() => writer.close());
      await prisma.$disconnect();
    },
  };
}
