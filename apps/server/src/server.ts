// One Node process: tRPC over HTTP (/trpc) and WebSocket (/ws) on one port, the run engine,
// and the built monitor at /.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import { applyWSSHandler } from '@trpc/server/adapters/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Duplex } from 'node:stream';
import { appRouter, createTRPCContext } from '@batchlight/api';
import { createDb, migrate, redactDbUrl } from '@batchlight/db';
import { createEngine, exportRun } from '@batchlight/engine';
import { createLlmClient, type LlmClient } from '@batchlight/llm';
import { isAuthorized, TOKEN_COOKIE, tokenMatches } from './auth.js';
import type { ServerConfig } from './config.js';
import { seedIfEmpty } from './seed.js';
import { serveStatic } from './static.js';

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

export async function startServer(config: ServerConfig, options: StartOptions = {}): Promise<RunningServer> {
  const log = options.log ?? ((m: string) => console.log(`[batchlight] ${m}`));
  const migrated = await migrate(config.databaseUrl);
  if (migrated.applied.length) log(`database ${redactDbUrl(config.databaseUrl)}: applied ${migrated.applied.join(', ')}`);
  const db = await createDb(config.databaseUrl);
  if (config.seed) await seedIfEmpty(db.prisma, config, log);
  const llm = options.llm ?? (config.llmWorker ? undefined : createLlmClient());
  const engine = createEngine({ db, llm, secretKey: config.secretKey, log });
  const createContext = createTRPCContext({ db, engine, secretKey: config.secretKey });

  const trpc = createHTTPHandler({ router: appRouter, createContext, basePath: '/trpc/' });
  const server = createServer((req, res) => {
    void handle(req, res).catch((err) => {
      log(`request ${req.method} ${req.url?.split('?')[0]} failed: ${err instanceof Error ? err.message : String(err)}`);
      if (!res.headersSent) res.writeHead(500).end('internal error\n');
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://x');
    // Opening /?token=… once stores the token in a cookie for the monitor's later requests.
    if (config.token && req.method === 'GET' && url.searchParams.has('token') && !url.pathname.startsWith('/trpc')) {
      if (!tokenMatches(url.searchParams.get('token'), config.token)) return unauthorized(res);
      url.searchParams.delete('token');
      res.writeHead(303, {
        'set-cookie': `${TOKEN_COOKIE}=${encodeURIComponent(config.token)}; HttpOnly; SameSite=Strict; Path=/`,
        location: url.pathname + url.search,
      });
      return res.end();
    }
    if (!isAuthorized(req, config.token)) return unauthorized(res);
    if (url.pathname.startsWith('/trpc/')) return trpc(req, res);
    const exp = /^\/export\/([^/]+)\.(csv|jsonl)$/.exec(url.pathname);
    if (exp && req.method === 'GET') return exportDownload(exp[1]!, exp[2] as 'csv' | 'jsonl', res);
    return serveStatic(config.monitorDir, req, res);
  }

  async function exportDownload(runId: string, format: 'csv' | 'jsonl', res: ServerResponse) {
    const run = await db.prisma.run.findUnique({ where: { id: runId }, select: { id: true } });
    if (!run) return res.writeHead(404, { 'content-type': 'text/plain' }).end(`run ${runId} not found\n`);
    res.writeHead(200, {
      'content-type': format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
      'content-disposition': `attachment; filename="run-${runId}.${format}"`,
    });
    for await (const chunk of exportRun(db.prisma, runId, format)) {
      if (!res.write(chunk)) await new Promise((r) => res.once('drain', r));
    }
    res.end();
  }

  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    if (new URL(req.url ?? '/', 'http://x').pathname !== '/ws') return socket.destroy();
    if (!isAuthorized(req, config.token)) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      coalesceWrites(ws, socket);
      wss.emit('connection', ws, req);
    });
  });
  const wsHandler = applyWSSHandler({ wss, router: appRouter, createContext, keepAlive: { enabled: true, pingMs: 30_000, pongWaitMs: 5_000 } });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const hostForUrl = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `http://${hostForUrl}:${port}`;

  const resumed = await engine.recover();
  if (resumed.length) log(`resuming ${resumed.length} run(s) left running: ${resumed.join(', ')}`);

  let closed: Promise<void> | null = null;
  return {
    url,
    port,
    engine,
    close: (opts = {}) => {
      const drained = engine.close(opts);
      return (closed ??= (async () => {
        await drained;
        wsHandler.broadcastReconnectNotification();
        for (const c of wss.clients) c.terminate();
        wss.close();
        server.closeAllConnections();
        await new Promise<void>((r) => server.close(() => r()));
        await db.close();
      })());
    },
  };
}

function unauthorized(res: ServerResponse) {
  res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer' });
  res.end(JSON.stringify({ error: 'unauthorized: present BATCHLIGHT_TOKEN as "Authorization: Bearer <token>"' }));
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
