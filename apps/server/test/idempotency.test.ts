// Create mutations with a client-chosen requestId: the same id within 24 h returns what the first
// call created (also when the duplicates race), another input or procedure under the same id is
// a CONFLICT naming requestId, and a create that fails leaves no key behind.
import { randomUUID } from 'node:crypto';
import { PROVIDERS_UNDER_TEST } from '@batchlight/db/testing';
import { type FakeServer, startFakeOpenAI } from '@batchlight/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Client, collectEvents, fakeModel, promptSet, startTestServer, type TestServer } from './helpers.js';

type Failure = { data?: { code?: string; fieldErrors?: Record<string, string[]> }; message: string };
const failureOf = (p: Promise<unknown>) =>
  p.then(
    () => null,
    (e: Failure) => e,
  );

/** The four create mutations, each as (requestId, variant) => the id of what it returns. */
function creators(c: Client, ids: { promptSetId: string; modelId: string }) {
  const jsonl = (n: number) =>
    Array.from({ length: n }, (_, i) => JSON.stringify({ input: `imported ${i}` })).join('\n');
  return {
    'runs.create': (requestId: string, variant = 1) =>
      c.runs.create
        .mutate({ promptSetId: ids.promptSetId, modelIds: [ids.modelId], concurrency: variant, delayMs: 0, requestId })
        .then((r) => r.id),
    'promptSets.create': (requestId: string, variant = 1) =>
      c.promptSets.create
        .mutate({ name: `set ${variant}`, prompts: [{ input: 'hello' }], requestId })
        .then((r) => r.id),
    'promptSets.import': (requestId: string, variant = 1) =>
      c.promptSets.import
        .mutate({ name: 'imported', format: 'jsonl', content: jsonl(variant), requestId })
        .then((r) => r.id),
    'models.create': (requestId: string, variant = 1) =>
      c.models.create
        .mutate({ name: `model ${requestId} ${variant}`, provider: 'simulated', providerModel: 'sim', requestId })
        .then((r) => r.id),
  };
}

describe.each(PROVIDERS_UNDER_TEST)('idempotent creation on %s', (provider) => {
  let t: TestServer;
  let fake: FakeServer;
  let create: ReturnType<typeof creators>;
  let counts: () => Promise<Record<keyof ReturnType<typeof creators>, number>>;

  beforeAll(async () => {
    [t, fake] = await Promise.all([startTestServer(provider), startFakeOpenAI({ behavior: { latencyMs: 1 } })]);
    const model = await fakeModel(t.client, fake.url, 'idempotent-model');
    const set = await promptSet(t.client, 3);
    create = creators(t.client, { promptSetId: set.id, modelId: model.id });
    const prisma = t.server.engine.db.prisma;
    counts = async () => ({
      'runs.create': await prisma.run.count(),
      'promptSets.create': await prisma.promptSet.count({ where: { name: { startsWith: 'set ' } } }),
      'promptSets.import': await prisma.promptSet.count({ where: { name: 'imported' } }),
      'models.create': await prisma.model.count(),
    });
  });
  afterAll(async () => {
    await Promise.all([t?.close(), fake?.close()]);
  });

  it('returns the first result for a repeated requestId, and creates anew without one', async () => {
    for (const [procedure, make] of Object.entries(create)) {
      const before = (await counts())[procedure as keyof typeof create];
      const id = randomUUID();
      const first = await make(id);
      expect(await make(id), procedure).toBe(first);
      expect(await make(id), procedure).toBe(first);
      expect((await counts())[procedure as keyof typeof create], procedure).toBe(before + 1);
      if (procedure !== 'models.create') {
        // Without a requestId nothing changes: each call creates (a model needs a new name).
        const a = await make(undefined as unknown as string);
        const b = await make(undefined as unknown as string);
        expect(a, procedure).not.toBe(b);
      }
    }
  });

  it('creates once when the same request races itself (8 at a time)', async () => {
    for (const [procedure, make] of Object.entries(create)) {
      const before = (await counts())[procedure as keyof typeof create];
      const id = randomUUID();
      const got = await Promise.all(Array.from({ length: 8 }, () => make(id)));
      expect(new Set(got).size, procedure).toBe(1);
      expect((await counts())[procedure as keyof typeof create], procedure).toBe(before + 1);
      if (procedure === 'runs.create') {
        // The run is executed once: one call per prompt.
        await collectEvents(t.client, got[0]!);
        expect(await t.server.engine.db.prisma.trace.count({ where: { runId: got[0]! } })).toBe(3);
      }
    }
  });

  it('refuses the same requestId with other input or on another procedure, naming requestId', async () => {
    const id = randomUUID();
    await create['promptSets.create'](id, 1);
    const cases: Array<[string, Promise<unknown>]> = [
      ['other input', create['promptSets.create'](id, 2)],
      ['another procedure', create['promptSets.import'](id, 1)],
      ['another procedure', create['runs.create'](id, 1)],
    ];
    for (const [what, call] of cases) {
      const err = await failureOf(call);
      expect(err?.data?.code, what).toBe('CONFLICT');
      expect(Object.keys(err?.data?.fieldErrors ?? {}), what).toEqual(['requestId']);
      expect(err!.message, what).toMatch(/^requestId: /);
    }
  });

  it('keeps no key for a create that failed: the id is still free', async () => {
    const id = randomUUID();
    const before = await counts();
    const bad = await failureOf(
      t.client.promptSets.import.mutate({ name: 'imported', format: 'jsonl', content: '{"input": ', requestId: id }),
    );
    expect(bad?.data?.code).toBe('BAD_REQUEST');
    expect(await t.server.engine.db.prisma.idempotencyKey.findUnique({ where: { key: id } })).toBeNull();
    const made = await create['promptSets.import'](id, 1);
    expect(await create['promptSets.import'](id, 1)).toBe(made);
    expect((await counts())['promptSets.import']).toBe(before['promptSets.import'] + 1);
  });

  it('forgets a requestId after 24 h (expired keys are deleted as new ones come)', async () => {
    const prisma = t.server.engine.db.prisma;
    const id = randomUUID();
    const first = await create['promptSets.create'](id, 1);
    await prisma.idempotencyKey.update({
      where: { key: id },
      data: { createdAt: new Date(Date.now() - 24 * 3600_000 - 60_000) },
    });
    const second = await create['promptSets.create'](id, 1);
    expect(second).not.toBe(first);
    expect((await prisma.idempotencyKey.findUnique({ where: { key: id } }))?.resultId).toBe(second);
    expect(
      await prisma.idempotencyKey.count({ where: { createdAt: { lt: new Date(Date.now() - 24 * 3600_000) } } }),
    ).toBe(0);
  });

  it('checks requestId: 1 to 100 printable characters, no spaces', async () => {
    for (const bad of ['', 'x'.repeat(101), 'two words', 'tab\there', 'é']) {
      const err = await failureOf(create['promptSets.create'](bad, 1));
      expect(err?.data?.code, JSON.stringify(bad)).toBe('BAD_REQUEST');
      expect(Object.keys(err?.data?.fieldErrors ?? {}), JSON.stringify(bad)).toEqual(['requestId']);
    }
    expect(await create['promptSets.create']('x'.repeat(100), 1)).toBeTruthy();
  });
});
