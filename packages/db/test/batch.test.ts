// writeBatch is the engine's hot path: SQLite writes it with prepared statements on a connection of
// its own, PostgreSQL as multi-row SQL. Both must store what the ORM reads back.
import { afterEach, describe, expect, it } from 'vitest';
import { createDb, migrate, type WriteBatch } from '../src/index.js';
import { PROVIDERS_UNDER_TEST, tempDatabase } from '../src/testing.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

describe.each(PROVIDERS_UNDER_TEST)('writeBatch on %s', (provider) => {
  async function seeded() {
    const t = await tempDatabase(provider);
    cleanups.push(() => t.drop());
    await migrate(t.url);
    const db = await createDb(t.url);
    cleanups.push(() => db.close());
    const p = db.prisma;
    const mk = (name: string) =>
      p.model.create({ data: { name, provider: 'simulated', providerModel: name, params: {} } });
    const [a, b] = [await mk('sim-a'), await mk('sim-b')];
    const set = await p.promptSet.create({ data: { name: 'set', prompts: { create: [{ index: 0, input: 'hi' }] } } });
    const run = await p.run.create({ data: { promptSetId: set.id, concurrency: 1, totalItems: 1 } });
    await p.runModel.create({
      data: {
        runId: run.id,
        modelId: a.id,
        position: 0,
        name: a.name,
        provider: a.provider,
        providerModel: a.providerModel,
        params: {},
        modelRevision: a.revision,
      },
    });
    const item = await p.runItem.create({ data: { runId: run.id, modelId: a.id, promptIndex: 0, repeatIndex: 0 } });
    const conv = await p.conversation.create({ data: { runId: run.id, modelId: a.id } });
    return { db, p, a, b, run, item, conv };
  }

  const SCORE = {
    scorer: 'judge',
    status: 'fail',
    score: 0,
    reason: 'no',
    judgeTraceId: null,
    createdAt: new Date('2026-11-26T10:00:02.000Z'),
  };

  const empty = (): WriteBatch => ({
    traces: [],
    messages: [],
    items: [],
    scores: [],
    counters: new Map(),
    events: [],
  });

  function batchFor(s: Awaited<ReturnType<typeof seeded>>, modelId: string, n: number): WriteBatch {
    const started = new Date('2026-11-26T10:00:00.123Z');
    const ended = new Date('2026-11-26T10:00:01.456Z');
    const id = (k: string, i: number) => `0190${k}${String(i).padStart(4, '0')}-0000-7000-8000-000000000000`;
    return {
      traces: Array.from({ length: n }, (_, i) => ({
        id: id('aaaa', i),
        runId: s.run.id,
        modelId,
        itemId: i === 0 ? s.item.id : null,
        modelRevision: 1,
        provider: 'simulated',
        requestedModel: 'sim-a',
        responseModel: 'sim-a-2026',
        servedBy: null,
        attribution: 'alias',
        status: 'ok',
        attempt: 1,
        startedAt: started,
        firstTokenAt: null,
        endedAt: ended,
        latencyMs: 1333.5,
        ttftMs: null,
        inputTokens: 12,
        outputTokens: 34,
        cachedInputTokens: null,
        reasoningTokens: null,
        costUsd: 0.000123,
        costSource: 'computed',
        rawUsage: { prompt_tokens: 12 },
        input: [{ role: 'user', content: `héllo ${i}` }],
        output: `answer ${i}`,
      })),
      messages: [
        {
          id: id('bbbb', 0),
          conversationId: s.conv.id,
          role: 'assistant',
          content: 'answer 0',
          runId: s.run.id,
          modelId,
          provider: 'simulated',
          providerModel: 'sim-a',
          traceId: id('aaaa', 0),
          promptIndex: 0,
          repeatIndex: 0,
          createdAt: ended,
        },
      ],
      items: [
        {
          id: s.item.id,
          status: 'completed',
          attempts: 1,
          finalTraceId: id('aaaa', 0),
          startedAt: started,
          endedAt: ended,
        },
      ],
      scores: [],
      counters: new Map([
        [
          s.run.id,
          {
            completedItems: 1,
            failedItems: 0,
            cancelledItems: 0,
            retries: 2,
            inputTokens: 12,
            outputTokens: 34,
            costUsd: 0.000123,
          },
        ],
      ]),
      events: [
        {
          runId: s.run.id,
          type: 'item.completed',
          payload: { traceId: id('aaaa', 0), n: 1 },
          createdAt: ended,
        },
      ],
    };
  }

  it('ends a run in the batch: its pending items cancelled and counted by the database, its stretch and lease closed', async () => {
    const s = await seeded();
    const more = await Promise.all(
      [1, 2].map((i) =>
        s.p.runItem.create({ data: { runId: s.run.id, modelId: s.a.id, promptIndex: 0, repeatIndex: i } }),
      ),
    );
    const stretch = new Date('2026-11-26T09:59:00.000Z');
    await s.db.writeBatch({ ...empty(), runs: [{ runId: s.run.id, status: 'running', startStretchAt: stretch }] });
    await s.p.run.update({
      where: { id: s.run.id },
      data: { executorId: 'host:1:x', leaseUntil: new Date(), cancelRequestedAt: new Date(), cancelledItems: 1 },
    });
    const finishedAt = new Date('2026-11-26T10:00:05.000Z');
    const first = batchFor(s, s.a.id, 1); // completes s.item in the same batch
    await s.db.writeBatch({
      ...first,
      runs: [
        {
          runId: s.run.id,
          status: 'cancelled',
          error: null,
          finishedAt,
          endStretchMs: 1234.4,
          cancelPending: true,
          releaseLease: true,
        },
      ],
    });
    const run = await s.p.run.findUniqueOrThrow({ where: { id: s.run.id } });
    expect(run).toMatchObject({
      status: 'cancelled',
      completedItems: 1,
      cancelledItems: 3, // the one before, and the two still pending
      startedAt: stretch,
      stretchStartedAt: null,
      activeMs: 1234,
      finishedAt,
      executorId: null,
      leaseUntil: null,
      cancelRequestedAt: null,
    });
    const items = await s.p.runItem.findMany({ where: { runId: s.run.id }, orderBy: { repeatIndex: 'asc' } });
    expect(items.map((i) => i.status)).toEqual(['completed', 'cancelled', 'cancelled']);
    expect(more).toHaveLength(2);
    // startedAt is the first stretch's: a later one leaves it.
    await s.db.writeBatch({ ...empty(), runs: [{ runId: s.run.id, startStretchAt: finishedAt }] });
    expect(await s.p.run.findUniqueOrThrow({ where: { id: s.run.id } })).toMatchObject({
      startedAt: stretch,
      stretchStartedAt: finishedAt,
    });
  });

  it('stores every column so the ORM reads back what was written', async () => {
    const s = await seeded();
    const first = batchFor(s, s.a.id, 3);
    // A judge's call (model b, no run of its own) on trace 0, and the score it gave.
    const judged = first.traces[0]!;
    const judge = { ...judged, id: `${judged.id.slice(0, -1)}9`, runId: null, itemId: null, modelId: s.b.id };
    first.traces.push({ ...judge, judgedTraceId: judged.id, output: '{"pass":true,"reason":"ok"}' });
    first.scores.push(
      { ...SCORE, id: `${judged.id.slice(0, -1)}1`, runId: s.run.id, itemId: s.item.id, judgeTraceId: judge.id },
      { ...SCORE, id: `${judged.id.slice(0, -1)}2`, runId: s.run.id, itemId: s.item.id, scorer: 'contains:x' },
    );
    await s.db.writeBatch(first);
    await s.db.writeBatch({
      ...batchFor(s, s.a.id, 0),
      items: [],
      messages: [],
      events: [],
      counters: new Map([
        [
          s.run.id,
          {
            completedItems: 0,
            failedItems: 1,
            cancelledItems: 0,
            retries: 0,
            inputTokens: 1,
            outputTokens: 0,
            costUsd: 0.5,
          },
        ],
      ]),
    });
    const traces = await s.p.trace.findMany({ where: { runId: s.run.id }, orderBy: { id: 'asc' } });
    expect(traces).toHaveLength(3);
    expect(await s.p.trace.findFirstOrThrow({ where: { judgedTraceId: traces[0]!.id } })).toMatchObject({
      modelId: s.b.id,
      runId: null,
    });
    const scores = await s.p.score.findMany({ orderBy: { scorer: 'asc' } });
    expect(scores).toMatchObject([
      { scorer: 'contains:x', status: 'fail', score: 0, reason: 'no', judgeTraceId: null },
      { scorer: 'judge', status: 'fail', score: 0, reason: 'no', judgeTraceId: `${traces[0]!.id.slice(0, -1)}9` },
    ]);
    expect(scores[0]!.createdAt).toEqual(new Date('2026-11-26T10:00:02.000Z'));
    expect(traces[0]).toMatchObject({
      modelId: s.a.id,
      itemId: s.item.id,
      attribution: 'alias',
      responseModel: 'sim-a-2026',
      latencyMs: 1333.5,
      inputTokens: 12,
      costUsd: 0.000123,
      costSource: 'computed',
      rawUsage: { prompt_tokens: 12 },
      input: [{ role: 'user', content: 'héllo 0' }],
      output: 'answer 0',
      startedAt: new Date('2026-11-26T10:00:00.123Z'),
      firstTokenAt: null,
      ttftMs: null,
    });
    expect(await s.p.message.findFirstOrThrow()).toMatchObject({
      role: 'assistant',
      modelId: s.a.id,
      traceId: traces[0]!.id,
      createdAt: new Date('2026-11-26T10:00:01.456Z'),
    });
    expect(await s.p.runItem.findUniqueOrThrow({ where: { id: s.item.id } })).toMatchObject({
      status: 'completed',
      attempts: 1,
      finalTraceId: traces[0]!.id,
    });
    expect(await s.p.run.findUniqueOrThrow({ where: { id: s.run.id } })).toMatchObject({
      completedItems: 1,
      failedItems: 1,
      retries: 2,
      inputTokens: 13,
      outputTokens: 34,
      costUsd: 0.500123,
    });
    expect(await s.p.runEvent.findFirstOrThrow()).toMatchObject({ seq: 1, type: 'item.completed', payload: { n: 1 } });
  });

  it('writes nothing of a batch when one row breaks a rule (a trace under a model the run does not target)', async () => {
    const s = await seeded();
    const bad = batchFor(s, s.a.id, 2);
    bad.traces.push({ ...batchFor(s, s.b.id, 3).traces[2]! });
    await expect(s.db.writeBatch(bad)).rejects.toThrow(/foreign key/i);
    expect(await s.p.trace.count()).toBe(0);
    expect(await s.p.message.count()).toBe(0);
    expect(await s.p.runEvent.count()).toBe(0);
    expect(await s.p.runItem.findUniqueOrThrow({ where: { id: s.item.id } })).toMatchObject({ status: 'pending' });
    expect(await s.p.run.findUniqueOrThrow({ where: { id: s.run.id } })).toMatchObject({
      completedItems: 0,
      retries: 0,
    });
    // The connection is usable afterwards, for the ORM and for the next batch.
    await s.db.writeBatch(batchFor(s, s.a.id, 1));
    expect(await s.p.trace.count()).toBe(1);
  });

  it('waits for a Prisma transaction in progress instead of joining or breaking it', async () => {
    const s = await seeded();
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let wroteDuringTx = false;
    let opened!: () => void;
    const inside = new Promise<void>((r) => (opened = r));
    const tx = s.p.$transaction(async (t) => {
      await t.run.update({ where: { id: s.run.id }, data: { error: 'inside' } });
      opened();
      await held;
      throw new Error('roll the ORM transaction back');
    });
    await inside;
    const write = s.db.writeBatch(batchFor(s, s.a.id, 1)).then(() => (wroteDuringTx = true));
    await new Promise((r) => setTimeout(r, 50));
    const finishedBeforeRelease = wroteDuringTx;
    release();
    await expect(tx).rejects.toThrow(/roll the ORM transaction back/);
    await write;
    // SQLite has one connection: the batch waited for the lock. PostgreSQL wrote on its own.
    if (provider === 'sqlite') expect(finishedBeforeRelease).toBe(false);
    expect(await s.p.trace.count()).toBe(1);
    expect((await s.p.run.findUniqueOrThrow({ where: { id: s.run.id } })).error).toBeNull();
  });

  it('an ORM query outside a transaction neither sees its uncommitted rows nor rolls back with it', async () => {
    const s = await seeded();
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let opened!: () => void;
    const inside = new Promise<void>((r) => (opened = r));
    const tx = s.p.$transaction(async (t) => {
      await t.promptSet.create({ data: { id: 'in-tx', name: 'in-tx' } });
      opened();
      await held;
      throw new Error('roll the ORM transaction back');
    });
    await inside;
    // Single statements, which Prisma sends without a transaction of their own; sent now (a
    // Prisma query waits for its first then()).
    const send = <T>(q: PromiseLike<T>): Promise<T> => Promise.resolve(q);
    const read = send(s.p.promptSet.findUnique({ where: { id: 'in-tx' } }));
    const created = send(s.p.promptSet.create({ data: { id: 'outside', name: 'outside' } }));
    const updated = send(s.p.run.updateMany({ where: { id: s.run.id }, data: { error: 'outside' } }));
    await new Promise((r) => setTimeout(r, 50));
    release();
    await expect(tx).rejects.toThrow(/roll the ORM transaction back/);
    await Promise.all([created, updated]);
    expect(await read).toBeNull();
    expect(await s.p.promptSet.findUnique({ where: { id: 'outside' } })).not.toBeNull();
    expect((await s.p.run.findUniqueOrThrow({ where: { id: s.run.id } })).error).toBe('outside');
  });
});
