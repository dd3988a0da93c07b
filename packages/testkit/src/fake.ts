import type { IncomingMessage, ServerResponse } from 'node:http';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** Epoch milliseconds with sub-millisecond precision. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

export interface FakeMessage {
  role: string;
  content: string;
}

/** What a behaviour function sees of a request. */
export interface FakeRequest {
  /** The model named in the body (or, for Hugging Face model routes, in the path). */
  model: string;
  stream: boolean;
  includeUsage: boolean;
  messages: FakeMessage[];
  path: string;
  /** Raw Authorization header (only for behaviour functions; never logged). */
  authorization: string | undefined;
  /** 1-based count of requests seen so far for this model (since the last reset). */
  seq: number;
}

export type Fault =
  | '500'
  | '503'
  | '401'
  | '400'
  | 'hang'
  | 'malformed'
  | 'reset'
  | { kind: '429'; retryAfterMs?: number; retryAfterSeconds?: number; retryAfterDate?: string }
  | {
      kind: '500' | '502' | '503' | '504' | '401' | '403' | '400' | '404' | '408' | '422';
    }
  | {
      kind: 'hang' | 'malformed' | 'reset';
    }
  | { kind: 'slow'; ms: number }
  /** Streaming only: send the headers and the first chunk, then destroy the socket. */
  | 'cut'
  /**
   * The response ends cleanly (no reset) short of its end. Streaming: after half the content
   * chunks, after the last content chunk (no finish chunk), after the finish chunk (no usage, no
   * [DONE]) or after the usage chunk (no [DONE]). Not streaming: half the JSON body.
   */
  | { kind: 'truncate'; after: 'half' | 'content' | 'finish' | 'usage' }
  /** Streaming only: every chunk and [DONE], but no chunk carries a finish_reason. */
  | { kind: 'no-finish' };

export type LatencySpec = number | { p50: number; p95: number } | ((req: FakeRequest) => number);

export interface UsageOverride {
  prompt_tokens?: number;
  completion_tokens?: number;
  cached_tokens?: number;
  reasoning_tokens?: number;
  /** Any extra fields to merge into the usage object verbatim. */
  extra?: Record<string, unknown>;
}

export interface Behavior {
  /**
   * Total time from the request's arrival (or its gate's opening) until the response completes,
   * never less. Streaming sends the first chunk at ttftFraction of it.
   */
  latencyMs?: LatencySpec;
  /** Fraction of the latency before the first streamed chunk (default 0.5). */
  ttftFraction?: number;
  /** Report this model instead of the requested one (an alias or a different model). */
  answerAs?: string;
  usage?: UsageOverride;
  /** Reported as `usage.cost` (OpenRouter style). */
  providerCost?: number;
  /** Reported as the `provider` body field and the `x-inference-provider` header. */
  servedBy?: string;
  fault?: Fault;
  /** Probability that a request gets the fault (default 1). */
  faultRate?: number;
  /** Only the first `times` requests for the model get the fault, then it succeeds. */
  times?: number;
  /** Error bodies quote the request's Authorization header back (to test redaction). */
  echoAuthInError?: boolean;
  /** The request's key (its Authorization header without "Bearer ") sent back, as a careless provider might. */
  echoKey?: EchoKey;
  /** The response waits for this promise (to force out-of-order completions). */
  gate?: (req: FakeRequest) => Promise<unknown>;
  /** Number of output words (default derived from the prompt, 8–24). */
  outputTokens?: number;
  /**
   * End the answer with ` [for <requested model>]`: a stored output then says which request it
   * answered (attribution tests compare it with the trace's model).
   */
  signAnswer?: boolean;
  /** The answer's text instead of the generated one (a judge's verdict, an exact answer to score). */
  content?: string;
  /** The finish_reason the answer ends with (default `stop`; `length` for an answer cut by max tokens). */
  finishReason?: string;
}

export type BehaviorSpec = Behavior | ((req: FakeRequest) => Behavior | undefined);

/** A chat request body as any client may send it. */
interface ChatBody {
  model?: unknown;
  messages?: Array<{ role?: unknown; content?: unknown } | null>;
  stream?: unknown;
  stream_options?: { include_usage?: unknown } | null;
}

export interface EchoKey {
  /**
   * Where: the response's `model`, its `usage` (a field, a nested string and a key), an error
   * body's message, the output (streamed split across two chunks), `provider` and its header.
   */
  into: Array<'model' | 'usage' | 'error' | 'output' | 'servedBy'>;
  /** Characters dropped from the end of the key first (default 0). */
  dropLast?: number;
  /** As it is (default), base64 of the whole Authorization header, or URL-encoded. */
  encoding?: 'plain' | 'base64' | 'url';
}

/** What `echo` sends back for a request's Authorization header ('' without one). */
export function echoedKey(authorization: string | undefined, echo: EchoKey): string {
  if (!authorization) return '';
  const key = authorization.replace(/^Bearer\s+/i, '');
  const cut = key.slice(0, key.length - (echo.dropLast ?? 0));
  if (echo.encoding === 'base64') return Buffer.from(`Bearer ${cut}`).toString('base64');
  return echo.encoding === 'url' ? encodeURIComponent(cut) : cut;
}

export interface RequestLogEntry {
  id: number;
  path: string;
  /** The model requested. */
  model: string;
  /** The model the fake reported (null when it failed before answering). */
  responseModel: string | null;
  stream: boolean;
  startedAt: number;
  endedAt: number | null;
  /** HTTP status sent; 0 when the socket was destroyed or the client went away first. */
  status: number;
  /** Request headers; authorization reduced to "[present]". */
  headers: Record<string, string>;
  body: { model: string; stream: boolean; messages: number; preview: string };
}

export interface FakeOptions {
  behavior?: BehaviorSpec;
  /** Keep a request log (default true). Per-model counts are always kept. */
  logRequests?: boolean;
  /** Bound of the request log (oldest entries dropped). Default 100,000. */
  maxLogEntries?: number;
  /** Record every request start time (for `starts()`), default false. */
  recordStarts?: boolean;
  /** Default port 0 (any free port). */
  port?: number;
  host?: string;
  /** Also answer the control API (`GET /__fake/stats`, `POST /__fake/reset`). Default true. */
  controlApi?: boolean;
  /** Enforce a request limit, as a provider does per key: beyond it, 429 with Retry-After. */
  limit?: FakeLimit;
}

/**
 * A request limit kept as a token bucket: `burst` requests at once at most (default: one second's
 * worth), refilled at `requestsPerMinute / 60` per second. Every answer announces it in OpenAI's
 * headers (x-ratelimit-limit-requests per minute, -remaining-requests now, -reset-requests until
 * whole again, e.g. "1s", "20ms", "6m0s") unless `announce` is false; a request beyond it is
 * answered 429 with `retry-after-ms` and `retry-after` (seconds, rounded up) until one is back.
 */
export interface FakeLimit {
  requestsPerMinute: number;
  burst?: number;
  announce?: boolean;
}

/** A duration as OpenAI's reset headers write it: "20ms", "1.5s", "6m0s". */
export function formatResetDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  const s = Math.round(ms) / 1000;
  if (s < 60) return `${Number(s.toFixed(3))}s`;
  return `${Math.floor(s / 60)}m${Number((s % 60).toFixed(3))}s`;
}

function createBucket(limit: FakeLimit) {
  const perMs = limit.requestsPerMinute / 60_000;
  const capacity = limit.burst ?? Math.max(1, limit.requestsPerMinute / 60);
  let tokens = capacity;
  let at = nowMs();
  const refill = (now: number) => {
    tokens = Math.min(capacity, tokens + (now - at) * perMs);
    at = now;
  };
  return {
    /** Takes one request's token: 0 when taken, else the ms until one is back. */
    take(now: number): number {
      refill(now);
      if (tokens >= 1) {
        tokens -= 1;
        return 0;
      }
      return Math.ceil((1 - tokens) / perMs);
    },
    headers(): Record<string, string> {
      return {
        'x-ratelimit-limit-requests': String(limit.requestsPerMinute),
        'x-ratelimit-remaining-requests': String(Math.floor(tokens)),
        'x-ratelimit-reset-requests': formatResetDuration((capacity - tokens) / perMs),
      };
    },
  };
}

export interface FakeServer {
  url: string;
  port: number;
  requests: RequestLogEntry[];
  inFlight(): number;
  maxInFlight(): number;
  countsByModel(): Record<string, number>;
  total(): number;
  starts(): number[];
  reset(): void;
  setBehavior(b: BehaviorSpec | undefined): void;
  close(): Promise<void>;
}

type Flavor = 'openai' | 'huggingface';

function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

const WORDS = (
  'alpha beta gamma delta answer model token stream result value check clear short ' +
  'simple steady signal careful useful direct brief exact plain'
).split(' ');

/** Deterministic answer text for a prompt. */
export function fakeAnswer(messages: FakeMessage[], outputTokens?: number): string {
  const last = [...messages].reverse().find((m) => m.role === 'user') ?? messages[messages.length - 1];
  const prompt = (last?.content ?? '').replace(/\s+/g, ' ').trim();
  const h = hash32(prompt);
  const n = outputTokens ?? 8 + (h % 17);
  const words: string[] = ['Answer', 'to:', JSON.stringify(prompt.slice(0, 40))];
  for (let i = words.length; i < n; i++) words.push(WORDS[(h + i * 7) % WORDS.length]!);
  return words.slice(0, Math.max(1, n)).join(' ');
}

function tokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

function drawLatency(spec: LatencySpec | undefined, req: FakeRequest): number {
  if (spec == null) return 0;
  if (typeof spec === 'number') return spec;
  if (typeof spec === 'function') return Math.max(0, spec(req));
  const { p50, p95 } = spec;
  if (p50 <= 0) return 0;
  const sigma = p95 > p50 ? Math.log(p95 / p50) / 1.6449 : 0;
  const u = Math.max(Math.random(), 1e-12);
  const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * Math.random());
  return Math.min(p50 * Math.exp(sigma * z), p95 * 4);
}

function normFault(f: Fault | undefined): { kind: string; [k: string]: unknown } | null {
  if (f == null) return null;
  return typeof f === 'string' ? { kind: f } : (f as { kind: string });
}

/**
 * Resolves once nowMs() reaches `at`, never before. A provider's latency runs from the request's
 * arrival: waiting for a deadline rather than for a duration keeps the time the fake spent before
 * (reading the body, a busy loop) and a first sleep's lateness out of the total. setTimeout alone
 * can fire early, by as long as the loop's turn had run when it was set.
 */
function until(at: number): Promise<void> {
  return new Promise((resolve) => {
    const check = () => {
      const left = at - nowMs();
      if (left <= 0) resolve();
      else setTimeout(check, Math.ceil(left));
    };
    check();
  });
}

const HF_MODEL_ROUTE = /^\/(?:([^/]+)\/)?models\/(.+?)\/v1\/chat\/completions$/;

async function startFake(flavor: Flavor, options: FakeOptions = {}): Promise<FakeServer> {
  let behavior: BehaviorSpec | undefined = options.behavior;
  const logRequests = options.logRequests ?? true;
  const maxLog = options.maxLogEntries ?? 100_000;
  const controlApi = options.controlApi ?? true;
  const requests: RequestLogEntry[] = [];
  let counts = new Map<string, number>();
  let faultsServed = new Map<string, number>();
  let startTimes: number[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  let byStatus = new Map<number, number>();
  let total = 0;
  let nextId = 1;
  const created = Math.floor(Date.now() / 1000);
  const bucket = options.limit ? createBucket(options.limit) : null;
  const announce = options.limit?.announce !== false;

  const server = http.createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) {
        res.statusCode = 500;
        res.end('{"error":{"message":"fake failure"}}');
      } else res.destroy();
    });
  });
  server.keepAliveTimeout = 30_000;

  function readBody(req: IncomingMessage): Promise<string> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      req.on('error', reject);
    });
  }

  function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    const s = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(s), ...headers });
    res.end(s);
  }

  function resetState(): void {
    requests.length = 0;
    counts = new Map();
    faultsServed = new Map();
    startTimes = [];
    byStatus = new Map();
    total = 0;
    maxInFlight = inFlight;
  }

  function stats() {
    return {
      total,
      countsByModel: Object.fromEntries(counts),
      inFlight,
      maxInFlight,
      byStatus: Object.fromEntries(byStatus),
      ...(options.recordStarts ? { starts: startTimes } : {}),
    };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const path = url.split('?')[0]!;
    if (controlApi && path.startsWith('/__fake/')) {
      if (req.method === 'GET' && path === '/__fake/stats') return json(res, 200, stats());
      if (req.method === 'POST' && path === '/__fake/reset') {
        await readBody(req);
        resetState();
        return json(res, 200, { ok: true });
      }
      return json(res, 404, { error: { message: 'unknown control route' } });
    }
    // Hugging Face Hub: the inference-provider mapping the SDK looks up for a named provider.
    if (flavor === 'huggingface' && req.method === 'GET' && path.startsWith('/api/models/')) {
      const modelId = decodeURIComponent(path.slice('/api/models/'.length));
      const providers = ['hf-inference', 'together', 'novita', 'fireworks-ai', 'groq'];
      return json(res, 200, {
        id: modelId,
        inferenceProviderMapping: providers.map((p) => ({
          provider: p,
          providerId: modelId,
          hfModelId: modelId,
          status: 'live',
          task: 'conversational',
        })),
      });
    }
    if (req.method !== 'POST' || !path.endsWith('/chat/completions')) {
      return json(res, 404, { error: { message: `no route for ${req.method} ${path}` } });
    }

    const startedAt = nowMs();
    inFlight++;
    if (inFlight > maxInFlight) maxInFlight = inFlight;
    let done = false;
    let entry: RequestLogEntry | null = null;
    res.on('close', () => {
      if (!done) {
        done = true;
        inFlight--;
        const status = res.writableFinished ? res.statusCode : 0;
        byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
        if (entry) {
          entry.endedAt = nowMs();
          entry.status = res.writableFinished ? res.statusCode : 0;
        }
      }
    });

    const raw = await readBody(req);
    let body: ChatBody | null;
    try {
      // Any JSON at all: the fields are checked as they are read.
      body = JSON.parse(raw) as ChatBody | null;
    } catch {
      return json(res, 400, { error: { message: 'request body is not JSON', type: 'invalid_request_error' } });
    }
    const routeMatch = flavor === 'huggingface' ? HF_MODEL_ROUTE.exec(path) : null;
    const routeProvider =
      routeMatch?.[1] ?? (flavor === 'huggingface' ? /^\/([^/]+)\/v1\/chat\/completions$/.exec(path)?.[1] : undefined);
    const model = typeof body?.model === 'string' && body.model ? body.model : (routeMatch?.[2] ?? '');
    const messages: FakeMessage[] = Array.isArray(body?.messages)
      ? body.messages.map((m) => ({
          role: String(m?.role ?? ''),
          content: typeof m?.content === 'string' ? m.content : JSON.stringify(m?.content ?? ''),
        }))
      : [];
    const stream = body?.stream === true;
    const includeUsage = body?.stream_options?.include_usage === true;
    const seq = (counts.get(model) ?? 0) + 1;
    counts.set(model, seq);
    total++;
    if (options.recordStarts) startTimes.push(startedAt);
    const authorization = req.headers.authorization;

    if (logRequests) {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) {
        if (k === 'authorization') headers[k] = '[present]';
        else if (typeof v === 'string') headers[k] = v;
      }
      entry = {
        id: nextId++,
        path,
        model,
        responseModel: null,
        stream,
        startedAt,
        endedAt: null,
        status: 0,
        headers,
        body: { model, stream, messages: messages.length, preview: (messages[0]?.content ?? '').slice(0, 80) },
      };
      requests.push(entry);
      if (requests.length > maxLog) requests.splice(0, requests.length - maxLog);
    }

    const freq: FakeRequest = { model, stream, includeUsage, messages, path, authorization, seq };
    if (!messages.length || !model) {
      return json(res, 400, { error: { message: 'model and messages are required', type: 'invalid_request_error' } });
    }
    const limitHeaders: Record<string, string> = {};
    if (bucket) {
      const waitMs = bucket.take(startedAt);
      if (announce) Object.assign(limitHeaders, bucket.headers());
      if (waitMs > 0) {
        const message = `Rate limit reached for requests (limit: ${options.limit!.requestsPerMinute} / min)`;
        const error =
          flavor === 'huggingface'
            ? { error: message }
            : { error: { message, type: 'requests', code: 'rate_limit_exceeded' } };
        return json(res, 429, error, {
          ...limitHeaders,
          'retry-after-ms': String(waitMs),
          'retry-after': String(Math.ceil(waitMs / 1000)),
        });
      }
    }
    const b: Behavior = (typeof behavior === 'function' ? behavior(freq) : behavior) ?? {};

    // The latency runs from arrival, or from the gate's opening for a gated request.
    let from = startedAt;
    if (b.gate) {
      await b.gate(freq);
      from = nowMs();
    }
    const latency = drawLatency(b.latencyMs, freq);

    // Decide on a fault.
    let fault = normFault(b.fault);
    if (fault) {
      if (b.times != null) {
        const served = faultsServed.get(model) ?? 0;
        if (served >= b.times) fault = null;
        else faultsServed.set(model, served + 1);
      } else if (b.faultRate != null && Math.random() >= b.faultRate) fault = null;
    }
    const echo = b.echoKey ? echoedKey(authorization, b.echoKey) : '';
    const echoes = (where: EchoKey['into'][number]) => !!echo && b.echoKey!.into.includes(where);
    const routed = routeProvider && routeProvider !== 'v1' ? routeProvider : undefined;
    const servedBy = echoes('servedBy') ? echo : (b.servedBy ?? routed);
    const extraHeaders: Record<string, string> = {
      ...limitHeaders,
      ...(servedBy ? { 'x-inference-provider': servedBy } : {}),
    };
    let extraDelay = 0;
    if (fault) {
      const quoted =
        (b.echoAuthInError ? ` (received Authorization: ${authorization ?? 'none'})` : '') +
        (echoes('error') ? ` (your key: ${echo})` : '');
      const errBody = (status: number, message: string, type: string) =>
        flavor === 'huggingface'
          ? { error: message + quoted }
          : { error: { message: message + quoted, type, code: String(status) } };
      switch (fault.kind) {
        case 'cut':
          if (!stream) {
            await until(from + latency);
            req.socket.destroy();
            return;
          }
          break;
        case 'slow':
          extraDelay = Number(fault.ms ?? 0);
          break;
        case 'truncate':
        case 'no-finish':
          break; // the answer below stops short
        case 'hang':
          return; // never answer; the client has to give up
        case 'reset':
          await until(from + latency);
          req.socket.destroy();
          return;
        case 'malformed': {
          await until(from + latency);
          if (stream) {
            res.writeHead(200, { 'content-type': 'text/event-stream', ...extraHeaders });
            res.end('data: {"id":"chatcmpl-broken","choices":[{"delta":{"content":"x"\n\n');
          } else {
            res.writeHead(200, { 'content-type': 'application/json', ...extraHeaders });
            res.end('{"id":"chatcmpl-broken","object":"chat.completion","choices":[{"index":0,"mess');
          }
          return;
        }
        case '429': {
          await until(from + latency);
          const h: Record<string, string> = { ...extraHeaders };
          if (fault.retryAfterMs != null) h['retry-after-ms'] = String(fault.retryAfterMs);
          if (fault.retryAfterSeconds != null) h['retry-after'] = String(fault.retryAfterSeconds);
          if (fault.retryAfterDate != null) h['retry-after'] = String(fault.retryAfterDate);
          return json(res, 429, errBody(429, 'Rate limit reached', 'rate_limit_error'), h);
        }
        default: {
          const status = Number(fault.kind);
          await until(from + latency);
          const type =
            status === 401 || status === 403
              ? 'authentication_error'
              : status >= 500
                ? 'server_error'
                : 'invalid_request_error';
          const msg =
            status === 401
              ? 'Invalid API key'
              : status >= 500
                ? `The server had an error (${status})`
                : `Bad request (${status})`;
          return json(res, status, errBody(status, msg, type), extraHeaders);
        }
      }
    }

    const responseModel = echoes('model') ? `${b.answerAs ?? model}:${echo}` : (b.answerAs ?? model);
    if (entry) entry.responseModel = responseModel;
    const answer = (b.content ?? fakeAnswer(messages, b.outputTokens)) + (b.signAnswer ? ` [for ${model}]` : '');
    // The output as it is streamed: the answer's words, and the echoed key split over two chunks.
    const words = answer.split(' ');
    const pieces = [words[0]!, ...words.slice(1).map((w) => ` ${w}`)];
    if (echoes('output')) pieces.splice(1, 0, ` ${echo.slice(0, echo.length >> 1)}`, echo.slice(echo.length >> 1));
    const output = pieces.join('');
    const promptTokens = b.usage?.prompt_tokens ?? messages.reduce((n, m) => n + tokens(m.content), 0);
    const completionTokens = b.usage?.completion_tokens ?? words.length;
    const usage: Record<string, unknown> = {
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      total_tokens: promptTokens + completionTokens,
      prompt_tokens_details: { cached_tokens: b.usage?.cached_tokens ?? 0 },
      completion_tokens_details: { reasoning_tokens: b.usage?.reasoning_tokens ?? 0 },
      ...(b.providerCost != null ? { cost: b.providerCost } : {}),
      ...(b.usage?.extra ?? {}),
      ...(echoes('usage') ? { echoed_key: echo, details: [{ note: `billed to ${echo}` }], [echo]: 1 } : {}),
    };
    const id = `chatcmpl-${hash32(`${model}|${messages[0]?.content ?? ''}`).toString(16)}-${seq}`;
    const total_ = latency + extraDelay;
    const cut = fault?.kind === 'cut';
    const truncateAfter = fault?.kind === 'truncate' ? String(fault.after) : null;

    if (!stream) {
      await until(from + total_);
      if (res.destroyed) return;
      const answer = {
        id,
        object: 'chat.completion',
        created,
        model: responseModel,
        ...(servedBy ? { provider: servedBy } : {}),
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: output },
            finish_reason: b.finishReason ?? 'stop',
            logprobs: null,
          },
        ],
        usage,
      };
      if (!truncateAfter) return json(res, 200, answer, extraHeaders);
      // Chunked, so the body ends cleanly where it stops, as a proxy that gave up would end it.
      const s = JSON.stringify(answer);
      res.writeHead(200, { 'content-type': 'application/json', ...extraHeaders });
      res.end(s.slice(0, Math.floor(s.length / 2)));
      return;
    }

    const ttft = total_ * Math.min(Math.max(b.ttftFraction ?? 0.5, 0), 1);
    await until(from + ttft);
    if (res.destroyed) return;
    const base = {
      id,
      object: 'chat.completion.chunk',
      created,
      model: responseModel,
      ...(servedBy ? { provider: servedBy } : {}),
    };
    // A chunk is `base` and its choices: the fields of `base` are serialised once per response,
    // not once per chunk (the fake shares the benchmark's cores; a provider's CPU would not).
    const head = JSON.stringify(base).slice(0, -1);
    const chunk = (rest: object) => `data: ${head},${JSON.stringify(rest).slice(1)}\n\n`;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', ...extraHeaders });
    res.write(
      chunk({ choices: [{ index: 0, delta: { role: 'assistant', content: pieces[0] }, finish_reason: null }] }),
    );
    if (cut) {
      await new Promise<void>((r) => res.write('', () => r()));
      req.socket.destroy();
      return;
    }
    await until(from + total_);
    if (res.destroyed) return;
    let rest = '';
    const contentChunks = truncateAfter === 'half' ? Math.ceil(pieces.length / 2) : pieces.length;
    for (let i = 1; i < contentChunks; i++) {
      rest += chunk({ choices: [{ index: 0, delta: { content: pieces[i] }, finish_reason: null }] });
    }
    if (truncateAfter === 'half' || truncateAfter === 'content') return void res.end(rest);
    const finish = b.finishReason ?? 'stop';
    if (fault?.kind !== 'no-finish') rest += chunk({ choices: [{ index: 0, delta: {}, finish_reason: finish }] });
    if (truncateAfter === 'finish') return void res.end(rest);
    if (includeUsage) rest += chunk({ choices: [], usage });
    if (truncateAfter === 'usage') return void res.end(rest);
    rest += 'data: [DONE]\n\n';
    res.end(rest);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = options.host ?? '127.0.0.1';

  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    requests,
    inFlight: () => inFlight,
    maxInFlight: () => maxInFlight,
    countsByModel: () => Object.fromEntries(counts),
    total: () => total,
    starts: () => startTimes.slice(),
    reset: resetState,
    setBehavior: (bh) => {
      behavior = bh;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A fake OpenAI Chat Completions server (`POST /v1/chat/completions`) on 127.0.0.1. */
export function startFakeOpenAI(options?: FakeOptions): Promise<FakeServer> {
  return startFake('openai', options);
}

/**
 * A fake Hugging Face server, OpenAI-compatible chat format, answering
 *  - `/v1/chat/completions` (a dedicated Inference Endpoint, and the router's auto route),
 *  - `/models/<org>/<model>/v1/chat/completions` and `/<provider>/models/<org>/<model>/v1/chat/completions`
 *    (hf-inference routes), `/<provider>/v1/chat/completions` (third-party provider routes),
 *  - `GET /api/models/<org>/<model>` (the Hub's inference-provider mapping).
 * Error bodies use HF's `{ "error": "<message>" }` shape; responses routed through a named
 * provider carry `x-inference-provider`.
 */
export function startFakeHuggingFace(options?: FakeOptions): Promise<FakeServer> {
  return startFake('huggingface', options);
}
