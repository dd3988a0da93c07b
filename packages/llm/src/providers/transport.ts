import { Agent, type Dispatcher, type RequestInit as UndiciRequestInit, fetch as undiciFetch } from 'undici';

/** What a call asks of the transport around the moment its request goes out. */
export interface SendHooks {
  /** Awaited before the request is handed to its connection (CallRequest.pace waits here). */
  beforeSend(): Promise<void>;
  /** Called once the request has been handed to its connection. */
  sent(): void;
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
      // An interceptor sees the request once fetch has built it. On a pooled socket that is free,
      // undici writes a buffered request within dispatch(), so `sent` comes after the write.
      const paced: Dispatcher.DispatcherComposeInterceptor = (dispatch) => (opts, handler) => {
        hooks.beforeSend().then(
          () => {
            dispatch(opts, handler);
            hooks.sent();
          },
          // Only an abort stops the wait, and fetch has rejected with its reason already.
          (err: unknown) => handler.onResponseError?.(null as never, err as Error),
        );
        return true;
      };
      // Two copies of undici's types (Node's and the package's) do not unify; the object is undici's.
      // Redirects are not followed: a provider's 3xx is an answer we do not understand, and a
      // key must not travel to wherever it points.
      const init: UndiciRequestInit = { dispatcher: agent.compose(paced), redirect: 'manual' };
      return init as unknown as RequestInit;
    },
  };
}
