import { Agent, Dispatcher, type RequestInit as UndiciRequestInit, fetch as undiciFetch } from 'undici';

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
 * The HTTP side of one LlmClient: undici's `fetch` on a keep-alive `Agent` of its own, for both
 * provider SDKs (their `fetch` option). undici from npm rather than Node's bundled copy: the
 * `dispatcher` request option is public there, and a call's hooks ride on it.
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
    fetch: undiciFetch as unknown as typeof fetch,
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
