// One Node process: tRPC over HTTP (/trpc) and WebSocket (/ws) on one port, the run engine,
// and the built monitor at /. Every request passes, in order: a target that parses, the Host and
// Origin checks (gate.ts), the body limit, the token; every listener is total (a malformed request
// gets a 4xx, an unexpected failure a 500 with an error id in the log). SECURITY.md has the model.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { appRouter, createTRPCContext, errorIdOf } from '@batchlight/api';
import { createDb, migrate, redactDbUrl } from '@batchlight/db';
import { createEngine, exportRun } from '@batchlight/engine';
import { CallPolicy, createLlmClient, type LlmClient } from '@batchlight/llm';
import { TRPCError } from '@trpc/server';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import { applyWSSHandler } from '@trpc/server/adapters/ws';
import { type WebSocket, WebSocketServer } from 'ws';
import { isAuthorized, TOKEN_COOKIE, tokenMatches } from './auth.js';
import { llmLimits, ownHosts, type ServerConfig } from './config.js';
import { createRequestGate } from './gate.js';
import { setSecurityHeaders } from './headers.js';
import { seedIfEmpty } from './seed.js';
import { serveStatic } from './static.js';

/** How long an idle kept-alive connection stays open (see where it is set). */
const KEEP_ALIVE_MS = 30_000;

export interface StartOptions {
  llm?: LlmClient;
  log?: (message: string) => void;
}

export interface RunningServer {
  url: string;
  port: number;
  engine: ReturnType<typeof createEngine>;
  /**
   * Stops the server. With `graceMs`, it first drains: no new run or call starts (runs.create and
   * runs.resume answer SERVICE_UNAVAILABLE), calls in flight get up to `graceMs` to finish and be
   * committed while clients still see their events; then whatever is open is cut off. Calling it
   * again with a shorter grace (0: at once) cuts the drain short.
   */
  close(opts?: { graceMs?: number }): Promise<void>;
}

/** The request target as a URL, or null when it is not one (`GET http://[`). */
function parseTarget(target: string | undefined): URL | null {
  try {
    return new URL(target ?? '/', 'http://x');
  } catch {
    return null;
  }
}

const WORKER_ONLY = 'this process is a worker (BATCHLIGHT_ROLE=worker): it executes runs and answers /trpc/health only';

const detail = (err: unknown) => (err instanceof Error ? (err.stack ?? err.message) : String(err));

export async function startServer(config: ServerConfig, options: StartOptions = {}): Promise<RunningServer> {
  const log = options.log ?? ((m: string) => console.log(`[batchlight] ${m}`));
  const migrated = await migrate(config.databaseUrl);
  if (migrated.applied.length)
    log(`database ${redactDbUrl(config.databaseUrl)}: applied ${migrated.applied.join(', ')}`);
  const db = await createDb(config.databaseUrl);
  if (config.seed) await seedIfEmpty(db.prisma, config, log);
  const limits = config.limits;
  const { policy } = config;
  const { rateLimits } = config;
  const llm =
    options.llm ?? (config.llmWorker ? undefined : createLlmClient({ policy, limits: llmLimits(limits), rateLimits }));
  const engine = createEngine({
    db,
    llm,
    secretKey: config.secretKey,
    log,
    policy,
    limits: { runItems: limits.runItems, llm: llmLimits(limits) },
    rateLimits,
    execute: config.role !== 'api',
    relay: config.role !== 'worker',
    lease: config.lease,
    distributed: config.distributed,
  });
  const { bodyBytes, promptsPerSet, simOutputTokens, simLatencyMs } = limits;
  const createContext = createTRPCContext({
    db,
    engine,
    secretKey: config.secretKey,
    policy: new CallPolicy(policy),
    limits: { bodyBytes, promptsPerSet, simOutputTokens, simLatencyMs },
    role: config.role,
  });
  // A 500's detail goes to the log under the id its answer carries (the API's errorFormatter).
  const onError = ({ error, path }: { error: TRPCError; path?: string }) => {
    if (error.code !== 'INTERNAL_SERVER_ERROR') return;
    log(`error ${errorIdOf(error)} in ${path ?? 'a request'}: ${detail(error.cause ?? error)}`);
  };

  const declaredOver = (req: IncomingMessage) => Number(req.headers['content-length']) > limits.bodyBytes;
  const trpc = createHTTPHandler({
    router: appRouter,
    createContext,
    basePath: '/trpc/',
    onError,
    // Counted as the body streams in: past the limit tRPC stops reading and answers 413.
    maxBodySize: limits.bodyBytes,
    // A body declared too large is refused before a byte of it is read.
    middleware: (req, _res, next) => next(declaredOver(req) ? new TRPCError({ code: 'PAYLOAD_TOO_LARGE' }) : undefined),
  });

  /**
   * Past the limit the server stops reading (the client's writes stall; it can still read the
   * 413) and closes the connection a second after the answer is out: closing a socket with unread
   * data resets it, and a reset that reached the client before it read the answer would lose it.
   */
  function limitBody(req: IncomingMessage, res: ServerResponse) {
    let seen = 0;
    const over = () => {
      req.pause();
      const close = () => setTimeout(() => req.socket.destroy(), 1_000).unref();
      if (res.writableFinished) close();
      else res.once('finish', close);
    };
    if (declaredOver(req)) return over();
    const count = (chunk: Buffer) => {
      seen += chunk.length;
      if (seen <= limits.bodyBytes) return;
      req.off('data', count);
      over();
    };
    req.on('data', count);
  }

  let gate: ReturnType<typeof createRequestGate> | null = null;
  const server = createServer((req, res) => {
    void handle(req, res).catch((err) => {
      const id = randomUUID();
      log(`error ${id} in ${req.method} ${String(req.url).split('?')[0]!.slice(0, 200)}: ${detail(err)}`);
      if (!res.headersSent) answer(res, 500, `internal error (id ${id}); the server log has the details`);
      else res.destroy();
    });
  });

  // An idle kept-alive connection is closed by a timer that, after the event loop was held up
  // (a large upload parsed, a first comparison of a large run, a loaded machine), fires before the
  // request waiting on that connection is read: the client gets a reset for a request never seen.
  // Node's default of 5 s made that one stall of 5 s away; clients close their idle connections a
  // little before the `Keep-Alive: timeout` announced, so a longer one costs nothing else.
  server.keepAliveTimeout = KEEP_ALIVE_MS;

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = parseTarget(req.url);
    const isApi = !!url?.pathname.startsWith('/trpc/');
    setSecurityHeaders(res, isApi ? 'api' : 'monitor');
    if (!url) return answer(res, 400, 'the request target is not a valid URL path', true);
    if (!gate) return answer(res, 503, 'starting', true);
    const refused = gate.check(req);
    if (refused) return answer(res, refused.status, refused.message, true);
    limitBody(req, res);
    // Opening /?token=… once stores the token in a cookie for the monitor's later requests.
    if (config.token && req.method === 'GET' && url.searchParams.has('token') && !isApi) {
      if (!tokenMatches(url.searchParams.get('token'), config.token)) return unauthorized(res);
      url.searchParams.delete('token');
      res.writeHead(303, {
        'set-cookie': `${TOKEN_COOKIE}=${encodeURIComponent(config.token)}; HttpOnly; SameSite=Strict; Path=/`,
        // One leading slash: never "//host", which a browser would take for another site.
        location: `/${url.pathname.replace(/^\/+/, '')}${url.search}`,
      });
      return res.end();
    }
    if (!isAuthorized(req, config.token)) return unauthorized(res);
    if (config.role === 'worker' && url.pathname !== '/trpc/health') return answer(res, 404, WORKER_ONLY);
    if (isApi) return trpc(req, res);
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return answer(res, 405, `${req.method} is not accepted here`, true);
    if (declaredOver(req))
      return answer(res, 413, `the body is over ${limits.bodyBytes} bytes (BATCHLIGHT_MAX_BODY_BYTES)`, true);
    const exp = /^\/export\/([^/]+)\.(csv|jsonl)$/.exec(url.pathname);
    if (exp) return exportDownload(exp[1]!, exp[2] as 'csv' | 'jsonl', res);
    return serveStatic(config.monitorDir, url, res);
  }

  async function exportDownload(runId: string, format: 'csv' | 'jsonl', res: ServerResponse) {
    const run = await db.prisma.run.findUnique({ where: { id: runId }, select: { id: true } });
    if (!run) return answer(res, 404, `run ${runId.slice(0, 100)} not found`);
    res.writeHead(200, {
      'content-type': format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
      'content-disposition': `attachment; filename="run-${runId}.${format}"`,
    });
    for await (const chunk of exportRun(db.prisma, runId, format)) {
      if (!res.write(chunk)) await new Promise((r) => res.once('drain', r));
    }
    res.end();
  }

  const wss = new WebSocketServer({ noServer: true, maxPayload: limits.bodyBytes });
  server.on('upgrade', (req, socket, head) => {
    // A socket refused here may still see a late error (the peer resets): not the process's.
    socket.on('error', () => undefined);
    try {
      const url = parseTarget(req.url);
      if (!url) return refuseUpgrade(socket, 400);
      const refused = gate ? gate.check(req) : { status: 503 as const, message: 'starting' };
      if (refused) return refuseUpgrade(socket, refused.status, REASONS[refused.status]);
      if (url.pathname !== '/ws' || config.role === 'worker') return refuseUpgrade(socket, 404, 'Not Found');
      if (!isAuthorized(req, config.token)) return refuseUpgrade(socket, 401, 'Unauthorized');
      wss.handleUpgrade(req, socket, head, (ws) => {
        coalesceWrites(ws, socket);
        wss.emit('connection', ws, req);
      });
    } catch (err) {
      log(`error in the upgrade of ${String(req.url).slice(0, 200)}: ${detail(err)}`);
      socket.destroy();
    }
  });
  const wsHandler = applyWSSHandler({
    wss,
    router: appRouter,
    createContext,
    onError,
    keepAlive: { enabled: true, pingMs: 30_000, pongWaitMs: 5_000 },
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  gate = createRequestGate({ ownHosts: ownHosts(config.host, port), allowedOrigins: config.allowedOrigins });
  const hostForUrl = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `http://${hostForUrl}:${port}`;

  const resumed = await engine.recover();
  if (resumed.length) log(`resuming ${resumed.length} run(s) left running: ${resumed.join(', ')}`);
  if (config.role !== 'all') log(`role ${config.role}: ${ROLE_SAYS[config.role]}`);

  let closed: Promise<void> | null = null;
  return {
    url,
    port,
    engine,
    close: (opts = {}) => {
      // Every call passes its grace on to the engine (a second SIGTERM cuts the drain short); the
      // rest of the shutdown happens once.
      const drained = engine.close(opts);
      closed ??= (async () => {
        await drained;
        wsHandler.broadcastReconnectNotification();
        for (const c of wss.clients) c.terminate();
        wss.close();
        server.closeAllConnections();
        await new Promise<void>((r) => server.close(() => r()));
        await db.close();
        // The client made here (not the engine's own, nor one given): its shared limits' connection.
        if (!options.llm) await llm?.close?.();
      })();
      return closed;
    },
  };
}

const ROLE_SAYS = {
  api: 'serves the API and the monitor; executes no call (a worker process executes the runs)',
  worker: 'executes runs; answers /trpc/health only',
} as const;

function answer(res: ServerResponse, status: number, message: string, close = false) {
  res.writeHead(status, { 'content-type': 'application/json', ...(close ? { connection: 'close' } : {}) });
  res.end(JSON.stringify({ error: message }));
}

function unauthorized(res: ServerResponse) {
  res.setHeader('www-authenticate', 'Bearer');
  answer(res, 401, 'unauthorized: present BATCHLIGHT_TOKEN as "Authorization: Bearer <token>"');
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  403: 'Forbidden',
  421: 'Misdirected Request',
  503: 'Service Unavailable',
};

function refuseUpgrade(socket: Duplex, status: number, reason: string = REASONS[status] ?? 'Bad Request') {
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
}

/**
 * Frames sent in one run of the microtask queue leave in one socket write: a committed batch of
 * events reaches a subscriber in one syscall instead of one per event (ws writes each frame at
 * once otherwise). Not setImmediate: a whole turn of HTTP callbacks can come before it.
 */
function coalesceWrites(ws: WebSocket, socket: Duplex): void {
  const send = ws.send.bind(ws);
  let corked = false;
  ws.send = ((...args: Parameters<WebSocket['send']>) => {
    if (!corked && socket.writable) {
      corked = true;
      socket.cork();
      // After the microtasks of this turn: every frame the committed batch produced is in.
      process.nextTick(() => {
        corked = false;
        socket.uncork();
      });
    }
    (send as (...a: unknown[]) => void)(...args);
  }) as WebSocket['send'];
}
