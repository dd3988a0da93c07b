import { attributionOf } from './attribution.js';
import { computeCost } from './cost.js';
import { DEFAULT_TIMEOUT_MS } from './defaults.js';
import type { HeadersLike } from './errors.js';
import { classifyError, TruncatedStreamError } from './errors.js';
import { type CallEnd, type Permit, RateLimits } from './limits/index.js';
import type { LimitStoreOptions } from './limits/store.js';
import { resolveApiKey } from './model.js';
import { Pacer } from './pacer.js';
import { CallPolicy, type CallPolicySpec } from './policy.js';
import { createHuggingFaceAdapter } from './providers/huggingface.js';
import { createOpenAIAdapter } from './providers/openai.js';
import type { Adapter } from './providers/shared.js';
import { createSimulatedAdapter } from './providers/simulated.js';
import { createTransport } from './providers/transport.js';
import { scrubberFor } from './scrub.js';
import type {
  CallFailure,
  CallOutcome,
  CallRequest,
  LlmClient,
  LlmLimits,
  ModelParams,
  Provider,
  ResolvedModel,
} from './types.js';
import { DEFAULT_LLM_LIMITS } from './types.js';

const MAX_NAME_CHARS = 300;

export interface LlmClientOptions {
  /**
   * fetch used by the provider SDKs (tests, proxies). Default: undici's fetch on a keep-alive
   * pool owned by this client (providers/transport.ts).
   */
  fetch?: typeof fetch;
  /** Which key variables and hosts a call may use (default: the default key variables, any host). */
  policy?: CallPolicySpec;
  limits?: LlmLimits;
  /** Where provider keys' limits are counted: this process (default), or Redis shared by several. */
  rateLimits?: LimitStoreOptions;
}

/**
 * One LlmClient owns its SDK client caches; it keeps no per-call state. Every outcome carries
 * the very `model` object it was called with, and `requestedModel` is always
 * `model.providerModel`. A model the policy refuses fails as `bad_request` before anything is
 * sent; every string the provider sent back is scrubbed of the key (scrub.ts) before it leaves.
 */
export function createLlmClient(options: LlmClientOptions = {}): LlmClient {
  const limits = options.limits ?? DEFAULT_LLM_LIMITS;
  const policy = new CallPolicy(options.policy);
  const transport = createTransport();
  const adapters: Record<Provider, Adapter> = {
    openai: createOpenAIAdapter({ fetch: options.fetch, transport }),
    huggingface: createHuggingFaceAdapter({ fetch: options.fetch, transport }),
    simulated: createSimulatedAdapter(limits.simulation),
  };

  // One limiter per provider key, shared by every run (CallRequest.limit).
  const rateLimits = new RateLimits(options.rateLimits);
  // The one place a run's delayMs is kept (CallRequest.pace); on Redis, across processes.
  const pacer = new Pacer(rateLimits.store);

  async function call(model: ResolvedModel, request: CallRequest): Promise<CallOutcome> {
    const requestedModel = model.providerModel;
    const apiKey = resolveApiKey(model.credential);
    const timeoutMs = request.timeoutMs != null && request.timeoutMs > 0 ? request.timeoutMs : DEFAULT_TIMEOUT_MS;
    const callerSignal = request.signal;

    const scrubber = scrubberFor(apiKey);
    type Failed = CallFailure['error'];
    const fail = (startedAt: Date, firstTokenAt: Date | null, error: Failed, output?: string): CallFailure => {
      const endedAt = new Date();
      return {
        ok: false,
        model,
        requestedModel,
        error,
        ...(output !== undefined ? { output: scrubber.scrub(output) } : {}),
        startedAt,
        firstTokenAt,
        endedAt,
        latencyMs: endedAt.getTime() - startedAt.getTime(),
        ttftMs: firstTokenAt ? firstTokenAt.getTime() - startedAt.getTime() : null,
      };
    };

    const adapter = adapters[model.provider];
    if (!adapter) {
      const now = new Date();
      return fail(now, null, {
        type: 'bad_request',
        message: `unknown provider: ${String(model.provider)}`,
        httpStatus: null,
        retryAfterMs: null,
      });
    }
    if (callerSignal?.aborted) {
      return fail(new Date(), null, classifyError(callerSignal.reason, { aborted: true, secret: apiKey }));
    }
    const refusal = policy.refusal(model);
    if (refusal) {
      const message = `${refusal.field}: ${refusal.message}; nothing was sent`;
      return fail(new Date(), null, { type: 'bad_request', message, httpStatus: null, retryAfterMs: null });
    }

    const ctl = new AbortController();
    let abortedByCaller = false;
    let timedOut = false;
    let stoppedBeforeTurn = false;
    const onCallerAbort = () => {
      if (!timedOut) abortedByCaller = true;
      ctl.abort(callerSignal?.reason);
    };
    callerSignal?.addEventListener('abort', onCallerAbort, { once: true });
    // A stop ends the wait for a turn (the key's limiter's, then the pace's), not a call under way.
    const turnSignal = request.limit?.signal ?? request.pace?.signal;
    const onTurnStop = () => {
      if (timedOut || abortedByCaller) return;
      stoppedBeforeTurn = true;
      ctl.abort(turnSignal?.reason);
    };
    const limiter = request.limit && model.provider !== 'simulated' ? rateLimits.limiterFor(model, apiKey) : null;
    let permit: Permit | null = null;
    const onTimeout = () => {
      if (!abortedByCaller) timedOut = true;
      const e = new Error(`timed out after ${timeoutMs} ms`);
      e.name = 'TimeoutError';
      ctl.abort(e);
    };
    let timer = setTimeout(onTimeout, timeoutMs);

    let firstTokenAt: Date | null = null;
    let lastResponse: { status: number; headers: HeadersLike } | null = null;
    // Set by the adapter's callback: read through this, TypeScript would narrow it to null here.
    const seenResponse = () => lastResponse as { status: number; headers: HeadersLike } | null;
    let params: Readonly<ModelParams> = model.params;
    if (request.params) {
      const merged: ModelParams = { ...model.params };
      for (const [k, v] of Object.entries(request.params))
        if (v !== undefined) (merged as Record<string, unknown>)[k] = v;
      params = merged;
    }
    let startedAt = new Date();
    let sending: Promise<void> | null = null;
    // `handedOver`: false for the turn's own moment, true when the request is on its connection.
    const sent = (handedOver = true) => {
      if (request.pace) pacer.sent(request.pace.key, handedOver);
    };
    const beforeSend = () =>
      (sending ??= (async () => {
        const pace = request.pace;
        const paced = pace && pace.gapMs > 0;
        if (limiter || paced) {
          // Calls queue here for their key and their pace: not on the call's time, and not past a stop.
          clearTimeout(timer);
          turnSignal?.addEventListener('abort', onTurnStop, { once: true });
          if (turnSignal?.aborted) onTurnStop();
          try {
            if (limiter && request.limit) {
              const { lane, onState } = request.limit;
              permit = await limiter.acquire(lane, estimateCallTokens(request, params), ctl.signal, onState);
            }
            if (paced) await pacer.next(pace.key, pace.gapMs, ctl.signal);
          } finally {
            turnSignal?.removeEventListener('abort', onTurnStop);
          }
          timer = setTimeout(onTimeout, timeoutMs);
        }
        startedAt = new Date();
        // The start as recorded: the next one is at least the gap later (and later still once
        // the request is handed to its connection, where the adapter reports it).
        sent(false);
      })());
    try {
      const r = await adapter({
        beforeSend,
        sent,
        model,
        messages: request.messages,
        params,
        signal: ctl.signal,
        timeoutMs,
        attempt: request.attempt ?? 1,
        apiKey,
        maxOutputChars: limits.outputChars,
        markFirstToken: () => {
          if (firstTokenAt) return;
          firstTokenAt = new Date();
          try {
            request.onFirstToken?.(firstTokenAt);
          } catch {
            /* a listener's failure is not the provider's */
          }
        },
        setResponse: (res) => {
          lastResponse = res;
        },
      });
      const endedAt = new Date();
      const ft = firstTokenAt as Date | null;
      const used = (r.usage.inputTokens ?? 0) + (r.usage.outputTokens ?? 0);
      releasePermit({
        status: seenResponse()?.status ?? null,
        headers: seenResponse()?.headers,
        rateLimited: false,
        retryAfterMs: null,
        ok: true,
        tokens: r.usage.inputTokens == null && r.usage.outputTokens == null ? null : used,
      });
      // A model name, a provider name, a finish reason: a few words, whatever the provider sends.
      const text = (s: string | null) => (s === null ? null : scrubber.scrub(s.slice(0, MAX_NAME_CHARS)));
      const kept = r.output.length > limits.outputChars ? r.output.slice(0, limits.outputChars) : r.output;
      return {
        ok: true,
        model,
        output: scrubber.scrub(kept),
        outputTruncated: r.outputChars > kept.length,
        outputChars: Math.max(r.outputChars, r.output.length),
        requestedModel,
        responseModel: text(r.responseModel),
        servedBy: text(r.servedBy),
        // Judged on what the provider said; a key in it makes it a mismatch either way.
        attribution: attributionOf(requestedModel, r.responseModel),
        usage: { ...r.usage, raw: scrubber.scrubJson(r.usage.raw) },
        cost: computeCost(r.usage, model.pricing, r.providerCostUsd),
        finishReason: text(r.finishReason),
        startedAt,
        firstTokenAt: ft,
        endedAt,
        latencyMs: endedAt.getTime() - startedAt.getTime(),
        ttftMs: ft ? ft.getTime() - startedAt.getTime() : null,
      };
    } catch (err) {
      if (stoppedBeforeTurn) {
        const error = { type: 'aborted' as const, message: 'stopped before its turn; nothing was sent' };
        return { ...fail(new Date(), null, { ...error, httpStatus: null, retryAfterMs: null }), sent: false };
      }
      const error = classifyError(err, {
        aborted: abortedByCaller,
        timedOut,
        timeoutMs,
        secret: apiKey,
        response: lastResponse,
      });
      releasePermit({
        status: error.httpStatus,
        headers: headersOf(err) ?? seenResponse()?.headers,
        rateLimited: error.type === 'rate_limited',
        retryAfterMs: error.retryAfterMs,
        ok: false,
        tokens: null,
      });
      return fail(
        startedAt,
        firstTokenAt,
        error,
        // A truncated stream keeps what arrived (unless the caller or the timeout stopped it).
        err instanceof TruncatedStreamError && !abortedByCaller && !timedOut ? err.output : undefined,
      );
    } finally {
      clearTimeout(timer);
      callerSignal?.removeEventListener('abort', onCallerAbort);
      releasePermit(null);
    }

    /** The call's end, told to its key's limiter once (null: it ended with nothing to learn). */
    function releasePermit(end: CallEnd | null) {
      const p = permit as Permit | null;
      if (!p) return;
      permit = null;
      p.release(
        end ?? { status: null, headers: null, rateLimited: false, retryAfterMs: null, ok: false, tokens: null },
      );
    }
  }

  return { call, close: () => rateLimits.close() };
}

/** Tokens a call may use, counted against a tokens-per-minute limit before it goes (about 4 characters a token). */
function estimateCallTokens(request: CallRequest, params: Readonly<ModelParams>): number {
  let chars = 0;
  for (const m of request.messages) chars += m.content.length;
  return Math.ceil(chars / 4) + (params.maxTokens ?? 0);
}

/** The headers of an HTTP error a provider SDK threw (the openai SDK's APIError keeps them). */
function headersOf(err: unknown): HeadersLike | null {
  const h = err !== null && typeof err === 'object' ? (err as { headers?: unknown }).headers : null;
  return h && typeof h === 'object' ? (h as HeadersLike) : null;
}
