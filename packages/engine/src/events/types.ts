// The event protocol of a run. Every live view (monitor, CLI, scripts) is built from these.
import type { Attribution, ErrorType, Provider, RateLimitState } from '@batchlight/llm';

/** A run's statuses: the one list the API's schemas, the CLI and the monitor take theirs from. */
export const RUN_STATUSES = ['queued', 'running', 'completed', 'failed', 'cancelled', 'interrupted'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
/** A run in one of these is over; `interrupted` is not: it resumes when the server starts. */
export const FINISHED_RUN_STATUSES = ['completed', 'failed', 'cancelled'] as const satisfies readonly RunStatus[];
/** A run in one of these is still executing, or about to. */
export const ACTIVE_RUN_STATUSES = ['queued', 'running'] as const satisfies readonly RunStatus[];
export const ITEM_STATUSES = ['pending', 'completed', 'failed', 'cancelled'] as const;
export type ItemStatus = (typeof ITEM_STATUSES)[number];

/** Identifies the unit of work and the model it belongs to; present on every item event. */
export interface ItemRef {
  itemId: string;
  modelId: string;
  promptIndex: number;
  repeatIndex: number;
  attempt: number;
}

export interface EventPayloads {
  'run.status': { status: RunStatus; reason?: string };
  'item.started': ItemRef & { startedAt: string };
  'item.retrying': ItemRef & {
    traceId: string;
    errorType: ErrorType;
    httpStatus: number | null;
    message: string;
    /** How long the engine waits before the next attempt (Retry-After honoured). */
    waitMs: number;
  };
  'item.completed': ItemRef & {
    traceId: string;
    provider: Provider;
    requestedModel: string;
    responseModel: string | null;
    attribution: Attribution;
    latencyMs: number;
    ttftMs: number | null;
    inputTokens: number | null;
    outputTokens: number | null;
    costUsd: number | null;
    /** Why the provider stopped (`stop`, `length` when cut off by max tokens, …), as it said. */
    finishReason: string | null;
    outputPreview: string;
  };
  'item.failed': ItemRef & {
    traceId: string | null;
    errorType: ErrorType | 'cancelled';
    httpStatus: number | null;
    message: string;
    latencyMs: number | null;
  };
  /**
   * Scores just computed for an answered item: the scorers needing no model with its completion,
   * then each judge's as it answers. A judge's result names the judge's model as `judgeModelId`;
   * `modelId` stays the judged (tested) model's.
   */
  'item.scored': ItemRef & {
    traceId: string;
    scores: Array<{
      scorer: string;
      status: 'pass' | 'fail' | 'error';
      score: number | null;
      reason: string;
      judgeTraceId: string | null;
      judgeModelId: string | null;
    }>;
  };
  /**
   * Calls of the run wait for their provider key's limiter (limits set on the model or announced
   * by the provider, a pause after a 429, the adaptive concurrency): at most one a second per key
   * while they wait, and one at once when a 429 pauses the key. `key` names provider, host and key
   * fingerprint, never the key.
   */
  'rate.limit': RateLimitState & { modelId: string };
  'run.progress': {
    completed: number;
    failed: number;
    cancelled: number;
    inFlight: number;
    total: number;
    retries: number;
    /** Items finished (completed or failed) per second of active time, over every stretch. */
    throughput: number;
    /** Time since this stretch (the start or the last resume) began. */
    elapsedMs: number;
    /** Time the run has spent executing, over every stretch (see runTimes). */
    activeMs: number;
  };
  'run.finished': {
    status: RunStatus;
    completed: number;
    failed: number;
    cancelled: number;
    total: number;
    /** Wall time: from the first start to the finish. */
    durationMs: number;
    /** Time spent executing, over every stretch. */
    activeMs: number;
    costUsd: number;
  };
}

export type EventType = keyof EventPayloads;
export const EVENT_TYPES = [
  'run.status',
  'item.started',
  'item.retrying',
  'item.completed',
  'item.failed',
  'item.scored',
  'rate.limit',
  'run.progress',
  'run.finished',
] as const satisfies readonly EventType[];

export type RunEventOf<T extends EventType> = {
  runId: string;
  seq: number;
  type: T;
  payload: EventPayloads[T];
  at: string;
};
/** A committed event of a run's log: `seq` increases by one per event of the run, from 1. */
export type RunEventMessage = { [T in EventType]: RunEventOf<T> }[EventType];

/** Run-list changes, for `runs.feed`. */
export interface RunFeedMessage {
  runId: string;
  status: RunStatus;
  completed: number;
  failed: number;
  cancelled: number;
  total: number;
  costUsd: number;
}
