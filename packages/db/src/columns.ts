// The columns of the tables written in bulk: the engine's hot-path tables, for both ways of
// writing them (PostgreSQL's multi-row SQL in postgres.ts, SQLite's prepared statements in
// sqlite-batch.ts); bulk.ts uses the same column shape for prompts and run items.
import type { EventRow, ItemUpdate, MessageRow, RunUpdate, ScoreRow, TraceRow } from './rows.js';

export type Kind = 'text' | 'int' | 'float' | 'bool' | 'time' | 'json';
export type Column<R> = [name: string, kind: Kind, get: (r: R) => unknown];

/** PostgreSQL's type for each kind; DateTime as timestamp(3) without a zone, as Prisma stores it. */
export const PG_TYPE: Record<Kind, string> = {
  text: 'text',
  int: 'integer',
  float: 'double precision',
  bool: 'boolean',
  time: 'timestamp(3)',
  json: 'jsonb',
};

export const TRACE: Column<TraceRow>[] = [
  ['id', 'text', (r) => r.id],
  ['runId', 'text', (r) => r.runId],
  ['modelId', 'text', (r) => r.modelId],
  ['itemId', 'text', (r) => r.itemId],
  ['modelRevision', 'int', (r) => r.modelRevision],
  ['provider', 'text', (r) => r.provider],
  ['requestedModel', 'text', (r) => r.requestedModel],
  ['responseModel', 'text', (r) => r.responseModel],
  ['servedBy', 'text', (r) => r.servedBy],
  ['attribution', 'text', (r) => r.attribution],
  ['status', 'text', (r) => r.status],
  ['attempt', 'int', (r) => r.attempt],
  ['errorType', 'text', (r) => r.errorType],
  ['errorMessage', 'text', (r) => r.errorMessage],
  ['httpStatus', 'int', (r) => r.httpStatus],
  ['startedAt', 'time', (r) => r.startedAt],
  ['firstTokenAt', 'time', (r) => r.firstTokenAt],
  ['endedAt', 'time', (r) => r.endedAt],
  ['latencyMs', 'float', (r) => r.latencyMs],
  ['ttftMs', 'float', (r) => r.ttftMs],
  ['inputTokens', 'int', (r) => r.inputTokens],
  ['outputTokens', 'int', (r) => r.outputTokens],
  ['cachedInputTokens', 'int', (r) => r.cachedInputTokens],
  ['reasoningTokens', 'int', (r) => r.reasoningTokens],
  ['costUsd', 'float', (r) => r.costUsd],
  ['costSource', 'text', (r) => r.costSource ?? 'unknown'],
  ['rawUsage', 'json', (r) => r.rawUsage],
  ['input', 'json', (r) => r.input],
  ['output', 'text', (r) => r.output],
  ['outputTruncated', 'bool', (r) => r.outputTruncated ?? false],
  ['outputChars', 'int', (r) => r.outputChars],
  ['finishReason', 'text', (r) => r.finishReason],
  ['judgedTraceId', 'text', (r) => r.judgedTraceId],
];
/**
 * Score rows are upserted on (itemId, scorer): re-scoring a run replaces a scorer's earlier result
 * in the same transaction as the judge traces that gave the new one.
 */
export const SCORE_UPSERT =
  'ON CONFLICT ("itemId", "scorer") DO UPDATE SET "status" = excluded."status", "score" = excluded."score", ' +
  '"reason" = excluded."reason", "judgeTraceId" = excluded."judgeTraceId", "createdAt" = excluded."createdAt"';
export const SCORE: Column<ScoreRow>[] = [
  ['id', 'text', (r) => r.id],
  ['runId', 'text', (r) => r.runId],
  ['itemId', 'text', (r) => r.itemId],
  ['scorer', 'text', (r) => r.scorer],
  ['status', 'text', (r) => r.status],
  ['score', 'float', (r) => r.score],
  ['reason', 'text', (r) => r.reason],
  ['judgeTraceId', 'text', (r) => r.judgeTraceId],
  ['createdAt', 'time', (r) => r.createdAt],
];
export const MESSAGE: Column<MessageRow>[] = [
  ['id', 'text', (r) => r.id],
  ['conversationId', 'text', (r) => r.conversationId],
  ['role', 'text', (r) => r.role],
  ['content', 'text', (r) => r.content],
  ['runId', 'text', (r) => r.runId],
  ['modelId', 'text', (r) => r.modelId],
  ['provider', 'text', (r) => r.provider],
  ['providerModel', 'text', (r) => r.providerModel],
  ['traceId', 'text', (r) => r.traceId],
  ['promptIndex', 'int', (r) => r.promptIndex],
  ['repeatIndex', 'int', (r) => r.repeatIndex],
  ['createdAt', 'time', (r) => r.createdAt],
];
export const EVENT: Column<EventRow>[] = [
  ['runId', 'text', (r) => r.runId],
  ['seq', 'int', (r) => r.seq],
  ['type', 'text', (r) => r.type],
  ['payload', 'json', (r) => r.payload],
  ['createdAt', 'time', (r) => r.createdAt],
];
export const ITEM: Column<ItemUpdate>[] = [
  ['id', 'text', (r) => r.id],
  ['status', 'text', (r) => r.status],
  ['attempts', 'int', (r) => r.attempts],
  ['finalTraceId', 'text', (r) => r.finalTraceId],
  ['startedAt', 'time', (r) => r.startedAt],
  ['endedAt', 'time', (r) => r.endedAt],
];

/** One column a RunUpdate sets: its SQL with `param` standing for the bound value (if it has one). */
export interface RunSet {
  sql: (param: string) => string;
  bound?: { kind: Kind; value: unknown };
}

/** What a RunUpdate sets on the run's row, in order; empty when it sets nothing (a bare `cancelPending`). */
export function runUpdateSets(u: RunUpdate): RunSet[] {
  const out: RunSet[] = [];
  const set = (column: string, kind: Kind, value: unknown) =>
    out.push({ sql: (p) => `"${column}" = ${p}`, bound: { kind, value } });
  if (u.status !== undefined) set('status', 'text', u.status);
  if (u.error !== undefined) set('error', 'text', u.error);
  if (u.finishedAt !== undefined) set('finishedAt', 'time', u.finishedAt);
  if (u.startStretchAt !== undefined) {
    set('stretchStartedAt', 'time', u.startStretchAt);
    out.push({
      sql: (p) => `"startedAt" = COALESCE("startedAt", ${p})`,
      bound: { kind: 'time', value: u.startStretchAt },
    });
  }
  if (u.endStretchMs !== undefined) {
    out.push({
      sql: (p) => `"activeMs" = "activeMs" + ${p}, "stretchStartedAt" = NULL`,
      bound: { kind: 'int', value: Math.round(u.endStretchMs) },
    });
  }
  if (u.releaseLease) {
    out.push({ sql: () => '"executorId" = NULL, "leaseUntil" = NULL, "cancelRequestedAt" = NULL' });
  }
  return out;
}
