import type { RunEventMessage } from '@batchlight/api';
import { type Client, createClient } from '@batchlight/api/client';
import { type TempDatabase, tempDatabase } from '@batchlight/db/testing';
import type { FakeServer } from '@batchlight/testkit';
import { TRPCClientError } from '@trpc/client';
import { afterAll } from 'vitest';
import WebSocket from 'ws';
import { loadConfig, type RunningServer, startServer } from '../src/index.js';
import { type RunningProcess, startServerProcess } from '../src/testing.js';

export type { Client };

/** The API's client (as the CLI's and bench's) with a WebSocket for subscriptions, quick to reconnect. */
export function makeClient(url: string, token?: string): { client: Client; close: () => void } {
  return createClient({ url, token, WebSocket, ws: { retryDelayMs: () => 100 } });
}

export interface TestServer {
  server: RunningServer;
  client: Client;
  db: TempDatabase;
  logs: string[];
  close(): Promise<void>;
}

/** The environment a test server starts from; `env` adds or overrides settings (README, Configuration). */
export async function startTestServer(
  provider: 'sqlite' | 'postgresql',
  opts: { token?: string; env?: Record<string, string> } = {},
): Promise<TestServer> {
  const db = await tempDatabase(provider);
  const logs: string[] = [];
  const token = opts.token ? { BATCHLIGHT_TOKEN: opts.token } : {};
  const config = loadConfig({
    PORT: '0',
    DATABASE_URL: db.url,
    BATCHLIGHT_SECRET_KEY: 'test-secret-key',
    BATCHLIGHT_SHUTDOWN_GRACE_MS: '0',
    ...token,
    ...opts.env,
  });
  const server = await startServer(config, { log: (m) => logs.push(m) });
  const { client, close } = makeClient(server.url, opts.token);
  return {
    server,
    client,
    db,
    logs,
    async close() {
      close();
      await server.close();
      await db.drop();
    },
  };
}

/** Collects a run's events until run.finished (or `stopAfter` events), through a real WebSocket. */
export function collectEvents(
  client: Client,
  runId: string,
  opts: {
    lastEventId?: string;
    stopAfter?: number;
    timeoutMs?: number;
    items?: boolean | { fromPrompt: number; toPrompt: number };
  } = {},
): Promise<RunEventMessage[]> {
  const events: RunEventMessage[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      sub.unsubscribe();
      reject(new Error(`timed out after ${events.length} events`));
    }, opts.timeoutMs ?? 30_000);
    const done = () => {
      clearTimeout(timer);
      sub.unsubscribe();
      resolve(events);
    };
    const sub = client.runs.events.subscribe(
      { runId, lastEventId: opts.lastEventId ?? null, ...(opts.items != null ? { items: opts.items } : {}) },
      {
        onData: (e) => {
          // A subscription in `replay` mode (the default) never asks for a resync.
          if (e.data.type === 'resync') return reject(new Error(`unexpected resync: ${e.data.reason}`));
          events.push(e.data);
          if (e.data.type === 'run.finished' || (opts.stopAfter && events.length >= opts.stopAfter)) done();
        },
        onError: (err) => {
          clearTimeout(timer);
          reject(err);
        },
        onComplete: () => done(),
      },
    );
  });
}

export async function waitFor<T>(
  fn: () => Promise<T | undefined | null | false>,
  timeoutMs = 30_000,
  everyMs = 50,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error('waitFor timed out');
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Every row of a cursor-paged list. */
async function allPages<T>(
  page: (cursor: string | undefined) => Promise<{ rows: T[]; nextCursor: string | null }>,
): Promise<T[]> {
  const out: T[] = [];
  for (let cursor: string | undefined; ; ) {
    const p = await page(cursor);
    out.push(...p.rows);
    if (!p.nextCursor) return out;
    cursor = p.nextCursor;
  }
}

export const allItems = (client: Client, runId: string) =>
  allPages((cursor) =>
    client.runs.items.query({ runId, cursor, limit: 1000 }).then((p) => ({ rows: p.items, nextCursor: p.nextCursor })),
  );

export const allTraces = (client: Client, runId: string) =>
  allPages((cursor) =>
    client.traces.list
      .query({ runId, cursor, limit: 1000 })
      .then((p) => ({ rows: p.traces, nextCursor: p.nextCursor })),
  );

export async function promptSet(client: Client, n: number, name = `set-${n}`) {
  return client.promptSets.create.mutate({
    name,
    prompts: Array.from({ length: n }, (_, i) => ({ input: `Prompt number ${i}: say something short.` })),
  });
}

/** A model on a testkit fake, with its key in an env var the server reads. */
export async function fakeModel(
  client: Client,
  fakeUrl: string,
  providerModel: string,
  extra: { name?: string; provider?: 'openai' | 'huggingface'; stream?: boolean } = {},
) {
  process.env.LLM_KEY_TEST_FAKE = 'sk-fake-test-key';
  return client.models.create.mutate({
    name: extra.name ?? `${providerModel}-${Math.random().toString(36).slice(2, 7)}`,
    provider: extra.provider ?? 'openai',
    providerModel,
    baseUrl: extra.provider === 'huggingface' ? fakeUrl : `${fakeUrl}/v1`,
    credentialEnv: 'LLM_KEY_TEST_FAKE',
    params: { stream: extra.stream ?? true },
    pricing: { inputPerMTok: 1, outputPerMTok: 2 },
  });
}

export interface CallError {
  code: string;
  httpStatus: number;
  message: string;
  fieldErrors: Record<string, string[]>;
}

/** The error a call fails with, as a client sees it; fails the test if the call succeeds. */
export async function failure(call: Promise<unknown>): Promise<CallError> {
  try {
    await call;
  } catch (err) {
    if (!(err instanceof TRPCClientError)) throw err;
    const data = err.data as Partial<Pick<CallError, 'code' | 'httpStatus'>> & {
      fieldErrors?: CallError['fieldErrors'] | null;
    };
    return {
      code: data?.code ?? '',
      httpStatus: data?.httpStatus ?? 0,
      message: err.message,
      fieldErrors: data?.fieldErrors ?? {},
    };
  }
  throw new Error('expected the call to fail');
}

/** The built server as its own process on `databaseUrl`, with the key of fakeModel()'s models. */
export const serverProcess = (databaseUrl: string, env: NodeJS.ProcessEnv = {}) =>
  startServerProcess({ DATABASE_URL: databaseUrl, LLM_KEY_TEST_FAKE: 'sk-fake-test-key', ...env });

/**
 * serverProcess() and a client to it, both undone by `cleanups` (the process SIGKILLed, if it is
 * still running). `close` closes the client's socket sooner (a subscriber that goes away). A
 * worker's client has no socket: a worker refuses WebSockets, and the client would try again
 * every 100 ms for as long as the test runs.
 */
export async function startProcess(
  cleanups: Array<() => Promise<void> | void>,
  databaseUrl: string,
  env: NodeJS.ProcessEnv = {},
): Promise<{ proc: RunningProcess; client: Client; close: () => void }> {
  const proc = await serverProcess(databaseUrl, env);
  cleanups.push(() => proc.stop('SIGKILL'));
  const { client, close } = env.BATCHLIGHT_ROLE === 'worker' ? createClient({ url: proc.url }) : makeClient(proc.url);
  cleanups.push(close);
  return { proc, client, close };
}

/** The fake's requests per prompt (promptSet()'s prompts are told apart by their text). */
export function requestsByPrompt(fake: FakeServer): Map<string, FakeServer['requests']> {
  const out = new Map<string, FakeServer['requests']>();
  for (const r of fake.requests) out.set(r.body.preview, [...(out.get(r.body.preview) ?? []), r]);
  return out;
}

/** What to undo after the enclosing describe block, undone in reverse order. */
export function cleanupsAfterAll(): Array<() => Promise<void> | void> {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });
  return cleanups;
}
