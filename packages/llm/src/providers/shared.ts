import type { ChatMessage, ModelParams, ResolvedModel, Usage } from '../types.js';
import type { HeadersLike } from '../errors.js';

/** Everything one adapter invocation needs. Built fresh per call; nothing outlives it. */
export interface AdapterCall {
  model: ResolvedModel;
  messages: ChatMessage[];
  params: Readonly<ModelParams>;
  /** Fires on caller abort or our timeout. */
  signal: AbortSignal;
  timeoutMs: number;
  /** 1-based attempt number (CallRequest.attempt, default 1). */
  attempt: number;
  apiKey: string | undefined;
  /**
   * Await right before the request goes out, once: it keeps CallRequest.pace, and the call's start
   * is taken when it resolves. Idempotent: later calls resolve at once.
   */
  beforeSend(): Promise<void>;
  /** Call once the request is written, where the adapter can tell (our pooled fetch can). */
  sent(): void;
  /** Call when the first output token arrives (idempotent). */
  markFirstToken(): void;
  /** Adapters that cannot see HTTP responses through their SDK errors record them here. */
  setResponse(r: { status: number; headers: HeadersLike }): void;
}

export interface AdapterResult {
  output: string;
  responseModel: string | null;
  servedBy: string | null;
  usage: Usage;
  providerCostUsd: number | null;
  finishReason: string | null;
}

export type Adapter = (call: AdapterCall) => Promise<AdapterResult>;

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** OpenAI-format usage → Usage (raw kept as sent). */
export function usageFromOpenAI(u: any): Usage {
  if (!u || typeof u !== 'object') {
    return { inputTokens: null, outputTokens: null, cachedInputTokens: null, reasoningTokens: null, raw: u ?? null };
  }
  return {
    inputTokens: num(u.prompt_tokens),
    outputTokens: num(u.completion_tokens),
    cachedInputTokens: num(u.prompt_tokens_details?.cached_tokens),
    reasoningTokens: num(u.completion_tokens_details?.reasoning_tokens),
    raw: u,
  };
}

export function costFromUsage(u: any): number | null {
  return num(u?.cost);
}

export function nonEmpty(s: unknown): string | null {
  return typeof s === 'string' && s.trim() !== '' ? s : null;
}
