// The LLM client on a worker thread. The provider SDKs, HTTP and stream parsing are most of the
// CPU a call costs; on the server's main thread they compete with the engine's commits and the
// event fan-out, while the machine's other core idles. This client has the same contract as
// createLlmClient() (each outcome carries the very model object it was called with), and posts
// each call to one worker that runs createLlmClient() itself, pacing (CallRequest.pace) included:
// kept on the worker, where the requests are written.
import { SHARE_ENV, Worker } from 'node:worker_threads';
import type { LlmClientOptions } from './client.js';
import type { CallFailure, CallOutcome, CallRequest, LlmClient, ResolvedModel } from './types.js';
import type { FromWorker, ToWorker } from './worker.js';

export interface ThreadedLlmClient extends LlmClient {
  /** Stops the worker; calls still in flight fail as aborted. */
  close(): Promise<void>;
}

interface Pending {
  model: ResolvedModel;
  request: CallRequest;
  resolve: (o: CallOutcome) => void;
  onAbort?: () => void;
  onPaceStop?: () => void;
}

/** What stops a call's wait for its turn (CallRequest.limit's, else its pace's): the worker's `stopPace`. */
function turnSignalOf(request: CallRequest): AbortSignal | undefined {
  return request.limit?.signal ?? request.pace?.signal;
}

/** The model as it crosses to the worker: a stored key is non-enumerable, so it is copied by hand. */
function wire(model: ResolvedModel): ResolvedModel {
  const c = model.credential;
  return { ...model, credential: c.kind === 'secret' ? { kind: 'secret', value: c.value } : { ...c } };
}

/** `options` (policy, limits: plain data) are handed to the worker's createLlmClient(). */
export function createThreadedLlmClient(
  options: Pick<LlmClientOptions, 'policy' | 'limits' | 'rateLimits'> = {},
): ThreadedLlmClient {
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let worker: Worker | null = null;
  let closed = false;

  const failAll = (message: string) => {
    for (const [id, p] of pending) settle(id, failure(p, message));
  };
  const failure = (p: Pending, message: string): CallFailure => {
    const now = new Date();
    const type = p.request.signal?.aborted || closed ? 'aborted' : 'connection';
    return {
      ok: false,
      model: p.model,
      requestedModel: p.model.providerModel,
      error: { type, message, httpStatus: null, retryAfterMs: null },
      startedAt: now,
      firstTokenAt: null,
      endedAt: now,
      latencyMs: 0,
      ttftMs: null,
    };
  };
  const settle = (id: number, outcome: CallOutcome) => {
    const p = pending.get(id);
    if (!p) return;
    pending.delete(id);
    if (p.onAbort) p.request.signal?.removeEventListener('abort', p.onAbort);
    if (p.onPaceStop) turnSignalOf(p.request)?.removeEventListener('abort', p.onPaceStop);
    if (pending.size === 0) worker?.unref(); // an idle client never keeps the process alive
    p.resolve(outcome);
  };
  const post = (m: ToWorker) => worker?.postMessage(m);

  const start = (): Worker => {
    // The worker's young generation is bounded at 16 MB: V8 sizes it by the machine's memory, which
    // costs the server's memory target. At 32 MB undici's fetch (web streams per call) took the
    // 10,000-prompt peak to 299-307 MB against a 290 MB budget; at 16 MB it is within it. Smaller
    // still, each call's state outlives the generation and is promoted (docs/performance.md).
    const w = new Worker(new URL('./worker.js', import.meta.url), {
      env: SHARE_ENV,
      resourceLimits: { maxYoungGenerationSizeMb: 16 },
      workerData: { policy: options.policy, limits: options.limits, rateLimits: options.rateLimits },
    });
    w.on('message', (m: FromWorker) => {
      const p = pending.get(m.id);
      if (!p) return;
      if (m.t === 'done') settle(m.id, { ...m.outcome, model: p.model } as CallOutcome);
      else if (m.t === 'firstToken') p.request.onFirstToken?.(new Date(m.at));
      else if (m.t === 'rateLimit') p.request.limit?.onState?.(m.state);
    });
    // A worker that dies fails its calls (as connection errors: the engine retries them) and is
    // started afresh by the next call.
    w.on('error', (err) => failAll(`LLM worker failed: ${err.message}`));
    w.on('exit', () => {
      if (worker === w) worker = null;
      failAll('LLM worker stopped');
    });
    return w;
  };

  return {
    call(model, request) {
      return new Promise<CallOutcome>((resolve) => {
        const id = nextId++;
        const p: Pending = { model, request, resolve };
        pending.set(id, p);
        if (closed) return settle(id, failure(p, 'LLM client closed'));
        worker ??= start();
        worker.ref();
        const { signal, pace, limit } = request;
        const why = (s: AbortSignal) => (s.reason instanceof Error ? s.reason.message : String(s.reason));
        if (signal) {
          p.onAbort = () => post({ t: 'abort', id, message: why(signal) });
          signal.addEventListener('abort', p.onAbort, { once: true });
        }
        const paceSignal = turnSignalOf(request);
        if (paceSignal) {
          p.onPaceStop = () => post({ t: 'stopPace', id, message: why(paceSignal) });
          paceSignal.addEventListener('abort', p.onPaceStop, { once: true });
        }
        post({
          t: 'call',
          id,
          model: wire(model),
          request: {
            messages: request.messages,
            params: request.params,
            timeoutMs: request.timeoutMs,
            attempt: request.attempt,
            ...(pace ? { pace: { key: pace.key, gapMs: pace.gapMs, stopped: paceSignal?.aborted ?? false } } : {}),
            ...(limit
              ? { limit: { lane: limit.lane, stopped: paceSignal?.aborted ?? false, hasOnState: !!limit.onState } }
              : {}),
            aborted: signal?.aborted ?? false,
            hasFirstToken: !!request.onFirstToken,
          },
        });
      });
    },
    async close() {
      closed = true;
      const w = worker;
      worker = null;
      failAll('LLM client closed');
      await w?.terminate();
    },
  };
}
