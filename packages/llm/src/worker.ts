// The worker side of threaded.ts: runs each posted call through an ordinary createLlmClient().
import { parentPort, workerData } from 'node:worker_threads';
import { createLlmClient, type LlmClientOptions } from './client.js';
import { freezeModel } from './model.js';
import type { CallOutcome, CallRequest, RateLimitState, ResolvedModel } from './types.js';

export type ToWorker =
  | {
      t: 'call';
      id: number;
      model: ResolvedModel;
      request: Pick<CallRequest, 'messages' | 'params' | 'timeoutMs' | 'attempt'> & {
        /** CallRequest.pace without its signal, which a `stopPace` message stands for. */
        pace?: { key: string; gapMs: number; stopped: boolean };
        /** CallRequest.limit: its signal is the pace's (`stopPace`), its listener a `rateLimit` message. */
        limit?: { lane: string; stopped: boolean; hasOnState: boolean };
        aborted: boolean;
        hasFirstToken: boolean;
      };
    }
  | { t: 'abort' | 'stopPace'; id: number; message: string };
export type FromWorker =
  | { t: 'done'; id: number; outcome: Omit<CallOutcome, 'model'> }
  | { t: 'firstToken'; id: number; at: number }
  | { t: 'rateLimit'; id: number; state: RateLimitState };

if (parentPort) {
  const port = parentPort;
  const client = createLlmClient(workerData as Pick<LlmClientOptions, 'policy' | 'limits' | 'rateLimits'>);
  const aborts = new Map<number, { call: AbortController; pace: AbortController }>();
  port.on('message', (m: ToWorker) => {
    if (m.t === 'call') void run(m);
    else aborts.get(m.id)?.[m.t === 'abort' ? 'call' : 'pace'].abort(new Error(m.message));
  });

  async function run(m: Extract<ToWorker, { t: 'call' }>) {
    const ac = { call: new AbortController(), pace: new AbortController() };
    aborts.set(m.id, ac);
    if (m.request.aborted) ac.call.abort(new Error('aborted'));
    const { hasFirstToken, aborted: _, pace, limit, ...rest } = m.request;
    if (pace?.stopped || limit?.stopped) ac.pace.abort(new Error('stopped'));
    try {
      const outcome = await client.call(freezeModel(m.model), {
        ...rest,
        signal: ac.call.signal,
        ...(pace ? { pace: { key: pace.key, gapMs: pace.gapMs, signal: ac.pace.signal } } : {}),
        ...(limit
          ? {
              limit: {
                lane: limit.lane,
                signal: ac.pace.signal,
                ...(limit.hasOnState
                  ? {
                      onState: (state: RateLimitState) =>
                        port.postMessage({ t: 'rateLimit', id: m.id, state } satisfies FromWorker),
                    }
                  : {}),
              },
            }
          : {}),
        ...(hasFirstToken
          ? {
              onFirstToken: (at: Date) =>
                port.postMessage({ t: 'firstToken', id: m.id, at: at.getTime() } satisfies FromWorker),
            }
          : {}),
      });
      const { model: _model, ...plain } = outcome;
      port.postMessage({ t: 'done', id: m.id, outcome: plain } satisfies FromWorker);
    } catch (err) {
      // call() classifies provider failures itself; this is a bug of ours, reported, not hung on.
      const now = new Date();
      const error = {
        type: 'bad_request' as const,
        message: `LLM worker: ${err instanceof Error ? err.message : String(err)}`,
        httpStatus: null,
        retryAfterMs: null,
      };
      const outcome = {
        ok: false as const,
        requestedModel: m.model.providerModel,
        error,
        startedAt: now,
        firstTokenAt: null,
        endedAt: now,
        latencyMs: 0,
        ttftMs: null,
      };
      port.postMessage({ t: 'done', id: m.id, outcome } satisfies FromWorker);
    } finally {
      aborts.delete(m.id);
    }
  }
}
