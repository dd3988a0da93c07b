import { type HeadersLike, InvalidResponseError, TruncatedStreamError } from '../errors.js';
import type { ChatMessage, ModelParams, ResolvedModel, Usage } from '../types.js';

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
  /** Output characters to keep; a stream's pieces past it are counted, not kept. */
  maxOutputChars: number;
  /**
   * Await right before the request goes out, once: it keeps CallRequest.pace, and the call's start
   * is taken when it resolves. Idempotent: later calls resolve at once.
   */
  beforeSend(): Promise<void>;
  /** Call once the request is handed to its connection, where the adapter can tell (the transport can). */
  sent(): void;
  /** Call when the first output token arrives (idempotent). */
  markFirstToken(): void;
  /** Adapters that cannot see HTTP responses through their SDK errors record them here. */
  setResponse(r: { status: number; headers: HeadersLike }): void;
}

export interface AdapterResult {
  output: string;
  /** Characters of output the provider sent; more than `output.length` when a stream was cut. */
  outputChars: number;
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

/** OpenAI-format usage as any server may send it. */
interface UsageLike {
  prompt_tokens?: unknown;
  completion_tokens?: unknown;
  prompt_tokens_details?: { cached_tokens?: unknown } | null;
  completion_tokens_details?: { reasoning_tokens?: unknown } | null;
  cost?: unknown;
}

/** OpenAI-format usage → Usage (raw kept as sent). */
export function usageFromOpenAI(raw: unknown): Usage {
  if (!raw || typeof raw !== 'object') {
    return { inputTokens: null, outputTokens: null, cachedInputTokens: null, reasoningTokens: null, raw: raw ?? null };
  }
  const u = raw as UsageLike;
  return {
    inputTokens: num(u.prompt_tokens),
    outputTokens: num(u.completion_tokens),
    cachedInputTokens: num(u.prompt_tokens_details?.cached_tokens),
    reasoningTokens: num(u.completion_tokens_details?.reasoning_tokens),
    raw: u,
  };
}

export function costFromUsage(u: unknown): number | null {
  return u && typeof u === 'object' ? num((u as UsageLike).cost) : null;
}

export function nonEmpty(s: unknown): string | null {
  return typeof s === 'string' && s.trim() !== '' ? s : null;
}

/**
 * Folds the chunks of an OpenAI-style stream (`chat.completion.chunk`, which Hugging Face's
 * router sends too) into one answer. The first token is marked as its piece arrives.
 */
export class StreamFold {
  chunks = 0;
  output = '';
  outputChars = 0;
  responseModel: string | null = null;
  /** The first chunk's `provider` field. */
  servedBy: string | null = null;
  usageRaw: unknown = undefined;
  finishReason: string | null = null;
  sawChoices = false;

  constructor(
    private readonly markFirstToken: () => void,
    private readonly maxChars: number = Infinity,
  ) {}

  add(value: unknown): void {
    this.chunks++;
    if (!value || typeof value !== 'object') throw new InvalidResponseError('invalid stream chunk');
    const chunk = value as ChunkLike;
    if (this.responseModel == null) this.responseModel = nonEmpty(chunk.model);
    if (this.servedBy == null) this.servedBy = nonEmpty(chunk.provider);
    if (chunk.usage) this.usageRaw = chunk.usage;
    if (!Array.isArray(chunk.choices)) return;
    for (const c of chunk.choices) {
      this.sawChoices = true;
      const piece = c?.delta?.content;
      if (typeof piece === 'string' && piece.length > 0) {
        this.markFirstToken();
        if (this.output.length < this.maxChars) this.output += piece.slice(0, this.maxChars - this.output.length);
        this.outputChars += piece.length;
      }
      if (typeof c?.finish_reason === 'string' && c.finish_reason) this.finishReason = c.finish_reason;
    }
  }

  /**
   * At the stream's end (`sawDone`: its `[DONE]` line came): throws unless it holds an answer. A
   * stream with neither a finish_reason nor [DONE] was cut off on the way, even if it ended
   * cleanly; one that says it is done (either way) is complete, usage or not.
   */
  end(sawDone: boolean): void {
    if (!this.finishReason && !sawDone) {
      const message = `stream ended after ${this.chunks} chunk(s) without a finish_reason or [DONE]`;
      throw new TruncatedStreamError(message, this.output);
    }
    if (!this.sawChoices && this.usageRaw === undefined) {
      throw new InvalidResponseError('invalid response: stream ended without any choice');
    }
  }
}

/** A non-streamed answer as it may come from any OpenAI-compatible server. */
export interface CompletionLike {
  model?: unknown;
  provider?: unknown;
  usage?: unknown;
  choices?: Array<{ message?: { content?: unknown } | null; finish_reason?: unknown } | null>;
}

/** A `chat.completion.chunk` as any server may send it. */
interface ChunkLike {
  model?: unknown;
  provider?: unknown;
  usage?: unknown;
  choices?: Array<{ delta?: { content?: unknown } | null; finish_reason?: unknown } | null>;
}

/** Whether a stream's `[DONE]` line has gone by. */
export interface StreamEnd {
  done: boolean;
}
