// Prisma's better-sqlite3 adapter (7.10) runs every query on one connection and locks that
// connection for interactive transactions only. So a query issued elsewhere while a transaction
// is open runs inside it: it reads the transaction's uncommitted rows, and its own write is rolled
// back with the transaction (a run's final status lost to a prompt import that failed). No
// upstream issue describes this as of 2026-11; the nearest, on the same adapter (a failed COMMIT),
// is https://github.com/prisma/orm/issues/29933. This factory hands Prisma its adapter through the
// public driver-adapter interface with every query and transaction taking one process-wide lock,
// the same lock that the engine's own writer connection (sqlite-batch.ts) takes, so that no two
// writes of this process ever meet inside SQLite (better-sqlite3 waits for SQLite's file lock
// synchronously, which would block the event loop the other write needs to finish).

import type {
  IsolationLevel,
  SqlDriverAdapter,
  SqlDriverAdapterFactory,
  SqlQuery,
  SqlResultSet,
  Transaction,
} from '@prisma/driver-adapter-utils';
import type { Mutex } from 'async-mutex';

export class SerializedAdapterFactory implements SqlDriverAdapterFactory {
  readonly provider = 'sqlite' as const;
  readonly adapterName: string;

  constructor(
    private readonly inner: SqlDriverAdapterFactory,
    private readonly lock: Mutex,
  ) {
    this.adapterName = inner.adapterName;
  }

  async connect(): Promise<SqlDriverAdapter> {
    return new SerializedAdapter(await this.inner.connect(), this.lock);
  }
}

class SerializedAdapter implements SqlDriverAdapter {
  readonly provider = 'sqlite' as const;
  readonly adapterName: string;

  constructor(
    private readonly inner: SqlDriverAdapter,
    private readonly lock: Mutex,
  ) {
    this.adapterName = inner.adapterName;
    if (inner.getConnectionInfo) this.getConnectionInfo = () => inner.getConnectionInfo!();
  }

  getConnectionInfo?: SqlDriverAdapter['getConnectionInfo'];

  queryRaw(query: SqlQuery): Promise<SqlResultSet> {
    return this.lock.runExclusive(() => this.inner.queryRaw(query));
  }

  executeRaw(query: SqlQuery): Promise<number> {
    return this.lock.runExclusive(() => this.inner.executeRaw(query));
  }

  executeScript(script: string): Promise<void> {
    return this.lock.runExclusive(() => this.inner.executeScript(script));
  }

  /** The lock is held from BEGIN until the transaction commits or rolls back. */
  async startTransaction(isolationLevel?: IsolationLevel): Promise<Transaction> {
    const release = await this.lock.acquire();
    try {
      return new HeldTransaction(await this.inner.startTransaction(isolationLevel), release);
    } catch (err) {
      release();
      throw err;
    }
  }

  dispose(): Promise<void> {
    return this.inner.dispose();
  }
}

class HeldTransaction implements Transaction {
  readonly provider = 'sqlite' as const;
  readonly adapterName: string;
  private held = true;

  constructor(
    private readonly inner: Transaction,
    private readonly release: () => void,
  ) {
    this.adapterName = inner.adapterName;
    // Prisma nests transactions through savepoints where the adapter offers them.
    if (inner.createSavepoint) this.createSavepoint = (name) => inner.createSavepoint!(name);
    if (inner.rollbackToSavepoint) this.rollbackToSavepoint = (name) => inner.rollbackToSavepoint!(name);
    if (inner.releaseSavepoint) this.releaseSavepoint = (name) => inner.releaseSavepoint!(name);
  }

  createSavepoint?: (name: string) => Promise<void>;
  rollbackToSavepoint?: (name: string) => Promise<void>;
  releaseSavepoint?: (name: string) => Promise<void>;

  get options() {
    return this.inner.options;
  }

  queryRaw(query: SqlQuery): Promise<SqlResultSet> {
    return this.inner.queryRaw(query);
  }

  executeRaw(query: SqlQuery): Promise<number> {
    return this.inner.executeRaw(query);
  }

  commit(): Promise<void> {
    return this.end(() => this.inner.commit());
  }

  rollback(): Promise<void> {
    return this.end(() => this.inner.rollback());
  }

  private async end(finish: () => Promise<void>): Promise<void> {
    try {
      await finish();
    } finally {
      if (this.held) {
        this.held = false;
        this.release();
      }
    }
  }
}
