export { createDb, type Db, type PrismaClient } from './client.js';
export { migrate, readMigrations, MigrationError, MIGRATIONS_DIR, type MigrateResult } from './migrate.js';
export { parseDbUrl, redactDbUrl, DEFAULT_DATABASE_URL, type DbProvider } from './url.js';
export { Prisma } from './generated/sqlite/client.js';
export type {
  Model,
  PromptSet,
  Prompt,
  Run,
  RunModel,
  RunItem,
  Conversation,
  Message,
  Trace,
  RunEvent,
} from './generated/sqlite/client.js';
export type { WriteBatch, TraceRow, MessageRow, EventRow, ItemUpdate, RunCounters } from './rows.js';
export { bulkInsert, BULK_ROWS, BULK_CHARS, type PromptRow, type NewRunItem } from './bulk.js';
