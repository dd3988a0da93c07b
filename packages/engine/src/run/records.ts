// Builds every record of one call — trace, assistant message, event payload — from its outcome.
// Each reads the model from `outcome.model`, the one frozen ResolvedModel the call was made with:
// there is no second variable for "the model" to drift from it.
import type { MessageRow, TraceRow } from '@batchlight/db';
import type { CallOutcome, ChatMessage } from '@batchlight/llm';
import type { EventPayloads, ItemRef } from '../events/types.js';
import { uuidv7 } from '../ids.js';

export const PREVIEW_CHARS = 160;

export interface CallPlace {
  runId: string | null;
  itemId: string | null;
  attempt: number;
  /** The caller aborted (cancel): the trace is closed as cancelled, not as an error. */
  cancelled?: boolean;
}

export function traceRecord(outcome: CallOutcome, input: ChatMessage[], place: CallPlace): TraceRow {
  const m = outcome.model;
  const common = {
    id: uuidv7(outcome.startedAt.getTime()),
    runId: place.runId,
    itemId: place.itemId,
    attempt: place.attempt,
    modelId: m.modelId,
    modelRevision: m.revision,
    provider: m.provider,
    requestedModel: outcome.requestedModel,
    startedAt: outcome.startedAt,
    firstTokenAt: outcome.firstTokenAt,
    endedAt: outcome.endedAt,
    latencyMs: outcome.latencyMs,
    ttftMs: outcome.ttftMs,
    input,
  };
  if (outcome.ok) {
    return {
      ...common,
      status: 'ok',
      responseModel: outcome.responseModel,
      servedBy: outcome.servedBy,
      attribution: outcome.attribution,
      inputTokens: outcome.usage.inputTokens,
      outputTokens: outcome.usage.outputTokens,
      cachedInputTokens: outcome.usage.cachedInputTokens,
      reasoningTokens: outcome.usage.reasoningTokens,
      rawUsage: outcome.usage.raw ?? null,
      costUsd: outcome.cost.usd,
      costSource: outcome.cost.source,
      output: outcome.output,
      outputTruncated: outcome.outputTruncated,
      outputChars: outcome.outputChars,
      finishReason: outcome.finishReason,
    };
  }
  return {
    ...common,
    status: place.cancelled ? 'cancelled' : 'error',
    attribution: 'unknown',
    errorType: outcome.error.type,
    errorMessage: outcome.error.message,
    httpStatus: outcome.error.httpStatus,
    // What a truncated stream delivered before it stopped, kept to be seen next to the error.
    output: outcome.output ?? null,
  };
}

/** The message the call answered (the last one sent), stamped at the call's start. */
export function promptMessageRecord(
  outcome: CallOutcome,
  sent: ChatMessage[],
  conversationId: string,
  runId: string | null,
  at: { promptIndex?: number; repeatIndex?: number } = {},
): MessageRow {
  const last = sent[sent.length - 1];
  return {
    id: uuidv7(outcome.startedAt.getTime()),
    conversationId,
    role: last?.role ?? 'user',
    content: last?.content ?? '',
    runId,
    promptIndex: at.promptIndex ?? null,
    repeatIndex: at.repeatIndex ?? null,
    createdAt: outcome.startedAt,
  };
}

/** The assistant message of a successful call, attributed from the same ResolvedModel. */
export function assistantMessageRecord(
  outcome: CallOutcome & { ok: true },
  traceId: string,
  conversationId: string,
  runId: string | null,
  at: { promptIndex?: number; repeatIndex?: number } = {},
): MessageRow {
  return {
    id: uuidv7(outcome.endedAt.getTime()),
    conversationId,
    role: 'assistant',
    content: outcome.output,
    runId,
    modelId: outcome.model.modelId,
    provider: outcome.model.provider,
    providerModel: outcome.model.providerModel,
    traceId,
    promptIndex: at.promptIndex ?? null,
    repeatIndex: at.repeatIndex ?? null,
    createdAt: outcome.endedAt,
  };
}

export function completedPayload(
  outcome: CallOutcome & { ok: true },
  ref: ItemRef,
  traceId: string,
): EventPayloads['item.completed'] {
  return {
    ...ref,
    modelId: outcome.model.modelId,
    traceId,
    provider: outcome.model.provider,
    requestedModel: outcome.requestedModel,
    responseModel: outcome.responseModel,
    attribution: outcome.attribution,
    latencyMs: outcome.latencyMs,
    ttftMs: outcome.ttftMs,
    inputTokens: outcome.usage.inputTokens,
    outputTokens: outcome.usage.outputTokens,
    costUsd: outcome.cost.usd,
    finishReason: outcome.finishReason,
    outputPreview: outcome.output.slice(0, PREVIEW_CHARS),
  };
}
