import { attributionOf } from './attribution.js';
import { computeCost } from './cost.js';
import { DEFAULT_TIMEOUT_MS } from './defaults.js';
import type { HeadersLike } from './errors.js';
import { classifyError, TruncatedStreamError } from './errors.js';
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

  // The one place a run's delayMs is kept (CallRequest.pace).
  const pacer = new Pacer();

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
    const paceSignal = request.pace?.signal;
    const onPaceStop = () => {
      if (timedOut || abortedByCaller) return;
      stoppedBeforeTurn = true;
      ctl.abort(paceSignal?.reason);
    };
    const onTimeout = () => {
      if (!abortedByCaller) timedOut = true;
      const e = new Error(`timed out after ${timeoutMs} ms`);
      e.name = 'TimeoutError';
      ctl.abort(e);
    };
    let timer = setTimeout(onTimeout, timeoutMs);

    let firstTokenAt: Date | null = null;
    let lastResponse: { status: number; headers: HeadersLike } | null = null;
    let params: Readonly<ModelParams> = model.params;
    if (request.params) {
      const merged: ModelParams = { ...model.params };
      for (const [k, v] of Object.entries(request.params))
        if (v !== undefined) (merged as Record<string, unknown>)[k] = v;
      params = merged;
    }
    let startedAt = new Date();
    let sending: Promise<void> | null = null;
    const sent = () => {
      if (request.pace) pacer.sent(request.pace.key);
    };
    const beforeSend = () =>
      (sending ??= (async () => {
        const pace = request.pace;
        if (pace && pace.gapMs > 0) {
          // A queue of calls waits here, a gap each: not on the call's time, and not past a stop.
          clearTimeout(timer);
          paceSignal?.addEventListener('abort', onPaceStop, { once: true });
          if (paceSignal?.aborted) onPaceStop();
          try {
            await pacer.next(pace.key, pace.gapMs, ctl.signal);
          } finally {
            paceSignal?.removeEventListener('abort', onPaceStop);
          }
          timer = setTimeout(onTimeout, timeoutMs);
        }
        startedAt = new Date();
        // The start as recorded: the next one is at least the gap later (and later still once
        // the request is handed to its connection, where the adapter reports it).
        sent();
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
      return fail(
        startedAt,
        firstTokenAt,
        classifyError(err, { aborted: abortedByCaller, timedOut, timeoutMs, secret: apiKey, response: lastResponse }),
        // A truncated stream keeps what arrived (unless the caller or the timeout stopped it).
        err instanceof TruncatedStreamError && !abortedByCaller && !timedOut ? err.output : undefined,
      );
    } finally {
      clearTimeout(timer);
      callerSignal?.removeEventListener('abort', onCallerAbort);
    }
  }

  return { call };
}
