import { spawn } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  demoPrompts,
  type FakeServer,
  formatResetDuration,
  startFakeHuggingFace,
  startFakeOpenAI,
} from '../src/index.js';

/** What the tests read of the fake's answers and stats. */
interface Answer {
  object: string;
  model: string;
  choices: [{ message: { content: string } }];
  usage: { prompt_tokens: number };
}
interface Stats {
  total: number;
  countsByModel: Record<string, number>;
  starts?: number[];
}

const body = (model: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ model, messages: [{ role: 'user', content: 'What is two plus two?' }], ...extra });

async function post(url: string, b: string, headers: Record<string, string> = {}) {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: b });
}

/** Polls until `cond()` holds (a request reaches the fake when the machine gets to it). */
async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

function parseSse(text: string): string[] {
  return text
    .split('\n\n')
    .filter((s) => s.startsWith('data: '))
    .map((s) => s.slice(6));
}

describe('fake OpenAI over HTTP', () => {
  let fake: FakeServer;
  beforeAll(async () => {
    fake = await startFakeOpenAI();
  });
  afterAll(() => fake.close());

  it('answers non-streaming with a deterministic chat.completion', async () => {
    fake.reset();
    const r1 = (await (await post(`${fake.url}/v1/chat/completions`, body('m-a'))).json()) as Answer;
    const r2 = (await (await post(`${fake.url}/v1/chat/completions`, body('m-a'))).json()) as Answer;
    expect(r1.object).toBe('chat.completion');
    expect(r1.model).toBe('m-a');
    expect(r1.choices[0].message.content).toBe(r2.choices[0].message.content);
    expect(r1.usage.prompt_tokens).toBeGreaterThan(0);
    expect(fake.countsByModel()).toEqual({ 'm-a': 2 });
    expect(fake.requests).toHaveLength(2);
    expect(fake.requests[0]!.status).toBe(200);
    expect(fake.requests[0]!.body).toMatchObject({ model: 'm-a', stream: false, messages: 1 });
  });

  it('streams SSE chunks, a final usage chunk, then [DONE]', async () => {
    fake.setBehavior({ answerAs: 'm-b-2025-01-01', providerCost: 0.5 });
    const res = await post(
      `${fake.url}/v1/chat/completions`,
      body('m-b', { stream: true, stream_options: { include_usage: true } }),
    );
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const events = parseSse(await res.text());
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
    expect(chunks.every((c) => c.object === 'chat.completion.chunk' && c.model === 'm-b-2025-01-01')).toBe(true);
    const last = chunks.at(-1);
    expect(last.choices).toEqual([]);
    expect(last.usage.cost).toBe(0.5);
    expect(chunks.at(-2).choices[0].finish_reason).toBe('stop');
    fake.setBehavior(undefined);
  });

  it('omits the usage chunk without include_usage', async () => {
    const events = parseSse(
      await (await post(`${fake.url}/v1/chat/completions`, body('m-b', { stream: true }))).text(),
    );
    expect(
      events
        .slice(0, -1)
        .map((e) => JSON.parse(e))
        .some((c) => c.usage),
    ).toBe(false);
  });

  it('serves each fault mode at the HTTP level', async () => {
    fake.setBehavior((req) => {
      switch (req.model) {
        case 'f429':
          return { fault: { kind: '429', retryAfterMs: 1500, retryAfterSeconds: 2 } };
        case 'f500':
          return { fault: '500' };
        case 'f503':
          return { fault: '503' };
        case 'f401':
          return { fault: '401', echoAuthInError: true };
        case 'fmal':
          return { fault: 'malformed' };
        case 'freset':
          return { fault: 'reset' };
        case 'fslow':
          return { fault: { kind: 'slow', ms: 80 } };
        case 'ftimes':
          return { fault: '500', times: 2 };
        default:
          return undefined;
      }
    });
    const u = `${fake.url}/v1/chat/completions`;
    const r429 = await post(u, body('f429'));
    expect(r429.status).toBe(429);
    expect(r429.headers.get('retry-after-ms')).toBe('1500');
    expect(r429.headers.get('retry-after')).toBe('2');
    expect((await post(u, body('f500'))).status).toBe(500);
    expect((await post(u, body('f503'))).status).toBe(503);
    const r401 = await post(u, body('f401'), { authorization: 'Bearer sk-echo-me' });
    expect(r401.status).toBe(401);
    expect(await r401.text()).toContain('sk-echo-me');
    const mal = await post(u, body('fmal'));
    expect(mal.status).toBe(200);
    await expect(mal.clone().json()).rejects.toThrow();
    await expect(post(u, body('freset'))).rejects.toThrow(/fetch failed/);
    const t0 = Date.now();
    expect((await post(u, body('fslow'))).status).toBe(200);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(75);
    expect((await post(u, body('ftimes'))).status).toBe(500);
    expect((await post(u, body('ftimes'))).status).toBe(500);
    expect((await post(u, body('ftimes'))).status).toBe(200);
    // The log never keeps the Authorization value.
    expect(JSON.stringify(fake.requests)).not.toContain('sk-echo-me');
    fake.setBehavior(undefined);
  });

  it('hang holds the request until the client gives up; inFlight tracks it', async () => {
    fake.setBehavior({ fault: 'hang' });
    const p = post(`${fake.url}/v1/chat/completions`, body('hang')).catch((e) => e);
    const giveUp = new AbortController();
    const url = `${fake.url}/v1/chat/completions`;
    const p2 = fetch(url, { method: 'POST', body: body('hang'), signal: giveUp.signal }).catch((e) => e);
    await until(() => fake.inFlight() >= 2); // both held, neither answered
    giveUp.abort();
    expect(await p2).toBeInstanceOf(Error);
    await until(() => fake.inFlight() === 1);
    fake.setBehavior(undefined);
    void p; // released when the server closes
  });

  it('gates responses so they can complete out of order', async () => {
    const release: Record<string, () => void> = {};
    fake.setBehavior({ gate: (req) => new Promise<void>((r) => (release[req.model] = r)) });
    const order: string[] = [];
    const ps = ['g1', 'g2', 'g3'].map((m) =>
      post(`${fake.url}/v1/chat/completions`, body(m)).then(async (r) =>
        order.push(((await r.json()) as Answer).model),
      ),
    );
    await until(() => Object.keys(release).length === 3); // all three held at their gate
    release.g3!();
    await until(() => order.length === 1);
    release.g2!();
    await until(() => order.length === 2);
    release.g1!();
    await Promise.all(ps);
    expect(order).toEqual(['g3', 'g2', 'g1']);
    fake.setBehavior(undefined);
  });

  it('control API: stats and reset', async () => {
    const stats = (await (await fetch(`${fake.url}/__fake/stats`)).json()) as Stats;
    expect(stats.total).toBeGreaterThan(0);
    await fetch(`${fake.url}/__fake/reset`, { method: 'POST' });
    const after = (await (await fetch(`${fake.url}/__fake/stats`)).json()) as Stats;
    expect(after.total).toBe(0);
    expect(fake.requests).toHaveLength(0);
  });

  it('latency applies, and logRequests:false still counts', async () => {
    const f2 = await startFakeOpenAI({ logRequests: false, behavior: { latencyMs: 40 } });
    const t0 = performance.now();
    await post(`${f2.url}/v1/chat/completions`, body('lat'));
    expect(performance.now() - t0).toBeGreaterThanOrEqual(38);
    expect(f2.requests).toHaveLength(0);
    expect(f2.countsByModel()).toEqual({ lat: 1 });
    await f2.close();
  });

  it('counts latency from the request’s arrival: a body that comes late does not add to it', async () => {
    const f3 = await startFakeOpenAI({ behavior: { latencyMs: 700 } });
    // Headers first, the body 600 ms later; answered 700 ms after arrival, not after the body.
    const slowUpload = (stream: boolean) =>
      new Promise<number>((resolve, reject) => {
        const b = body('late', { stream });
        const t0 = performance.now();
        const req = httpRequest(
          `${f3.url}/v1/chat/completions`,
          { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(b) } },
          (res) => {
            res.resume();
            res.on('end', () => resolve(performance.now() - t0));
          },
        );
        req.on('error', reject);
        req.flushHeaders();
        setTimeout(() => req.end(b), 600);
      });
    for (const stream of [false, true]) {
      const took = await slowUpload(stream);
      expect(took).toBeGreaterThanOrEqual(699); // never early (counted from before the request)
      // From arrival: about 700 ms; from the body's end it would be 1,300 ms or more. The bound
      // between leaves a loaded machine 550 ms of lateness.
      expect(took).toBeLessThan(1_250);
    }
    await f3.close();
  });
});

describe('fake Hugging Face over HTTP', () => {
  it('answers on the endpoint route, model routes, provider routes and the Hub mapping', async () => {
    const hf = await startFakeHuggingFace();
    const b = body('Qwen/Qwen2.5-7B-Instruct');
    expect(((await (await post(`${hf.url}/v1/chat/completions`, b)).json()) as Answer).model).toBe(
      'Qwen/Qwen2.5-7B-Instruct',
    );
    const viaRoute = await post(
      `${hf.url}/hf-inference/models/Qwen/Qwen2.5-7B-Instruct/v1/chat/completions`,
      JSON.stringify({ messages: [{ role: 'user', content: 'x' }] }),
    );
    expect(viaRoute.headers.get('x-inference-provider')).toBe('hf-inference');
    expect(((await viaRoute.json()) as Answer).model).toBe('Qwen/Qwen2.5-7B-Instruct');
    const viaProvider = await post(`${hf.url}/together/v1/chat/completions`, b);
    expect(viaProvider.headers.get('x-inference-provider')).toBe('together');
    const mapping = (await (
      await fetch(`${hf.url}/api/models/Qwen/Qwen2.5-7B-Instruct?expand[]=inferenceProviderMapping`)
    ).json()) as { inferenceProviderMapping: [unknown] };
    expect(mapping.inferenceProviderMapping[0]).toMatchObject({ provider: 'hf-inference', task: 'conversational' });
    hf.setBehavior({ fault: '503' });
    const e = await post(`${hf.url}/v1/chat/completions`, b);
    expect(e.status).toBe(503);
    expect(typeof ((await e.json()) as { error: unknown }).error).toBe('string');
    expect(hf.countsByModel()).toEqual({ 'Qwen/Qwen2.5-7B-Instruct': 4 });
    await hf.close();
  });
});

describe('CLI', () => {
  it('prints its url, serves chat completions and stats with recorded starts', async () => {
    const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
    const child = spawn(process.execPath, [cli, '--port', '0', '--latency', '5', '--record-starts'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let buf = '';
        child.stdout.on('data', (d) => {
          buf += d;
          if (buf.includes('\n')) resolve(buf.split('\n')[0]!);
        });
        child.on('error', reject);
      });
      const { url } = JSON.parse(line);
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      await post(`${url}/v1/chat/completions`, body('cli-m'));
      const stats = (await (await fetch(`${url}/__fake/stats`)).json()) as Stats;
      expect(stats.total).toBe(1);
      expect(stats.countsByModel).toEqual({ 'cli-m': 1 });
      expect(stats.starts).toHaveLength(1);
    } finally {
      child.kill('SIGTERM');
    }
  });
});

describe('demoPrompts', () => {
  it('is deterministic and varied', () => {
    const a = demoPrompts(200);
    expect(a).toEqual(demoPrompts(200));
    expect(new Set(a).size).toBe(200);
    expect(demoPrompts(5)).toEqual(a.slice(0, 5));
  });
});

describe('limit', () => {
  it('answers within its bucket with OpenAI-style x-ratelimit-* headers, beyond it 429 with Retry-After', async () => {
    const fake = await startFakeOpenAI({ limit: { requestsPerMinute: 120, burst: 2 } });
    try {
      const url = `${fake.url}/v1/chat/completions`;
      const first = await post(url, body('m'));
      expect(first.status).toBe(200);
      expect(first.headers.get('x-ratelimit-limit-requests')).toBe('120');
      expect(first.headers.get('x-ratelimit-remaining-requests')).toBe('1');
      expect(first.headers.get('x-ratelimit-reset-requests')).toMatch(/^\d+ms$/);
      expect((await post(url, body('m'))).status).toBe(200);
      const limited = await post(url, body('m'));
      expect(limited.status).toBe(429);
      // 2 a second: one request back within half a second.
      expect(Number(limited.headers.get('retry-after-ms'))).toBeGreaterThan(0);
      expect(Number(limited.headers.get('retry-after-ms'))).toBeLessThanOrEqual(500);
      expect(limited.headers.get('retry-after')).toBe('1');
      expect(((await limited.json()) as { error: { code: string } }).error.code).toBe('rate_limit_exceeded');
      const stats = (await (await fetch(`${fake.url}/__fake/stats`)).json()) as { byStatus: Record<string, number> };
      expect(stats.byStatus).toEqual({ '200': 2, '429': 1 });
    } finally {
      await fake.close();
    }
  });

  it('writes reset durations as OpenAI does', () => {
    expect(formatResetDuration(20)).toBe('20ms');
    expect(formatResetDuration(1500)).toBe('1.5s');
    expect(formatResetDuration(360_000)).toBe('6m0s');
  });
});
