import { type ChatMessage, DEFAULT_LLM_LIMITS, type LlmLimits, type SimulationParams } from '../types.js';
import type { Adapter, AdapterCall, AdapterResult } from './shared.js';

/** An HTTP-like failure raised by the simulator; classifyError reads `status` and `headers`. */
export class SimulatedHttpError extends Error {
  readonly status: number;
  readonly headers: Record<string, string>;
  constructor(status: number, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = 'SimulatedHttpError';
    this.status = status;
    this.headers = headers;
  }
}

/** FNV-1a 32-bit over a string. */
export function hash32(s: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** mulberry32: a small seeded PRNG. One instance per call; no shared state. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function normal(rng: () => number): number {
  const u = Math.max(rng(), 1e-12);
  const v = rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** Latency in ms: a fixed number, or log-normal with the given median (p50) and p95. */
export function drawLatency(spec: SimulationParams['latencyMs'], rng: () => number): number {
  if (spec == null) return 0;
  if (typeof spec === 'number') return Math.max(0, spec);
  const p50 = Math.max(0, spec.p50);
  const p95 = Math.max(p50, spec.p95);
  if (p50 === 0) return 0;
  const sigma = p95 > p50 ? Math.log(p95 / p50) / 1.6449 : 0;
  const v = p50 * Math.exp(sigma * normal(rng));
  return Math.min(v, p95 * 4);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(abortError(signal));
    if (ms <= 0) {
      // Still yield to the event loop so that concurrent calls interleave.
      const t = setImmediate(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      });
      const onAbort = () => {
        clearImmediate(t);
        reject(abortError(signal));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      return;
    }
    // To a deadline, never short of it: a timer alone can fire early, by as long as the event
    // loop's turn had run when it was set (a simulated latency is then the one drawn).
    const due = performance.now() + ms;
    let t: NodeJS.Timeout;
    const check = () => {
      const left = due - performance.now();
      if (left > 0) {
        t = setTimeout(check, Math.ceil(left));
        return;
      }
      signal.removeEventListener('abort', onAbort);
      resolve();
    };
    t = setTimeout(check, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(abortError(signal));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function abortError(signal: AbortSignal): Error {
  const e = new Error('The operation was aborted', { cause: signal.reason });
  e.name = 'AbortError';
  return e;
}

const FILLER = (
  'the model considers each part of the question and answers with a short clear statement ' +
  'based on what was asked while keeping the reply deterministic and easy to check later'
).split(' ');

export function estimateTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

export function simulatedText(messages: readonly ChatMessage[], outputTokens: number): string {
  const lastUser = [...messages].reverse().find((m) => m.role === 'user') ?? messages[messages.length - 1];
  const prompt = (lastUser?.content ?? '').replace(/\s+/g, ' ').trim().slice(0, 60);
  const head = `Simulated answer to: ${prompt}`;
  const words: string[] = [head];
  const headTokens = estimateTokens(head);
  for (let i = 0; i < outputTokens - headTokens; i++) words.push(FILLER[i % FILLER.length]!);
  return words.join(' ');
}

const finite = (n: unknown, fallback: number) => (typeof n === 'number' && Number.isFinite(n) ? n : fallback);

/**
 * The in-process simulator. With `simulation.seed`, each call seeds its own PRNG from it, the
 * messages and the attempt number, so identical calls are reproducible (and a retry draws afresh);
 * without one every call draws afresh, as a real provider's faults come and go. Output and
 * latency are held within `limits` whatever the params say: the API checks them when a model is
 * saved, and this holds for a row written any other way.
 */
export function createSimulatedAdapter(limits: LlmLimits['simulation'] = DEFAULT_LLM_LIMITS.simulation): Adapter {
  return async (call: AdapterCall): Promise<AdapterResult> => {
    await call.beforeSend();
    const sim: SimulationParams = call.params.simulation ?? {};
    const seedBase = sim.seed ?? Math.floor(Math.random() * 2 ** 32);
    const msgKey = call.messages.map((m) => `${m.role}\u0000${m.content}`).join('\u0001');
    const rng = mulberry32(hash32(`${seedBase}|${call.model.providerModel}|${call.attempt}|${msgKey}`));

    const latency = Math.min(finite(drawLatency(sim.latencyMs ?? { p50: 300, p95: 900 }, rng), 0), limits.latencyMs);
    const ttftFraction = Math.min(Math.max(sim.ttftFraction ?? 0.3, 0), 1);
    const ttft = latency * ttftFraction;
    const range = sim.outputTokens ?? { min: 20, max: 80 };
    const most = Math.max(1, limits.outputTokens);
    const lo = Math.min(most, Math.max(1, Math.floor(Math.min(finite(range.min, 20), finite(range.max, 80)))));
    const hi = Math.min(most, Math.max(lo, Math.floor(Math.max(finite(range.min, 20), finite(range.max, 80)))));
    const drawnTokens = lo + Math.floor(rng() * (hi - lo + 1));
    // An answer longer than maxTokens is cut there and says so, as a provider's would.
    const cutByLength = call.params.maxTokens != null && drawnTokens > call.params.maxTokens;
    const outputTokens = cutByLength ? call.params.maxTokens! : drawnTokens;
    const roll = rng();

    const errorRate = sim.errorRate ?? 0;
    const rateLimitRate = sim.rateLimitRate ?? 0;
    if (roll < errorRate) {
      await sleep(ttft, call.signal);
      throw new SimulatedHttpError(500, 'simulated server error');
    }
    if (roll < errorRate + rateLimitRate) {
      const retryAfterMs = sim.retryAfterMs ?? 1000;
      await sleep(Math.min(ttft, 5), call.signal);
      throw new SimulatedHttpError(429, 'simulated rate limit', { 'retry-after-ms': String(retryAfterMs) });
    }

    await sleep(ttft, call.signal);
    call.markFirstToken();
    await sleep(latency - ttft, call.signal);

    const output = simulatedText(call.messages, outputTokens);
    const inputTokens = call.messages.reduce((n, m) => n + estimateTokens(m.content), 0);
    return {
      output,
      outputChars: output.length,
      responseModel: sim.answerAs ?? call.model.providerModel,
      servedBy: null,
      usage: {
        inputTokens,
        outputTokens,
        cachedInputTokens: 0,
        reasoningTokens: 0,
        raw: { prompt_tokens: inputTokens, completion_tokens: outputTokens, total_tokens: inputTokens + outputTokens },
      },
      providerCostUsd: null,
      finishReason: cutByLength ? 'length' : 'stop',
    };
  };
}
