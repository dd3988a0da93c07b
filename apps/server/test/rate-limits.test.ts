// Provider keys' limits through the whole server: runs on one key share its limiter, the run's
// events say when its calls wait for it, and server processes on one Redis share the limit. The
// fake provider enforces a limit as a provider does (testkit's `limit`: 429 + Retry-After beyond it)
// and runs as its own process: it stamps each request's arrival on an otherwise idle event loop.
import { fileURLToPath } from 'node:url';
import type { RunEventMessage } from '@batchlight/api';
import { tempDatabase } from '@batchlight/db/testing';
import { type RunningProcess, spawnUntilReady } from '@batchlight/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/index.js';
import {
  type Client,
  collectEvents,
  makeClient,
  promptSet,
  serverProcess,
  startTestServer,
  type TestServer,
} from './helpers.js';

const FAKE = fileURLToPath(import.meta.resolve('@batchlight/testkit/cli'));

interface Fake {
  url: string;
  proc: RunningProcess;
}
/** The fake OpenAI provider limited to `rpm`, answering in 30 ms. */
async function limitedFake(rpm: number): Promise<Fake> {
  const args = [FAKE, '--port', '0', '--latency', '30', '--record-starts', '--limit-rpm', String(rpm)];
  const proc = await spawnUntilReady(args, {}, /"url":"(http:\/\/[\d.:]+)"/);
  return { url: proc.url, proc };
}
interface FakeStats {
  total: number;
  countsByModel: Record<string, number>;
  byStatus: Record<string, number>;
  starts: number[];
}
const fakeStats = async (fake: Fake) => (await fetch(`${fake.url}/__fake/stats`)).json() as Promise<FakeStats>;

/** The most requests the fake saw arrive within any one second. */
function busiestSecond(starts: number[]): number {
  const t = [...starts].sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < t.length; i++) {
    while (t[i]! - t[j]! >= 1000) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}
const share429 = (s: FakeStats) => (s.byStatus['429'] ?? 0) / s.total;

/** When each item of a run completed (the commit's time), from its events. */
const completions = (events: RunEventMessage[]) =>
  events.filter((e) => e.type === 'item.completed').map((e) => Date.parse(e.at));

/** A model on the fake's key (every model made here shares it) limited to `rpm`. */
function limitedModel(client: Client, fake: Fake, providerModel: string, rpm: number | null) {
  process.env.LLM_KEY_TEST_FAKE = 'sk-fake-test-key';
  return client.models.create.mutate({
    name: `${providerModel}-${Math.random().toString(36).slice(2, 7)}`,
    provider: 'openai',
    providerModel,
    baseUrl: `${fake.url}/v1`,
    credentialEnv: 'LLM_KEY_TEST_FAKE',
    rateLimits: { requestsPerMinute: rpm },
  });
}

describe('two runs on one provider key', () => {
  let fake: Fake;
  let t: TestServer;
  beforeAll(async () => {
    fake = await limitedFake(600);
    t = await startTestServer('sqlite');
  });
  afterAll(async () => {
    await t?.close();
    await fake?.proc.stop();
  });

  it('share the 600/min limit fairly: ≤ 2% answered 429, no second past the limit and its burst, rate.limit events', async () => {
    const c = t.client;
    const set = await promptSet(c, 60);
    const a = await limitedModel(c, fake, 'run-a', 600);
    const b = await limitedModel(c, fake, 'run-b', 600);
    const stored = await c.models.get.query({ id: a.id });
    expect(stored.rateLimits).toEqual({ requestsPerMinute: 600, tokensPerMinute: null, concurrency: null });
    // An update that does not name them keeps them; one that does replaces them (and bumps the revision).
    const renamed = await c.models.update.mutate({ id: a.id, name: `${stored.name}-renamed` });
    expect(renamed.rateLimits).toEqual(stored.rateLimits);
    const bad = c.models.update.mutate({ id: a.id, rateLimits: { requestsPerMinute: 0 } });
    await expect(bad).rejects.toThrow(/at least 1/);
    const [ra, rb] = await Promise.all([
      c.runs.create.mutate({ promptSetId: set.id, modelIds: [a.id], concurrency: 32, delayMs: 0 }),
      c.runs.create.mutate({ promptSetId: set.id, modelIds: [b.id], concurrency: 32, delayMs: 0 }),
    ]);
    const [ea, eb] = await Promise.all([collectEvents(c, ra.id), collectEvents(c, rb.id)]);
    for (const events of [ea, eb]) {
      const finished = events.find((e) => e.type === 'run.finished');
      expect(finished?.type === 'run.finished' && finished.payload.completed).toBe(60);
    }
    const stats = await fakeStats(fake);
    expect(Object.keys(stats.countsByModel).sort()).toEqual(['run-a', 'run-b']);
    expect(share429(stats)).toBeLessThanOrEqual(0.02);
    // 10 a second, and the documented burst: half a second's allowance more (fixed windows; calls
    // held up on their way out arrive together).
    expect(busiestSecond(stats.starts)).toBeLessThanOrEqual(15);
    // Fair: of the first half of all completions, each run had about half.
    const all = [...completions(ea).map((at) => ({ at, a: true })), ...completions(eb).map((at) => ({ at, a: false }))];
    const firstHalf = all.sort((x, y) => x.at - y.at).slice(0, all.length >> 1);
    const shareA = firstHalf.filter((x) => x.a).length / firstHalf.length;
    console.log(
      `split over the first half: run-a ${(shareA * 100).toFixed(0)}%, run-b ${((1 - shareA) * 100).toFixed(0)}%`,
    );
    expect(shareA).toBeGreaterThanOrEqual(0.4);
    expect(shareA).toBeLessThanOrEqual(0.6);
    const limitEvent = ea.find((e) => e.type === 'rate.limit');
    expect(limitEvent?.type === 'rate.limit' && limitEvent.payload).toMatchObject({
      modelId: a.id,
      key: expect.stringMatching(/^openai 127\.0\.0\.1:\d+ #[0-9a-f]{8}$/),
      requestsPerMinute: 600,
      learned: false,
    });
    expect(JSON.stringify(ea)).not.toContain('sk-fake-test-key');
  });
});

describe('two server processes on one Redis', () => {
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const prefix = `batchlight-test:${process.pid}:${Date.now()}`;
  let fake: Fake;
  // REDIS_URL needs PostgreSQL (it also makes each process's runs distributed, on a queue of its own).
  const dbs: Array<Awaited<ReturnType<typeof tempDatabase>>> = [];
  const servers: Array<Awaited<ReturnType<typeof serverProcess>>> = [];
  const clients: Array<ReturnType<typeof makeClient>> = [];
  beforeAll(async () => {
    fake = await limitedFake(600);
    for (let i = 0; i < 2; i++) dbs.push(await tempDatabase('postgresql'));
    for (const [i, db] of dbs.entries()) {
      const s = await serverProcess(db.url, {
        REDIS_URL: redisUrl,
        BATCHLIGHT_RATE_LIMIT_PREFIX: prefix,
        BATCHLIGHT_QUEUE_PREFIX: `${prefix}:q${i}`,
        BATCHLIGHT_SEED: '0',
      });
      servers.push(s);
      clients.push(makeClient(s.url));
    }
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await Promise.all(servers.map((s) => s.stop()));
    await Promise.all(dbs.map((d) => d.drop()));
    await fake?.proc.stop();
  });

  it('share the limit: ≤ 2% answered 429 and no second past the limit and its burst, across both', async () => {
    const runs = await Promise.all(
      clients.map(async ({ client }, i) => {
        const set = await promptSet(client, 50);
        const m = await limitedModel(client, fake, `process-${i}`, 600);
        return {
          client,
          run: await client.runs.create.mutate({ promptSetId: set.id, modelIds: [m.id], concurrency: 32, delayMs: 0 }),
        };
      }),
    );
    const events = await Promise.all(
      runs.map(({ client, run }) => collectEvents(client, run.id, { timeoutMs: 60_000 })),
    );
    for (const e of events) {
      const finished = e.find((x) => x.type === 'run.finished');
      expect(finished?.type === 'run.finished' && finished.payload.completed).toBe(50);
    }
    const stats = await fakeStats(fake);
    expect(Object.keys(stats.countsByModel).sort()).toEqual(['process-0', 'process-1']);
    expect(share429(stats)).toBeLessThanOrEqual(0.02);
    // The documented burst across processes: half a second's allowance (their turns fall together).
    expect(busiestSecond(stats.starts)).toBeLessThanOrEqual(15);
  });
});

describe('REDIS_URL and BATCHLIGHT_RATE_LIMIT_PREFIX', () => {
  it('count limits in the process by default, on Redis when set; a bad value names its variable', () => {
    expect(loadConfig({}).rateLimits).toEqual({ redisUrl: undefined, keyPrefix: 'batchlight:rl' });
    const pg = { DATABASE_URL: 'postgresql://127.0.0.1:5432/x' };
    expect(
      loadConfig({ ...pg, REDIS_URL: 'redis://127.0.0.1:6379', BATCHLIGHT_RATE_LIMIT_PREFIX: 'team-a' }).rateLimits,
    ).toEqual({ redisUrl: 'redis://127.0.0.1:6379', keyPrefix: 'team-a' });
    expect(() => loadConfig({ REDIS_URL: 'http://127.0.0.1:6379' })).toThrow(/REDIS_URL/);
    expect(() => loadConfig({ BATCHLIGHT_RATE_LIMIT_PREFIX: 'has space' })).toThrow(/BATCHLIGHT_RATE_LIMIT_PREFIX/);
  });
});
