export { BULK_CHARS, BULK_ROWS, bulkInsert, type NewRunItem, type PromptRow } from './bulk.js';
export { createDb } from './client.js';
export { type Db, EVENTS_CHANNEL, type PrismaClient } from './db.js';
export type {
  Conversation,
  Message,
  Model,
  Prompt,
  PromptSet,
  Run,
  RunEvent,
  RunItem,
  RunModel,
  Score,
  Trace,
} from './generated/sqlite/client.js';
export { Prisma } from './generated/sqlite/client.js';
export { MIGRATIONS_DIR, type MigrateResult, MigrationError, migrate, readMigrations } from './migrate.js';
export type {
  EventRow,
  ItemUpdate,
  LastSeqs,
  MessageRow,
  NewEventRow,
  RunCounters,
  RunUpdate,
  ScoreRow,
  TraceRow,
  WriteBatch,
} from './rows.js';
export { databaseEnv, databaseUrlFrom, databaseUrlSetting } from './settings.js';
export { type DbProvider, DEFAULT_DATABASE_URL, parseDbUrl, redactDbUrl } from './url.js';
