import type { Db } from '@batchlight/db';
import type { Engine } from '@batchlight/engine';

export interface Context {
  db: Db;
  engine: Engine;
  /** Encrypts keys saved through models.create/update (BATCHLIGHT_SECRET_KEY). */
  secretKey: string | undefined;
}

/** Built once per server; every request and WebSocket connection gets the same services. */
export function createTRPCContext(services: Context) {
  return (): Context => services;
}
