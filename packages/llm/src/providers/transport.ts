import { pipeline, type Readable, type Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate, constants as zlibConstants } from 'node:zlib';
import {
  Agent,
  Dispatcher,
  request,
  Headers as UndiciHeaders,
  type RequestInfo as UndiciRequestInfo,
  type RequestInit as UndiciRequestInit,
  Response as UndiciResponse,
  fetch as undiciFetch,
} from 'undici';

/** What a call asks of the transport around the moment its request goes out. */
export interface SendHooks {
  /** Awaited before the request is handed to its connection (CallRequest.pace waits here). */
  beforeSend(): Promise<void>;
  /** Called once the request has been handed to its connection. */
  sent(): void;
  /** The request's own signal: aborted during the wait, the request is never handed over. */
  signal?: AbortSignal;
}

/**
 * The HTTP side of one LlmClient: a `fetch` for both provider SDKs (their `fetch` option) made of
 * undici's `request()` on a keep-alive `Agent` of its own. undici from npm rather than Node's
 * bundled copy: the `dispatcher` request option is public there, and a call's hooks ride on it.
 */
export interface Transport {
  readonly fetch: typeof fetch;
  /**
   * Request options for `fetch` that run `hooks` around this request's dispatch to the pool
   * (typed as the global fetch's, which `fetch` stands in for).
   */
  init(hooks: SendHooks): RequestInit;
}

export function createTransport(): Transport {
  // No connection cap: concurrency is the engine's (runs go to C=256). Idle sockets close after
  // 4 s or the server's own `Keep-Alive: timeout=`, whichever is shorter (undici's defaults), and
  // never keep the process alive.
  const agent = new Agent({ connections: null });
  return {
    fetch: requestFetch as unknown as typeof fetch,
    init(hooks) {
      // Redirects are not followed: a provider's 3xx is an answer we do not understand, and a
      // key must not travel to wherever it points.
      const init: UndiciRequestInit = { dispatcher: new PacedDispatcher(agent, hooks), redirect: 'manual' };
      // Two copies of undici's types (Node's and the package's) do not unify; the object is undici's.
      return init as unknown as RequestInit;
    },
  };
}

/**
 * `fetch` on undici's `request()`: the same pool, dispatcher and error classes as undici's own
 * fetch, without the Fetch standard's per-request machinery (Request objects, header guards,
 * redirect and CORS steps), which on a local provider cost the LLM worker a quarter more CPU per
 * call (docs/performance.md). The answer is undici's own `Response`. A body that is not an event
 * stream is read whole first (the SDKs parse it whole anyway), so its Response wraps a string
 * instead of a stream. Never follows redirects (as `redirect: 'manual'`). Inputs this does not
 * take (a Request object, a streamed body) go to undici's fetch.
 */
async function requestFetch(
  input: string | URL | UndiciRequestInfo,
  init: UndiciRequestInit = {},
): Promise<UndiciResponse> {
  const body = init.body;
  if (typeof input !== 'string' && !(input instanceof URL)) return undiciFetch(input as UndiciRequestInfo, init);
  if (body != null && typeof body !== 'string' && !(body instanceof Uint8Array)) return undiciFetch(input, init);
  const headersOut = requestHeaders(init.headers);
  // fetch asks for what `decoded` below decodes; so do we, unless the caller chose.
  if (!('accept-encoding' in headersOut)) headersOut['accept-encoding'] = 'gzip, deflate';
  const res = await request(input, {
    method: (init.method ?? 'GET') as Dispatcher.HttpMethod,
    headers: headersOut,
    body: body ?? null,
    signal: init.signal ?? undefined,
    dispatcher: init.dispatcher,
  });
  const headers = new UndiciHeaders();
  for (const [name, value] of Object.entries(res.headers)) {
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else if (value !== undefined) headers.append(name, value);
  }
  const status = res.statusCode;
  if (NULL_BODY_STATUS.has(status)) {
    await res.body.dump();
    return new UndiciResponse(null, { status, headers });
  }
  const coding = headers.get('content-encoding');
  const stream = coding ? decoded(res.body, coding) : res.body;
  if (headers.get('content-type')?.startsWith('text/event-stream')) {
    return new UndiciResponse(stream, { status, headers });
  }
  const text = stream === res.body ? await res.body.text() : await new UndiciResponse(stream).text();
  return new UndiciResponse(text, { status, headers });
}

/**
 * The body decoded as fetch decodes it (one coding of gzip, deflate or br; anything else as it
 * came). undici's decompress interceptor does this too, but is experimental and warns on stderr.
 */
function decoded(body: Readable, coding: string): Readable {
  const make = DECODERS[coding.trim().toLowerCase()];
  if (!make) return body;
  const decoder = make();
  // pipeline() destroys both on an error either side, and the decoder carries it to the reader.
  pipeline(body, decoder, () => {});
  return decoder;
}

const DECODERS: Record<string, () => Transform> = {
  gzip: () => createGunzip({ flush: zlibConstants.Z_SYNC_FLUSH, finishFlush: zlibConstants.Z_SYNC_FLUSH }),
  'x-gzip': () => createGunzip({ flush: zlibConstants.Z_SYNC_FLUSH, finishFlush: zlibConstants.Z_SYNC_FLUSH }),
  deflate: () => createInflate({ flush: zlibConstants.Z_SYNC_FLUSH, finishFlush: zlibConstants.Z_SYNC_FLUSH }),
  br: () => createBrotliDecompress(),
};

const NULL_BODY_STATUS = new Set([101, 204, 205, 304]);

/** A request's headers as one object with lower-case names (the SDKs give a Headers or a record). */
function requestHeaders(h: UndiciRequestInit['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  if (h == null) return out;
  const entries: Iterable<[string, string]> =
    Symbol.iterator in Object(h) ? (h as Iterable<[string, string]>) : Object.entries(h as Record<string, string>);
  for (const [name, value] of entries) {
    const key = name.toLowerCase();
    out[key] = key in out ? `${out[key]}, ${value}` : value;
  }
  return out;
}

/**
 * One request's dispatcher: it sees the request once fetch has built it, waits for `beforeSend`,
 * then hands it to the pool. On a pooled socket that is free, undici writes a buffered request
 * within dispatch(), so `sent` comes after the write. A subclass rather than `agent.compose()`:
 * an interceptor wraps the response handler twice more, which every chunk of a stream pays for.
 */
class PacedDispatcher extends Dispatcher {
  constructor(
    private readonly pool: Dispatcher,
    private readonly hooks: SendHooks,
  ) {
    super();
  }

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const { beforeSend, sent, signal } = this.hooks;
    beforeSend().then(
      () => {
        if (signal?.aborted) return handler.onError?.(signal.reason);
        this.pool.dispatch(options, handler);
        sent();
      },
      // Only an abort stops the wait, and fetch has rejected with its reason already.
      (err: unknown) => handler.onError?.(err as Error),
    );
    return true;
  }

  override close(): Promise<void> {
    return Promise.resolve();
  }

  override destroy(): Promise<void> {
    return Promise.resolve();
  }
}
