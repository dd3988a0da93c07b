// The API's error contract under malformed and hostile input, on both databases: unknown ids are
// 404 naming the field, a finished run's cancel and a completed run's resume are 409 naming `id`,
// NUL and lone surrogates anywhere in an input are 400 naming the field with nothing written
// (PostgreSQL refused them mid-insert with a 500 and SQLite stored them), deep and self-referring
// payloads are 400, and a 500 says nothing but an id that the server log explains.

import { MAX_INPUT_DEPTH } from '@batchlight/api';
import { PROVIDERS_UNDER_TEST } from '@batchlight/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectEvents, failure, promptSet, startTestServer, type TestServer } from './helpers.js';

describe.each(PROVIDERS_UNDER_TEST)('the error contract on %s', (provider) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(provider);
  });
  afterAll(async () => {
    await t?.close();
  });

  /** POSTs a raw body to a procedure; returns status and the parsed error. */
  async function post(path: string, body: string | undefined) {
    const res = await fetch(`${t.server.url}/trpc/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    const json = (await res.json()) as {
      error?: { json: { message: string; data: { code: string; fieldErrors: Record<string, string[]> | null } } };
    };
    return { status: res.status, error: json.error?.json };
  }
  const counts = async () => {
    const p = t.server.engine.db.prisma;
    return [await p.promptSet.count(), await p.prompt.count(), await p.model.count(), await p.run.count()];
  };

  it('answers an unknown id with 404 NOT_FOUND naming the field, everywhere', async () => {
    const c = t.client;
    const nope = 'no-such-id';
    const calls: Array<[string, () => Promise<unknown>, string]> = [
      ['models.get', () => c.models.get.query({ id: nope }), 'id'],
      ['models.update', () => c.models.update.mutate({ id: nope, name: 'x' }), 'id'],
      ['models.archive', () => c.models.archive.mutate({ id: nope }), 'id'],
      ['models.test', () => c.models.test.mutate({ id: nope }), 'id'],
      ['promptSets.get', () => c.promptSets.get.query({ id: nope }), 'id'],
      ['runs.get', () => c.runs.get.query({ id: nope }), 'id'],
      ['runs.cancel', () => c.runs.cancel.mutate({ id: nope }), 'id'],
      ['runs.resume', () => c.runs.resume.mutate({ id: nope }), 'id'],
      ['runs.items', () => c.runs.items.query({ runId: nope }), 'runId'],
      ['runs.audit', () => c.runs.audit.query({ runId: nope }), 'runId'],
      ['runs.compare', () => c.runs.compare.query({ runIds: [nope] }), 'runIds'],
      ['traces.get', () => c.traces.get.query({ id: nope }), 'id'],
    ];
    for (const [what, call, field] of calls) {
      const err = await failure(call());
      expect([err.code, err.httpStatus, Object.keys(err.fieldErrors)], what).toEqual(['NOT_FOUND', 404, [field]]);
      expect(err.message, what).toMatch(new RegExp(`^${field}: .*not found`));
    }
    const events = await failure(collectEvents(c, nope));
    expect([events.code, Object.keys(events.fieldErrors)]).toEqual(['NOT_FOUND', ['runId']]);
  });

  it('says a finished run is finished: cancel and resume are 409 naming id', async () => {
    const c = t.client;
    const set = await promptSet(c, 2);
    const fast = (await c.models.list.query()).find((m) => m.name === 'Simulated Fast')!;
    await c.models.update.mutate({ id: fast.id, params: { simulation: { latencyMs: 1 } } });
    const run = await c.runs.create.mutate({ promptSetId: set.id, modelIds: [fast.id], concurrency: 2, delayMs: 0 });
    await collectEvents(c, run.id);
    expect((await c.runs.get.query({ id: run.id })).status).toBe('completed');
    const cancel = await failure(c.runs.cancel.mutate({ id: run.id }));
    expect([cancel.code, cancel.httpStatus, Object.keys(cancel.fieldErrors)]).toEqual(['CONFLICT', 409, ['id']]);
    expect(cancel.message).toMatch(/^id: the run is already completed/);
    const resume = await failure(c.runs.resume.mutate({ id: run.id }));
    expect([resume.code, Object.keys(resume.fieldErrors)]).toEqual(['CONFLICT', ['id']]);
    expect((await c.runs.get.query({ id: run.id })).status).toBe('completed');
  });

  it('keeps what an update leaves out: a rename keeps the params and the prices', async () => {
    const c = t.client;
    const made = await c.models.create.mutate({
      name: `keeps-${provider}`,
      provider: 'simulated',
      providerModel: 'sim',
      params: { temperature: 0.5, simulation: { latencyMs: 3 } },
      pricing: { inputPerMTok: 1, outputPerMTok: 2, cachedInputPerMTok: 0.5 },
    });
    await c.models.update.mutate({ id: made.id, name: `kept-${provider}` });
    const after = await c.models.get.query({ id: made.id });
    expect(after.name).toBe(`kept-${provider}`);
    expect(after.params).toEqual(made.params);
    expect(after.pricing).toEqual(made.pricing);
    expect(after.params).toMatchObject({ temperature: 0.5, simulation: { latencyMs: 3 } });
  });

  it('names the input, not "_", when the body is empty or not an object', async () => {
    for (const body of [undefined, '{"json":null}', '{"json":"text"}']) {
      const r = await post('models.create', body);
      expect([r.status, r.error?.data.code], String(body)).toEqual([400, 'BAD_REQUEST']);
      expect(Object.keys(r.error!.data.fieldErrors!), String(body)).toEqual(['input']);
      expect(r.error!.message).toMatch(/^input: /);
    }
  });

  it('refuses NUL and lone surrogates in any string with a 400 naming the field, writing nothing', async () => {
    const c = t.client;
    const before = await counts();
    const cases: Array<[string, () => Promise<unknown>, string]> = [
      ['a name with NUL', () => c.promptSets.create.mutate({ name: 'bad\0name', prompts: [{ input: 'x' }] }), 'name'],
      [
        'a prompt with a lone high surrogate',
        () => c.promptSets.create.mutate({ name: 'ok', prompts: [{ input: 'ok' }, { input: 'half \uD800 a pair' }] }),
        'prompts.1.input',
      ],
      [
        'a lone low surrogate in chat content',
        () => c.promptSets.create.mutate({ name: 'ok', prompts: [{ input: [{ role: 'user', content: '\uDC00' }] }] }),
        'prompts.0.input.0.content',
      ],
      [
        'NUL in a metadata value',
        () => c.promptSets.create.mutate({ name: 'ok', prompts: [{ input: 'ok', metadata: { tag: 'a\0b' } }] }),
        'prompts.0.metadata.tag',
      ],
      [
        'NUL in a metadata key',
        () => c.promptSets.create.mutate({ name: 'ok', prompts: [{ input: 'ok', metadata: { 'k\0': 1 } }] }),
        'prompts.0.metadata',
      ],
      [
        'NUL in an imported file',
        () => c.promptSets.import.mutate({ name: 'ok', format: 'jsonl', content: '{"input":"a\\u0000b"}' }),
        'content',
      ],
      [
        'NUL in a model name',
        () => c.models.create.mutate({ name: 'm\0', provider: 'simulated', providerModel: 'x' }),
        'name',
      ],
      [
        'a lone surrogate in a run name',
        () => c.runs.create.mutate({ promptSetId: 'x', modelIds: ['y'], concurrency: 1, delayMs: 0, name: '\uD83D' }),
        'name',
      ],
    ];
    for (const [what, call, field] of cases) {
      const err = await failure(call());
      expect([err.code, Object.keys(err.fieldErrors)], what).toEqual(['BAD_REQUEST', [field]]);
    }
    expect(await counts()).toEqual(before);
    // Batched with a good call (one HTTP request), only the bad call fails.
    const [good, bad] = await Promise.all([
      c.models.create.mutate({ name: `batched-${provider}`, provider: 'simulated', providerModel: 'x' }),
      failure(c.promptSets.create.mutate({ name: 'bad\0', prompts: [{ input: 'x' }] })),
    ]);
    expect([good.name, Object.keys(bad.fieldErrors)]).toEqual([`batched-${provider}`, ['name']]);
    // A whole pair is fine.
    expect(
      (await c.promptSets.create.mutate({ name: 'emoji \uD83D\uDE00', prompts: [{ input: 'smile \uD83D\uDE00' }] }))
        .name,
    ).toBe('emoji \uD83D\uDE00');
  });

  it('answers deep, self-referring and exploding superjson payloads with a 400, writing nothing', async () => {
    const before = await counts();
    const deep = '['.repeat(20_000) + ']'.repeat(20_000);
    const cases: Array<[string, string, string]> = [
      [
        '20k-deep metadata',
        `{"json":{"name":"deep","prompts":[{"input":"a","metadata":{"x":${deep}}}]}}`,
        'prompts.0.metadata.x',
      ],
      ['20k-deep input', `{"json":${deep}}`, 'input'],
      [
        'a cycle',
        JSON.stringify({
          json: { name: 'cyclic', prompts: [{ input: 'a', metadata: { self: null } }] },
          meta: { referentialEqualities: { 'prompts.0.metadata': ['prompts.0.metadata.self'] } },
        }),
        'prompts.0.metadata.self',
      ],
      [
        'a shared value repeated into billions',
        JSON.stringify({
          json: {
            name: 'bomb',
            prompts: [
              {
                input: 'a',
                metadata: Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`l${i}`, [null, null]])),
              },
            ],
          },
          meta: {
            referentialEqualities: Object.fromEntries(
              Array.from({ length: 39 }, (_, i) => [
                `prompts.0.metadata.l${i + 1}`,
                [`prompts.0.metadata.l${i}.0`, `prompts.0.metadata.l${i}.1`],
              ]),
            ),
          },
        }),
        'input',
      ],
      [
        'not superjson at all',
        '{"json":{"name":"x","prompts":[]},"meta":{"values":{"name":[["custom","nope"]]}}}',
        'input',
      ],
    ];
    for (const [what, body, field] of cases) {
      const r = await post('promptSets.create', body);
      expect([r.status, r.error?.data.code], what).toEqual([400, 'BAD_REQUEST']);
      expect(Object.keys(r.error!.data.fieldErrors ?? {}), what).toEqual([field]);
      expect(r.error!.message, what).not.toMatch(/Maximum call stack|circular|superjson\b.*at /i);
    }
    expect(MAX_INPUT_DEPTH).toBeLessThan(100);
    expect(await counts()).toEqual(before);
    expect((await fetch(`${t.server.url}/trpc/health`)).status).toBe(200);
  });

  it('answers an internal failure with a generic message and an id the log explains', async () => {
    const prisma = t.server.engine.db.prisma;
    await prisma.$executeRawUnsafe('ALTER TABLE "PromptSet" RENAME TO "PromptSetAway"');
    try {
      const err = await failure(t.client.promptSets.list.query());
      expect([err.code, err.httpStatus]).toEqual(['INTERNAL_SERVER_ERROR', 500]);
      const id = /^internal error \(id ([0-9a-f-]{36})\); the server log has the details$/.exec(err.message)?.[1];
      expect(id, err.message).toBeDefined();
      const line = t.logs.find((l) => l.includes(id!));
      expect(line).toMatch(/promptSets\.list/);
      expect(line).toMatch(/PromptSet/); // the detail is in the log, not the answer
    } finally {
      await prisma.$executeRawUnsafe('ALTER TABLE "PromptSetAway" RENAME TO "PromptSet"');
    }
  });
});
