import http from 'node:http';
import https from 'node:https';
import { pipeline, type Readable } from 'node:stream';
import zlib from 'node:zlib';

/**
 * A `fetch` for the openai SDK on node:http/node:https with keep-alive Agents (one pair per
 * LlmClient).
 *
 * Why: the HTTP client, not our code, is most of the CPU a call costs the server. Measured on
 * 2 vCPU, Node 20, 64 concurrent streaming calls against the zero-latency fake, client CPU per
 * call: the SDK on the global fetch (Node's bundled undici) 1.16 ms; on this fetch 0.86 ms; this
 * fetch plus our own SSE decoder 0.61 ms; a bare node:http POST 0.20 ms. undici v7
 * from npm with its own Agent measured 1.12 ms: no gain.
 *
 * It behaves like fetch where the SDK and classifyError can tell: a real Response with a web
 * stream body; an abort rejects (or errors the body) with the signal's reason; a network failure
 * is `TypeError('fetch failed', { cause })` and a body cut mid-way errors with
 * `TypeError('terminated', { cause })`. Compressed responses are decoded (we never ask for one).
 * Deliberately not: redirects (the SDK only POSTs; a 3xx reaches the SDK as an APIError), cookies,
 * CORS, or streaming request bodies (bodies are buffered).
 */
/** What the openai SDK passes through from a request's `fetchOptions`. */
export interface PooledRequestInit extends RequestInit {
  /** Awaited after the request is built, right before it is written (keeps CallRequest.pace). */
  beforeSend?: () => Promise<void>;
  /** Called once the request has been handed to the socket (written, on a connected socket). */
  sent?: () => void;
}

export function createPooledFetch(): typeof fetch {
  // No maxSockets: concurrency is the engine's cap (runs go to C=256). timeout closes a socket
  // idle for 4 s (as undici does) so we do not reuse one the server is about to close; the
  // server's own `Keep-Alive: timeout=` hint is honoured by the Agent as well.
  const agentOpts = { keepAlive: true, timeout: 4_000 };
  const httpAgent = new http.Agent(agentOpts);
  const httpsAgent = new https.Agent(agentOpts);

  return async function pooledFetch(input: string | URL | Request, init: PooledRequestInit = {}): Promise<Response> {
    const request = input instanceof Request ? input : null;
    const url = new URL(request ? request.url : String(input));
    const signal = init.signal ?? request?.signal ?? null;
    signal?.throwIfAborted();
    const method = (init.method ?? request?.method ?? 'GET').toUpperCase();
    const headers: Record<string, string> = {};
    // The SDK hands over a Headers already: read it as it is rather than through a validated copy.
    const given = init.headers ?? request?.headers;
    (given instanceof Headers ? given : new Headers(given)).forEach((v, k) => {
      headers[k] = v;
    });
    const body = await bodyBytes(
      init.body !== undefined ? init.body : request?.body ? await request.arrayBuffer() : null,
      headers,
    );
    if (body) headers['content-length'] = String(body.byteLength);
    signal?.throwIfAborted();
    const secure = url.protocol === 'https:';
    if (!secure && url.protocol !== 'http:')
      throw new TypeError('fetch failed', { cause: new Error(`unsupported protocol ${url.protocol}`) });

    return new Promise<Response>((resolve, reject) => {
      const req = (secure ? https : http).request(url, { method, headers, agent: secure ? httpsAgent : httpAgent });
      let responded = false;
      // Set once the body exists: ends it (no argument) or errors it.
      let finish: ((err?: unknown) => void) | null = null;
      const onAbort = () => {
        const reason = signal!.reason;
        if (finish) finish(reason);
        else reject(reason);
        req.destroy();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const done = () => signal?.removeEventListener('abort', onAbort);

      req.on('error', (err) => {
        if (finish) finish(new TypeError('terminated', { cause: err }));
        else if (!responded) {
          done();
          reject(new TypeError('fetch failed', { cause: err }));
        }
      });
      req.on('response', (res) => {
        responded = true;
        const status = res.statusCode ?? 0;
        const h = new Headers();
        const raw = res.rawHeaders;
        for (let i = 0; i + 1 < raw.length; i += 2) h.append(raw[i]!, raw[i + 1]!);
        const init = { status, statusText: res.statusMessage ?? '', headers: h };
        try {
          if (method === 'HEAD' || status === 204 || status === 205 || status === 304) {
            done();
            res.resume();
            resolve(new Response(null, init));
            return;
          }
          const src = decoded(res, h.get('content-encoding'));
          // Our own web stream rather than Readable.toWeb(src), which would error the body with
          // an AbortError on a premature close (classifyError: a cancel, never retried) and with
          // Node's 'aborted' where fetch says 'terminated'. Same cost per chunk.
          let ended = false;
          let ctl!: ReadableStreamDefaultController<Uint8Array>;
          finish = (err?: unknown) => {
            if (ended) return;
            ended = true;
            done();
            if (err === undefined) ctl.close();
            else {
              ctl.error(err);
              req.destroy();
            }
          };
          const stream = new ReadableStream<Uint8Array>(
            {
              start: (c) => {
                ctl = c;
              },
              pull: () => {
                src.resume();
              },
              cancel: () => {
                ended = true;
                done();
                req.destroy(); // a half-read socket must not go back to the pool
                src.destroy();
              },
            },
            { highWaterMark: 64 * 1024, size: (c) => c.byteLength },
          );
          src.on('data', (chunk: Buffer) => {
            if (ended) return;
            ctl.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
            if ((ctl.desiredSize ?? 0) <= 0) src.pause();
          });
          src.on('end', () => finish!());
          // A socket error or premature close mid-body: what undici reports (classified `connection`).
          src.on('error', (err) => finish!(new TypeError('terminated', { cause: err })));
          src.on('close', () => finish!(new TypeError('terminated')));
          resolve(new Response(stream, init));
        } catch (err) {
          done();
          req.destroy();
          reject(new TypeError('fetch failed', { cause: err }));
        }
      });
      const { beforeSend, sent } = init;
      if (!beforeSend) req.end(body ?? undefined);
      else {
        // The hook runs once the socket can take the request at once (a new connection is set
        // up first), so that what it waited for is when the provider sees the request.
        const send = () =>
          beforeSend().then(
            () => {
              if (signal?.aborted) return;
              req.end(body ?? undefined);
              sent?.();
            },
            (err: unknown) => {
              done();
              reject(err);
              req.destroy();
            },
          );
        req.once('socket', (socket) => {
          if (socket.connecting) socket.once(secure ? 'secureConnect' : 'connect', () => void send());
          else void send();
        });
      }
    });
  };
}

async function bodyBytes(
  b: RequestInit['body'] | ArrayBuffer,
  headers: Record<string, string>,
): Promise<Buffer | null> {
  if (b == null) return null;
  if (typeof b === 'string') {
    headers['content-type'] ??= 'text/plain;charset=UTF-8';
    return Buffer.from(b);
  }
  if (b instanceof ArrayBuffer) return Buffer.from(b);
  if (ArrayBuffer.isView(b)) return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  // Blob, FormData, URLSearchParams, streams: let a Response serialise it and name its type.
  const r = new Response(b);
  const type = r.headers.get('content-type');
  if (type) headers['content-type'] ??= type;
  return Buffer.from(await r.arrayBuffer());
}

const ZLIB = { flush: zlib.constants.Z_SYNC_FLUSH, finishFlush: zlib.constants.Z_SYNC_FLUSH };
const BROTLI = { flush: zlib.constants.BROTLI_OPERATION_FLUSH, finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH };

/** The body decoded as fetch would; an unknown coding is handed over as it came. */
function decoded(res: http.IncomingMessage, encoding: string | null): Readable {
  if (!encoding) return res;
  const steps: NodeJS.ReadWriteStream[] = [];
  for (const c of encoding
    .toLowerCase()
    .split(',')
    .map((s) => s.trim())
    .reverse()) {
    if (c === 'gzip' || c === 'x-gzip') steps.push(zlib.createGunzip(ZLIB));
    else if (c === 'deflate') steps.push(zlib.createInflate(ZLIB));
    else if (c === 'br') steps.push(zlib.createBrotliDecompress(BROTLI));
    else if (c !== 'identity' && c !== '') return res;
  }
  if (steps.length === 0) return res;
  return pipeline([res, ...steps], () => {}) as unknown as Readable;
}
