// On SQLite every query goes through one connection (Prisma's better-sqlite3 adapter), and the
// adapter locks it for transactions only. A query from elsewhere while a transaction was open ran
// inside it: it read the transaction's uncommitted rows, and a write was rolled back with it (a
// run's final status lost to a prompt import that failed, say). Here every query takes one lock,
// and a transaction holds it from its start until its commit or rollback.
import type { SqlDriverAdapter, Transaction } from '@prisma/driver-adapter-utils';

const QUERIES = new Set<PropertyKey>(['queryRaw', 'executeRaw', 'executeScript']);

/** `adapter` with its queries and transactions taken one at a time, in the order they came. */
export function oneAtATime(adapter: SqlDriverAdapter): SqlDriverAdapter {
  let tail: Promise<void> = Promise.resolve();
  const acquire = (): Promise<() => void> => {
    let release!: () => void;
    const turn = new Promise<void>((r) => (release = r));
    const before = tail;
    tail = before.then(() => turn);
    return before.then(() => release);
  };
  return new Proxy(adapter, {
    get(t, prop) {
      const value: unknown = Reflect.get(t, prop, t);
      if (typeof value !== 'function') return value;
      const fn = value as (...args: unknown[]) => Promise<unknown>;
      if (prop === 'startTransaction')
        return async (...args: unknown[]) => {
          const release = await acquire();
          try {
            return heldUntilEnd((await fn.apply(t, args)) as Transaction, release);
          } catch (err) {
            release();
            throw err;
          }
        };
      if (!QUERIES.has(prop)) return fn.bind(t);
      return async (...args: unknown[]) => {
        const release = await acquire();
        try {
          return await fn.apply(t, args);
        } finally {
          release();
        }
      };
    },
  });
}

/** `tx`, releasing the lock once it commits or rolls back (once, whichever comes first). */
function heldUntilEnd(tx: Transaction, release: () => void): Transaction {
  let held = true;
  return new Proxy(tx, {
    get(t, prop) {
      const value: unknown = Reflect.get(t, prop, t);
      if (typeof value !== 'function') return value;
      const fn = value as (...args: unknown[]) => Promise<unknown>;
      if (prop !== 'commit' && prop !== 'rollback') return fn.bind(t);
      return async (...args: unknown[]) => {
        try {
          return await fn.apply(t, args);
        } finally {
          if (held) {
            held = false;
            release();
          }
        }
      };
    },
  });
}
