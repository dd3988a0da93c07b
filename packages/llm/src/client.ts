import type { CallFailure, CallOutcome, CallRequest, LlmClient, ModelParams, Provider, ResolvedModel } from './types.js';
import type { Adapter } from './providers/shared.js';
import type { HeadersLike } from './errors.js';
import { classifyError, redact, TruncatedStreamError } from './errors.js';
import { attributionOf } from './attribution.js';
import { computeCost } from './cost.js';
import { resolveApiKey } from './model.js';
import { createOpenAIAdapter } from './providers/openai.js';
import { Pacer } from './pacer.js';
import { createHuggingFaceAdapter } from './providers/huggingface.js';
import { createSimulatedAdapter } from './providers/simulated.js';

export const DEFAULT_TIMEOUT_MS = 120_000;

export interface LlmClientOptions {
  /**
   * fetch used by the provider SDKs (tests, proxies). Default: OpenAI uses a pooled node:http
   * fetch owned by this client (providers/pooled-fetch.ts), Hugging Face the global fetch.
   */
  fetch?: typeof fetch;
}

/**
 * One LlmClient owns its SDK client caches; it keeps no per-call state. Every outcome carries
 * the very `model` object it was called with, and `requestedModel` is always
 * `model.providerModel`.
 */
export function createLlmClient(options: LlmClientOptions = {}): LlmClient {
  const adapters: Record<Provider, Adapter> = {
    openai: createOpenAIAdapter(options),
    huggingface: createHuggingFaceAdapter(options),
    simulated: createSimulatedAdapter(),
  };

  const pacer = new Pacer();

  async function call(model: ResolvedModel, request: CallRequest): Promise<CallOutcome> {
    const requestedModel = model.providerModel;
    const apiKey = resolveApiKey(model.credential);
    const timeoutMs = request.timeoutMs != null && request.timeoutMs > 0 ? request.timeoutMs : DEFAULT_TIMEOUT_MS;
    const callerSignal = request.signal;

    const scrub = (text: string) => (apiKey ? text.split(apiKey).join('***') : text);
    type Failed = CallFailure['error'];
    const fail = (startedAt: Date, firstTokenAt: Date | null, error: Failed, output?: string): CallFailure => {
      const endedAt = new Date();
      return {
        ok: false,
        model,
        requestedModel,
        error,
        ...(output !== undefined ? { output: scrub(output) } : {}),
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
      return fail(now, null, { type: 'bad_request', message: `unknown provider: ${String(model.provider)}`, httpStatus: null, retryAfterMs: null });
    }
    if (callerSignal?.aborted) {
      return fail(new Date(), null, classifyError(callerSignal.reason, { aborted: true, secret: apiKey }));
    }

    const ctl = new AbortController();
    let abortedByCaller = false;
    let timedOut = false;
    const onCallerAbort = () => {
      if (!timedOut) abortedByCaller = true;
      ctl.abort(callerSignal?.reason);
    };
    callerSignal?.addEventListener('abort', onCallerAbort, { once: true });
    const timer = setTimeout(() => {
      if (!abortedByCaller) timedOut = true;
      const e = new Error(`timed out after ${timeoutMs} ms`);
      e.name = 'TimeoutError';
      ctl.abort(e);
    }, timeoutMs);

    let firstTokenAt: Date | null = null;
    let lastResponse: { status: number; headers: HeadersLike } | null = null;
    let params: Readonly<ModelParams> = model.params;
    if (request.params) {
      const merged: ModelParams = { ...model.params };
      for (const [k, v] of Object.entries(request.params)) if (v !== undefined) (merged as Record<string, unknown>)[k] = v;
      params = merged;
    }
    let startedAt = new Date();
    let sending: Promise<void> | null = null;
    const sent = () => {
      if (request.pace) pacer.sent(request.pace.key);
    };
    const beforeSend = () =>
      (sending ??= (async () => {
        if (request.pace) await pacer.next(request.pace.key, request.pace.gapMs, ctl.signal);
        startedAt = new Date();
        // The start as recorded: the next one is at least the gap later (and later still once a
        // write that comes after this is done, where the adapter reports it).
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
      return {
        ok: true,
        model,
        output: scrub(r.output),
        requestedModel,
        responseModel: r.responseModel,
        servedBy: r.servedBy ? redact(r.servedBy, apiKey) : null,
        attribution: attributionOf(requestedModel, r.responseModel),
        usage: r.usage,
        cost: computeCost(r.usage, model.pricing, r.providerCostUsd),
        finishReason: r.finishReason,
        startedAt,
        firstTokenAt: ft,
        endedAt,
        latencyMs: endedAt.getTime() - startedAt.getTime(),
        ttftMs: ft ? ft.getTime() - startedAt.getTime() : null,
      };
    } catch (err) {
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
