// The rows the engine writes in bulk on its hot path (traces, messages, events, item updates,
// run counters), shared by both databases' writers and by columns.ts.

export interface TraceRow {
  id: string;
  runId: string | null;
  modelId: string;
  itemId: string | null;
  modelRevision: number;
  provider: string;
  requestedModel: string;
  responseModel?: string | null;
  servedBy?: string | null;
  attribution: string;
  status: string;
  attempt: number;
  errorType?: string | null;
  errorMessage?: string | null;
  httpStatus?: number | null;
  startedAt: Date;
  firstTokenAt?: Date | null;
  endedAt?: Date | null;
  latencyMs?: number | null;
  ttftMs?: number | null;
  inputTokens?: number | null;
  outputTokens?: number | null;
  cachedInputTokens?: number | null;
  reasoningTokens?: number | null;
  costUsd?: number | null;
  costSource?: string;
  rawUsage?: unknown;
  input: unknown;
  output?: string | null;
  outputTruncated?: boolean;
  outputChars?: number | null;
  finishReason?: string | null;
  /** A judge's call: the trace it judged. */
  judgedTraceId?: string | null;
}

/** One scorer's result on one item (a fresh item: re-scoring goes through the Prisma client). */
export interface ScoreRow {
  id: string;
  runId: string;
  itemId: string;
  scorer: string;
  status: string;
  score: number | null;
  reason: string;
  judgeTraceId: string | null;
  createdAt: Date;
}

export interface MessageRow {
  id: string;
  conversationId: string;
  role: string;
  content: string;
  runId?: string | null;
  modelId?: string | null;
  provider?: string | null;
  providerModel?: string | null;
  traceId?: string | null;
  promptIndex?: number | null;
  repeatIndex?: number | null;
  createdAt: Date;
}

export interface EventRow {
  runId: string;
  seq: number;
  type: string;
  payload: unknown;
  createdAt: Date;
}

/** An event to log: its `seq` is given by the database at commit (the run's next). */
export type NewEventRow = Omit<EventRow, 'seq'>;

export interface ItemUpdate {
  id: string;
  status: string;
  attempts: number;
  finalTraceId: string | null;
  startedAt: Date | null;
  endedAt: Date | null;
}

export interface RunCounters {
  completedItems: number;
  failedItems: number;
  cancelledItems: number;
  retries: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
}

/**
 * A change of a run's own row written with a batch (a stretch's or the run's end), after its items
 * and counters. `cancelPending`: the run's items still pending become cancelled, counted in
 * `cancelledItems` by the database.
 */
export interface RunUpdate {
  runId: string;
  status?: string;
  error?: string | null;
  finishedAt?: Date | null;
  /** Opens a stretch: stretchStartedAt, and startedAt if the run never started. */
  startStretchAt?: Date;
  /** Closes the stretch executing now (stretchStartedAt back to null), adding its time. */
  endStretchMs?: number;
  cancelPending?: boolean;
  /** The executing process lets go of the run: its lease and any cancel asked of it are cleared. */
  releaseLease?: boolean;
}

export interface WriteBatch {
  traces: TraceRow[];
  messages: MessageRow[];
  items: ItemUpdate[];
  scores: ScoreRow[];
  counters: Map<string, RunCounters>;
  runs?: RunUpdate[];
  /** In order: each run's events take its next seqs in the order they come here. */
  events: NewEventRow[];
}

/** The seq of each run's last event after a commit (runs the batch logged events of). */
export type LastSeqs = Map<string, number>;
