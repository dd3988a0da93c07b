// What one call's end does to its item: the one place that decides it. Pure apart from the new
// trace's id and the retry's jitter: the item, what the call came to, the attempt and why the run
// is stopping (if it is) go in; the rows and events to record come out, and whether to try again.
import type { ItemUpdate, MessageRow, TraceRow } from '@batchlight/db';
import { type CallOutcome, type ChatMessage, type ResolvedModel, retryPolicy } from '@batchlight/llm';
import type { EventPayloads, EventType, ItemRef } from '../events/types.js';
import type { RunCounterDelta } from '../events/writer.js';
import { assistantMessageRecord, completedPayload, promptMessageRecord, traceRecord } from './records.js';

/** Why a run stops early: the user cancelled it, or the server is shutting down (it resumes later). */
export type StopReason = 'cancel' | 'shutdown';

/** An event before it has its place in the log (the store gives it its seq). */
export type EventDraft = { [T in EventType]: { type: T; payload: EventPayloads[T] } }[EventType];

/** One item being worked on, as its calls leave it. */
export interface ItemState {
  runId: string;
  id: string;
  promptIndex: number;
  repeatIndex: number;
  /** The run's frozen model for this item. */
  model: ResolvedModel;
  conversationId: string;
  messages: ChatMessage[];
  maxRetries: number;
  /** Attempts a provider answered (ok or error): the ones the retry budget counts. */
  answered: number;
  /** When its first call of this stretch went out. */
  firstStartedAt: Date | null;
}

/** The call never went out: a stop ended its wait for its turn, its retry or its start's commit. */
export const UNSENT = 'unsent';
export type CallEnd = CallOutcome | typeof UNSENT;

export interface Step {
  itemUpdate: ItemUpdate | null;
  trace: TraceRow | null;
  messages: MessageRow[];
  counters: RunCounterDelta | null;
  events: EventDraft[];
  /** Try again after this wait (null: the item is done with, for this stretch). */
  retryInMs: number | null;
  /** The item as this step leaves it. */
  item: ItemState;
}

const nothing = (item: ItemState): Step => ({
  itemUpdate: null,
  trace: null,
  messages: [],
  counters: null,
  events: [],
  retryInMs: null,
  item,
});

export function itemRef(item: ItemState, attempt: number): ItemRef {
  const { id: itemId, promptIndex, repeatIndex } = item;
  return { itemId, modelId: item.model.modelId, promptIndex, repeatIndex, attempt };
}

/**
 * `attempt` is the attempt that ended (for UNSENT: the attempts made before). A stop counts only
 * for a call it cut off (aborted) or kept from going out; a call that failed on its own while the
 * run stops is a failure like any other.
 */
export function transition(item: ItemState, outcome: CallEnd, attempt: number, stop: StopReason | null): Step {
  const { runId } = item;
  const ended = (
    status: string,
    traceId: string | null,
    endedAt: Date,
    startedAt = item.firstStartedAt,
  ): ItemUpdate => ({
    id: item.id,
    status,
    attempts: attempt,
    finalTraceId: traceId,
    startedAt,
    endedAt,
  });

  if (outcome === UNSENT) {
    // Cancelled as if never started; on a shutdown it stays pending for the next start.
    if (stop !== 'cancel') return nothing(item);
    return {
      ...nothing(item),
      itemUpdate: ended('cancelled', null, new Date()),
      counters: { cancelledItems: 1 },
    };
  }

  const cutOff = !outcome.ok && outcome.error.type === 'aborted' ? stop : null;
  const trace = traceRecord(outcome, item.messages, {
    runId,
    itemId: item.id,
    attempt,
    cancelled: cutOff === 'cancel',
  });
  const traceId = trace.id!;
  const ref = itemRef(item, attempt);
  const next: ItemState = { ...item, firstStartedAt: item.firstStartedAt ?? outcome.startedAt };
  const step = (s: Partial<Step>): Step => ({ ...nothing(next), trace, ...s });

  if (outcome.ok) {
    const at = { promptIndex: item.promptIndex, repeatIndex: item.repeatIndex };
    const { usage, cost } = outcome;
    return step({
      itemUpdate: ended('completed', traceId, outcome.endedAt, next.firstStartedAt),
      messages: [
        promptMessageRecord(outcome, item.messages, item.conversationId, runId, at),
        assistantMessageRecord(outcome, traceId, item.conversationId, runId, at),
      ],
      counters: {
        completedItems: 1,
        inputTokens: usage.inputTokens ?? 0,
        outputTokens: usage.outputTokens ?? 0,
        costUsd: cost.usd ?? 0,
      },
      events: [{ type: 'item.completed', payload: completedPayload(outcome, ref, traceId) }],
    });
  }

  // Cut off by a shutdown: the trace is closed as interrupted and the item stays pending.
  if (cutOff === 'shutdown') return step({ trace: { ...trace, status: 'interrupted' } });
  const failed = { ...ref, traceId, httpStatus: outcome.error.httpStatus, message: outcome.error.message };
  const endAs = (status: 'cancelled' | 'failed', errorType: EventPayloads['item.failed']['errorType']) =>
    step({
      itemUpdate: ended(status, traceId, outcome.endedAt, next.firstStartedAt),
      counters: status === 'cancelled' ? { cancelledItems: 1 } : { failedItems: 1 },
      events: [{ type: 'item.failed', payload: { ...failed, errorType, latencyMs: outcome.latencyMs } }],
    });
  if (cutOff === 'cancel') return endAs('cancelled', 'cancelled');

  const answered = item.answered + 1;
  if (!retryPolicy.shouldRetry(outcome.error, answered, item.maxRetries)) {
    return { ...endAs('failed', outcome.error.type), item: { ...next, answered } };
  }
  const waitMs = Math.round(retryPolicy.backoffMs(outcome.error, answered));
  return step({
    counters: { retries: 1 },
    events: [{ type: 'item.retrying', payload: { ...failed, errorType: outcome.error.type, waitMs } }],
    retryInMs: waitMs,
    item: { ...next, answered },
  });
}
