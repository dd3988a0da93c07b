// The contract every model call goes through. The engine, the API and the tests type against it.

export type Provider = 'openai' | 'huggingface' | 'simulated';
export const PROVIDERS: readonly Provider[] = ['openai', 'huggingface', 'simulated'];

export interface ModelParams {
  temperature?: number;
  maxTokens?: number;
  topP?: number;
  /** Provider-specific knobs for the simulated provider (latency, error rates…). */
  simulation?: SimulationParams;
  /** Hugging Face: name the serving provider (e.g. "together"); the router picks one when absent. */
  hfProvider?: string;
  /** Use streaming where the provider supports it (default true), to record time to first token. */
  stream?: boolean;
}

export interface SimulationParams {
  /** Makes the draws (latency, length, faults) reproducible per (prompt, attempt); without it each call draws afresh. */
  seed?: number;
  latencyMs?: { p50: number; p95: number } | number;
  /** Delay before the first token, as a fraction of the latency (0..1). */
  ttftFraction?: number;
  outputTokens?: { min: number; max: number };
  errorRate?: number;
  rateLimitRate?: number;
  retryAfterMs?: number;
  /** Answer with this model id instead of the requested one (to exercise attribution). */
  answerAs?: string;
}

/** USD per one million tokens. */
export interface Pricing {
  inputPerMTok?: number | null;
  outputPerMTok?: number | null;
  cachedInputPerMTok?: number | null;
}

/**
 * A model's limits on its provider key (every model and run using the same provider, base URL and
 * key shares one limiter). Null: not set (the provider's `x-ratelimit-*` headers are used when it
 * sends them; the concurrency then adapts with no ceiling of its own).
 */
export interface RateLimitSettings {
  requestsPerMinute?: number | null;
  tokensPerMinute?: number | null;
  /** Calls in flight on the key at most, across runs (the adaptive concurrency's ceiling). */
  concurrency?: number | null;
}

/** A provider key's limiter as one of its waiting calls sees it. */
export interface RateLimitState {
  /** provider, host and key fingerprint: never the key. */
  key: string;
  /** In effect: the model's setting, else what the provider announced; null: none. */
  requestsPerMinute: number | null;
  tokensPerMinute: number | null;
  /** The limits in effect came from the provider's headers. */
  learned: boolean;
  /** Calls of this process in flight on the key. */
  inFlight: number;
  /** Calls of this process waiting for the key. */
  waiting: number;
  /** The adaptive concurrency now (cut on 429, grown back on success). */
  concurrency: number;
  /** The key is paused (a 429's Retry-After, or an allowance used up) until then (ISO time). */
  pausedUntil: string | null;
  /** How long the call expects to wait (0: for a slot, not for a time). */
  waitMs: number;
}

/** Where a call's key comes from. The value itself is never logged or returned. */
export type Credential = { kind: 'none' } | { kind: 'env'; name: string } | { kind: 'secret'; value: string };

/**
 * One model, resolved once and frozen: every record of a call (trace, message, event) is built
 * from this one object, so "the model" cannot drift between code paths.
 */
export interface ResolvedModel {
  readonly modelId: string;
  readonly name: string;
  readonly revision: number;
  readonly provider: Provider;
  readonly providerModel: string;
  readonly baseUrl: string | null;
  readonly params: Readonly<ModelParams>;
  readonly pricing: Readonly<Pricing>;
  readonly credential: Readonly<Credential>;
  /** Limits of the provider key this model calls with (absent: none set). */
  readonly rateLimits?: Readonly<RateLimitSettings>;
}

export type ChatRole = 'system' | 'user' | 'assistant';
export interface ChatMessage {
  role: ChatRole;
  content: string;
}

export interface CallRequest {
  messages: ChatMessage[];
  /** Per-call overrides of the model's params. */
  params?: Partial<Pick<ModelParams, 'temperature' | 'maxTokens' | 'topP'>>;
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Called once when the first output token arrives (streaming providers). */
  onFirstToken?: (at: Date) => void;
  /**
   * 1-based attempt number of this call (the engine's retry counter). Only the simulated
   * provider uses it: it is mixed into the per-call seed so that a retry draws afresh while
   * identical (call, attempt) pairs stay reproducible. Default 1.
   */
  attempt?: number;
  /**
   * Calls with the same `key` are sent at least `gapMs` apart: each waits for its turn the moment
   * before its request is handed to its connection (the SDK has built it by then), and the next gap
   * counts from the hand-over. The call's timeout, `startedAt` and latency count from its turn.
   * `signal` stops a call still waiting for its turn (then it fails as `aborted` with
   * `sent: false`) and leaves one already sent alone. The engine passes a run's `delayMs` here.
   */
  pace?: { key: string; gapMs: number; signal?: AbortSignal };
  /**
   * The call counts against its provider key's limiter (limits/): it waits for its turn there,
   * taken in turn with other `lane`s (runs) waiting on the key, just before its pace turn. `signal`
   * stops the wait as `pace.signal` does; `onState` hears why it waits (at most once a second per lane).
   * Simulated models have no key to protect and never wait.
   */
  limit?: { lane: string; signal?: AbortSignal; onState?: (state: RateLimitState) => void };
}

export type Attribution = 'match' | 'alias' | 'mismatch' | 'unknown';

export interface Usage {
  inputTokens: number | null;
  outputTokens: number | null;
  cachedInputTokens: number | null;
  reasoningTokens: number | null;
  /** The usage object exactly as the provider sent it. */
  raw: unknown;
}

export type CostSource = 'provider' | 'pricing' | 'unknown';
export interface Cost {
  usd: number | null;
  source: CostSource;
}

export interface CallTiming {
  startedAt: Date;
  firstTokenAt: Date | null;
  endedAt: Date;
  latencyMs: number;
  ttftMs: number | null;
}

export interface CallResult extends CallTiming {
  ok: true;
  /** The frozen model this call was made with (same object that was passed in). */
  model: ResolvedModel;
  output: string;
  requestedModel: string;
  responseModel: string | null;
  /** Hugging Face router / OpenRouter: which serving provider answered, when reported. */
  servedBy: string | null;
  attribution: Attribution;
  usage: Usage;
  cost: Cost;
  /** Why the provider stopped (`stop`, `length`, `content_filter`, `tool_calls`, …), as it said. */
  finishReason: string | null;
  /** The output was longer than the client's `limits.outputChars` and was cut there. */
  outputTruncated: boolean;
  /** Characters of output the provider sent (before any cut). */
  outputChars: number;
}

export type ErrorType =
  | 'rate_limited'
  | 'timeout'
  | 'connection'
  | 'server_error'
  | 'bad_request'
  | 'auth'
  | 'aborted'
  | 'invalid_response'
  /** A stream that ended without its last chunk (no finish_reason and no [DONE]): cut off on the way. */
  | 'truncated';

export interface CallFailure extends CallTiming {
  ok: false;
  model: ResolvedModel;
  requestedModel: string;
  /** What arrived before the failure: a truncated stream's partial answer (absent otherwise). */
  output?: string | null;
  /** False when the request never went out: `pace.signal` stopped it before its turn. */
  sent?: false;
  error: {
    type: ErrorType;
    message: string;
    httpStatus: number | null;
    /** For rate_limited (and 503s that say so): how long the provider asked us to wait. */
    retryAfterMs: number | null;
    /**
     * The system's or the TLS library's code under a failed connection (ECONNREFUSED, ENOTFOUND,
     * ERR_SSL_WRONG_VERSION_NUMBER, CERT_HAS_EXPIRED…), which fetch wraps in `cause`: the message
     * alone says "fetch failed".
     */
    code?: string | null;
  };
}

export type CallOutcome = CallResult | CallFailure;

/** Bounds on what one call may produce (BATCHLIGHT_MAX_TRACE_OUTPUT_CHARS, BATCHLIGHT_SIM_MAX_*). */
export interface LlmLimits {
  /** Output characters kept per call; the rest is dropped as it arrives. */
  outputChars: number;
  /** The simulator's largest output and latency, whatever a model's params ask for. */
  simulation: { outputTokens: number; latencyMs: number };
}

export const DEFAULT_LLM_LIMITS: LlmLimits = {
  outputChars: 1_000_000,
  simulation: { outputTokens: 100_000, latencyMs: 600_000 },
};

export interface LlmClient {
  /** Never throws for provider failures: they come back classified as CallFailure. */
  call(model: ResolvedModel, request: CallRequest): Promise<CallOutcome>;
  /** Lets go of what the client holds (its Redis connection for shared limits). */
  close?(): Promise<void>;
}
