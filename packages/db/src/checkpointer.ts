// SQLite WAL checkpoints on a worker thread. By default the connection that commits past 1,000
// WAL pages copies them into the database and fsyncs, inside that commit: with the engine
// committing hundreds of times a second on the event loop, that stalled the loop for about
// 10 ms every few hundred milliseconds (every event and every call start waited). A passive
// checkpoint from a second connection never blocks the writer and runs on the other core.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

const DRIVER = createRequire(import.meta.url).resolve('better-sqlite3');

// CommonJS, evaluated: it runs from src under vitest and from dist alike.
const WORKER = `
const { workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { timeout: 1000 });
setInterval(() => {
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch { /* busy: the next tick tries again */ }
}, workerData.everyMs);
`;

export interface Checkpointer {
  stop(): Promise<void>;
}

/**
 * Checkpoints `file` every `everyMs`. `onExit` runs if the worker dies, so that the caller can
 * hand checkpoints back to SQLite instead of letting the WAL grow.
 */
export function startCheckpointer(file: string, onExit: (err: unknown) => void, everyMs = 200): Checkpointer {
  const worker = new Worker(WORKER, { eval: true, workerData: { driver: DRIVER, file, everyMs } });
  let stopping = false;
  worker.on('error', (err) => onExit(err));
  worker.on('exit', (code) => {
    if (!stopping) onExit(new Error(`checkpoint worker exited (${code})`));
  });
  worker.unref(); // an unclosed database must not keep the process alive
  return {
    async stop() {
      stopping = true;
      await worker.terminate();
    },
  };
}
