// Reports over rows built directly with Prisma (no engine, no provider): the data is known
// exactly, so audit findings, aggregates, percentiles and export rows can be asserted exactly.

import { createDb, type Db, type Model, migrate, type Prisma, type PrismaClient } from '@batchlight/db';
import { PROVIDERS_UNDER_TEST, type TempDatabase, tempDatabase } from '@batchlight/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { monotonicUuidv7 } from '../src/ids.js';
import {
  auditRun,
  compareRuns,
  csvRecords,
  EngineInputError,
  EXPORT_COLUMNS,
  exportRun,
  NotFoundError,
  percentile,
  type RunStatus,
} from '../src/index.js';

const nextId = monotonicUuidv7();

interface Call {
  responseModel?: string | null;
  latencyMs?: number;
  ttftMs?: number;
  inputTokens?: number;
  outputTokens?: number;
  costUsd?: number;
  output?: string;
  error?: { type: string; message: string; httpStatus?: number };
}
interface ItemSpec {
  modelId: string;
  promptIndex: number;
  repeatIndex?: number;
  /** One per attempt; the last one is the item's final trace. */
  calls: Call[];
}
interface BuiltItem {
  id: string;
  modelId: string;
  promptIndex: number;
  traceIds: string[];
  messageId: string | null;
}

/** The rows of a CSV text (the import's reader: one CSV parser in the repository). */
function parseCsv(text: string): string[][] {
  const records = csvRecords(text);
  if (!Array.isArray(records)) throw new Error(`line ${records.line}: ${records.message}`);
  return records.map((r) => r.fields);
}

async function collect(gen: AsyncGenerator<string>): Promise<string[]> {
  const chunks: string[] = [];
  for await (const c of gen) chunks.push(c);
  return chunks;
}

async function inBatches<T>(rows: T[], write: (batch: T[]) => Promise<unknown>) {
  for (let i = 0; i < rows.length; i += 500) await write(rows.slice(i, i + 500));
}

/**
 * A run as the engine would leave it: snapshots (credentials included, as the engine copies
 * them), items, one trace per attempt, the final trace linked, and one assistant message per
 * successful final call, attributed from the snapshot.
 */
async function buildRun(
  prisma: PrismaClient,
  opts: {
    promptSetId: string;
    models: Model[];
    items: ItemSpec[];
    name?: string;
    repeats?: number;
    status?: RunStatus;
  },
): Promise<{ runId: string; items: BuiltItem[] }> {
  const run = await prisma.run.create({
    data: {
      name: opts.name ?? null,
      promptSetId: opts.promptSetId,
      concurrency: 4,
      repeats: opts.repeats ?? 1,
      status: opts.status ?? 'completed',
      totalItems: opts.items.length,
    },
  });
  await prisma.runModel.createMany({
    data: opts.models.map((m, position) => ({
      runId: run.id,
      modelId: m.id,
      position,
      name: m.name,
      provider: m.provider,
      providerModel: m.providerModel,
      credentialEnv: m.credentialEnv,
      credentialCipher: m.credentialCipher,
      params: m.params as Prisma.InputJsonValue,
      inputPricePerMTok: m.inputPricePerMTok,
      outputPricePerMTok: m.outputPricePerMTok,
      modelRevision: m.revision,
    })),
  });
  const byId = new Map(opts.models.map((m) => [m.id, m]));
  const conversations = new Map<string, string>();
  for (const m of opts.models)
    conversations.set(
      m.id,
      (await prisma.conversation.create({ data: { runId: run.id, modelId: m.id, title: m.name } })).id,
    );

  const items: Prisma.RunItemCreateManyInput[] = [];
  const traces: Prisma.TraceCreateManyInput[] = [];
  const messages: Prisma.MessageCreateManyInput[] = [];
  const built: BuiltItem[] = [];
  const t0 = Date.UTC(2026, 0, 1);
  for (const spec of opts.items) {
    const m = byId.get(spec.modelId)!;
    const final = spec.calls[spec.calls.length - 1]!;
    const itemId = nextId();
    items.push({
      id: itemId,
      runId: run.id,
      modelId: m.id,
      promptIndex: spec.promptIndex,
      repeatIndex: spec.repeatIndex ?? 0,
      status: final.error ? 'failed' : 'completed',
      attempts: spec.calls.length,
    });
    const traceIds = spec.calls.map((call, i) => {
      const id = nextId();
      const startedAt = new Date(t0 + traces.length * 1000);
      const ok = !call.error;
      const responseModel = ok ? (call.responseModel === undefined ? m.providerModel : call.responseModel) : null;
      traces.push({
        id,
        runId: run.id,
        modelId: m.id,
        itemId,
        modelRevision: m.revision,
        provider: m.provider,
        requestedModel: m.providerModel,
        responseModel,
        attribution: ok ? attributionFor(m.providerModel, responseModel) : 'unknown',
        status: ok ? 'ok' : 'error',
        attempt: i + 1,
        errorType: call.error?.type ?? null,
        errorMessage: call.error?.message ?? null,
        httpStatus: call.error?.httpStatus ?? null,
        startedAt,
        endedAt: new Date(startedAt.getTime() + (call.latencyMs ?? 0)),
        latencyMs: call.latencyMs ?? null,
        ttftMs: call.ttftMs ?? null,
        inputTokens: ok ? (call.inputTokens ?? 10) : null,
        outputTokens: ok ? (call.outputTokens ?? 20) : null,
        cachedInputTokens: ok ? 0 : null,
        reasoningTokens: ok ? 0 : null,
        costUsd: ok ? (call.costUsd ?? 0.001) : null,
        costSource: ok ? 'pricing' : 'unknown',
        input: [{ role: 'user', content: `prompt ${spec.promptIndex}` }],
        output: ok ? (call.output ?? `answer ${spec.promptIndex} from ${m.name}`) : null,
      });
      return id;
    });
    let messageId: string | null = null;
    if (!final.error) {
      messageId = nextId();
      messages.push({
        id: messageId,
        conversationId: conversations.get(m.id)!,
        role: 'assistant',
        content: traces[traces.length - 1]!.output!,
        runId: run.id,
        modelId: m.id,
        provider: m.provider,
        providerModel: m.providerModel,
        traceId: traceIds[traceIds.length - 1]!,
        promptIndex: spec.promptIndex,
        repeatIndex: spec.repeatIndex ?? 0,
      });
    }
    built.push({ id: itemId, modelId: m.id, promptIndex: spec.promptIndex, traceIds, messageId });
  }
  await inBatches(items, (data) => prisma.runItem.createMany({ data }));
  await inBatches(traces, (data) => prisma.trace.createMany({ data }));
  await inBatches(messages, (data) => prisma.message.createMany({ data }));
  await prisma.$executeRaw`UPDATE "RunItem" SET "finalTraceId" = (SELECT t."id" FROM "Trace" t WHERE t."itemId" = "RunItem"."id" ORDER BY t."attempt" DESC LIMIT 1) WHERE "runId" = ${run.id}`;
  return { runId: run.id, items: built };
}

/** What the engine would have recorded; the audit recomputes it independently with attributionOf. */
function attributionFor(requested: string, response: string | null): string {
  if (!response) return 'unknown';
  if (response === requested) return 'match';
  if (response.startsWith(`${requested}-20`)) return 'alias';
  return 'mismatch';
}

describe('percentile (nearest rank)', () => {
  it('picks the value at rank ceil(p/100 * n)', () => {
    expect(percentile([100, 200, 300, 400], 50)).toBe(200);
    expect(percentile([100, 200, 300, 400], 95)).toBe(400);
    expect(percentile([50, 150, 250], 50)).toBe(150);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20], 95)).toBe(19);
    expect(percentile([1, 2], 0)).toBe(1);
    expect(percentile([1, 2], 100)).toBe(2);
    expect(percentile([], 50)).toBeNull();
  });
});

describe.each(PROVIDERS_UNDER_TEST)('reports over fixture rows on %s', (provider) => {
  let t: TempDatabase;
  let db: Db;
  let prisma: PrismaClient;
  let gpt: Model;
  let qwen: Model;
  let setId: string;
  let otherSetId: string;
  let main: { runId: string; items: BuiltItem[] };
  const QWEN = 'Qwen/Qwen2.5-7B-Instruct';
  const LLAMA = 'meta-llama/Llama-3.1-8B-Instruct';
  const PROMPTS: Prisma.InputJsonValue[] = [
    '=HYPERLINK("http://evil.example","click")',
    'a, b "c"\nsecond line',
    [
      { role: 'system', content: 'be brief' },
      { role: 'user', content: 'chat prompt' },
    ],
    '+1 to that',
  ];

  beforeAll(async () => {
    t = await tempDatabase(provider);
    await migrate(t.url);
    db = await createDb(t.url);
    prisma = db.prisma;
    gpt = await prisma.model.create({
      data: {
        name: 'GPT-5 Mini',
        provider: 'openai',
        providerModel: 'gpt-5-mini',
        params: {},
        revision: 3,
        credentialEnv: 'OPENAI_API_KEY',
        credentialCipher: 'CIPHERTEXT-SHOULD-NEVER-LEAK',
        credentialHint: '$OPENAI_API_KEY',
        inputPricePerMTok: 0.25,
        outputPricePerMTok: 2,
      },
    });
    qwen = await prisma.model.create({
      data: {
        name: 'Qwen 2.5 7B',
        provider: 'huggingface',
        providerModel: QWEN,
        params: {},
        credentialEnv: 'HF_TOKEN',
      },
    });
    setId = (
      await prisma.promptSet.create({
        data: {
          name: 'fixture',
          promptCount: 4,
          prompts: {
            create: PROMPTS.map((input, index) => ({
              index,
              input,
              expected: index === 3 ? '-negative' : index === 1 ? 'x,"y"' : null,
            })),
          },
        },
      })
    ).id;
    otherSetId = (
      await prisma.promptSet.create({
        data: { name: 'other', promptCount: 1, prompts: { create: [{ index: 0, input: 'x' }] } },
      })
    ).id;

    // GPT-5 Mini answers under a dated alias every time; Qwen's provider answers prompt 2 with
    // Llama (the mismatch) and fails prompt 3 after a retry.
    const gptLat = [100, 200, 300, 400];
    main = await buildRun(prisma, {
      promptSetId: setId,
      models: [gpt, qwen],
      name: 'main',
      items: [
        ...gptLat.map((latencyMs, promptIndex) => ({
          modelId: gpt.id,
          promptIndex,
          calls: [
            {
              responseModel: 'gpt-5-mini-2025-08-07',
              latencyMs,
              ttftMs: latencyMs / 10,
              output: promptIndex === 0 ? '@SUM(A1), "ok"\r\nnext' : undefined,
            },
          ],
        })),
        { modelId: qwen.id, promptIndex: 0, calls: [{ latencyMs: 50, ttftMs: 5 }] },
        { modelId: qwen.id, promptIndex: 1, calls: [{ latencyMs: 150, ttftMs: 15 }] },
        { modelId: qwen.id, promptIndex: 2, calls: [{ responseModel: LLAMA, latencyMs: 250, ttftMs: 25 }] },
        {
          modelId: qwen.id,
          promptIndex: 3,
          calls: [
            { error: { type: 'rate_limited', message: 'slow down', httpStatus: 429 }, latencyMs: 7 },
            { error: { type: 'server_error', message: 'upstream, "bad" gateway', httpStatus: 502 }, latencyMs: 9 },
          ],
        },
      ],
    });
  });
  afterAll(async () => {
    await db?.close();
    await t?.drop();
  });

  describe('auditRun', () => {
    it('finds exactly the provider that answered with another model, and counts the alias', async () => {
      const report = await auditRun(prisma, main.runId);
      const mismatchTrace = main.items.find((i) => i.modelId === qwen.id && i.promptIndex === 2)!.traceIds[0]!;
      expect(report).toMatchObject({
        runId: main.runId,
        ok: false,
        tracesChecked: 9,
        messagesChecked: 7,
        findingsTotal: 1,
      });
      expect(report).toMatchObject({ runStatus: 'completed', tracesAnswered: 7, verdict: 'findings' });
      expect(report.counts).toEqual({ match: 2, alias: 4, mismatch: 1, unknown: 0 });
      expect(report.findings).toEqual([
        {
          kind: 'provider_reported_other_model',
          traceId: mismatchTrace,
          modelId: qwen.id,
          modelName: 'Qwen 2.5 7B',
          expected: QWEN,
          actual: LLAMA,
        },
      ]);
    });

    it('reports an assistant message whose model differs from its trace’s snapshot', async () => {
      const item = main.items.find((i) => i.modelId === gpt.id && i.promptIndex === 1)!;
      // The incident: a GPT-5 Mini message recorded under the Qwen provider model.
      await prisma.message.update({ where: { id: item.messageId! }, data: { providerModel: QWEN } });
      try {
        const report = await auditRun(prisma, main.runId);
        expect(report.findingsTotal).toBe(2);
        expect(report.findings.find((f) => f.kind === 'message_model_differs')).toEqual({
          kind: 'message_model_differs',
          traceId: item.traceIds[0],
          messageId: item.messageId,
          modelId: gpt.id,
          modelName: 'GPT-5 Mini',
          expected: 'openai:gpt-5-mini',
          actual: `openai:${QWEN}`,
        });
      } finally {
        await prisma.message.update({ where: { id: item.messageId! }, data: { providerModel: 'gpt-5-mini' } });
      }
    });

    it('reports traces that disagree with their snapshot, their item or their own attribution, and messages without a trace', async () => {
      const run = await buildRun(prisma, {
        promptSetId: setId,
        models: [gpt, qwen],
        items: [
          { modelId: gpt.id, promptIndex: 0, calls: [{}] },
          { modelId: gpt.id, promptIndex: 1, calls: [{}] },
          { modelId: qwen.id, promptIndex: 0, calls: [{}] },
          { modelId: qwen.id, promptIndex: 1, calls: [{ error: { type: 'timeout', message: 't' } }] },
        ],
      });
      const [g0, g1, q0, q1] = run.items as [BuiltItem, BuiltItem, BuiltItem, BuiltItem];
      await prisma.trace.update({
        where: { id: g0.traceIds[0]! },
        data: { requestedModel: QWEN, provider: 'huggingface', modelRevision: 1 },
      });
      await prisma.trace.update({ where: { id: g1.traceIds[0]! }, data: { attribution: 'mismatch' } });
      await prisma.trace.update({ where: { id: q1.traceIds[0]! }, data: { attribution: 'match' } });
      // A Qwen trace pointing at a GPT item.
      await prisma.trace.update({ where: { id: q0.traceIds[0]! }, data: { itemId: g1.id } });
      const conv = await prisma.conversation.findFirstOrThrow({ where: { runId: run.runId, modelId: gpt.id } });
      const orphan = await prisma.message.create({
        data: {
          conversationId: conv.id,
          role: 'assistant',
          content: 'hi',
          runId: run.runId,
          modelId: gpt.id,
          provider: 'openai',
          providerModel: 'gpt-5-mini',
        },
      });
      await prisma.message.create({
        data: { conversationId: conv.id, role: 'user', content: 'not audited', runId: run.runId },
      });

      const report = await auditRun(prisma, run.runId);
      const kinds = report.findings.map((f) => [f.kind, f.traceId, f.expected, f.actual]);
      expect(kinds).toEqual(
        expect.arrayContaining([
          ['provider_differs', g0.traceIds[0], 'openai', 'huggingface'],
          ['requested_model_differs', g0.traceIds[0], 'gpt-5-mini', QWEN],
          ['revision_differs', g0.traceIds[0], '3', '1'],
          ['attribution_recomputed_differs', g1.traceIds[0], 'match', 'mismatch'],
          ['attribution_recomputed_differs', q1.traceIds[0], 'unknown', 'match'],
          ['item_model_differs', q0.traceIds[0], qwen.id, gpt.id],
          ['message_without_trace', null, 'a trace', 'none'],
        ]),
      );
      expect(report.findings.find((f) => f.kind === 'message_without_trace')!.messageId).toBe(orphan.id);
      expect(report.messagesChecked).toBe(4);
      expect(report.ok).toBe(false);
    });

    it('says ok only when answers were checked and nothing was found', async () => {
      const run = await buildRun(prisma, {
        promptSetId: setId,
        models: [gpt],
        items: [{ modelId: gpt.id, promptIndex: 0, calls: [{ error: { type: 'timeout', message: 't' } }, {}] }],
      });
      expect(await auditRun(prisma, run.runId)).toMatchObject({
        ok: true,
        runStatus: 'completed',
        tracesChecked: 2,
        tracesAnswered: 1,
        verdict: 'ok',
      });
    });

    it('says there was nothing to check when no call answered (a run whose every call failed)', async () => {
      const failing = { error: { type: 'connection', message: 'ECONNREFUSED' } };
      const run = await buildRun(prisma, {
        promptSetId: setId,
        models: [gpt, qwen],
        status: 'failed',
        items: [
          { modelId: gpt.id, promptIndex: 0, calls: [failing, failing] },
          { modelId: qwen.id, promptIndex: 0, calls: [failing] },
        ],
      });
      const report = await auditRun(prisma, run.runId);
      expect(report).toMatchObject({
        runStatus: 'failed',
        tracesChecked: 3,
        tracesAnswered: 0,
        messagesChecked: 0,
        findingsTotal: 0,
        verdict: 'nothing_to_check',
      });
      expect(report.counts).toEqual({ match: 0, alias: 0, mismatch: 0, unknown: 0 });
    });

    it('says a run that is still going is still running, whatever has been recorded so far', async () => {
      for (const status of ['queued', 'running'] as const) {
        const run = await buildRun(prisma, {
          promptSetId: setId,
          models: [gpt],
          status,
          items: [{ modelId: gpt.id, promptIndex: 0, calls: [{ responseModel: 'gpt-5-mini' }] }],
        });
        expect(await auditRun(prisma, run.runId), status).toMatchObject({
          ok: true,
          runStatus: status,
          tracesAnswered: 1,
          verdict: 'still_running',
        });
      }
    });

    it('rejects an unknown run', async () => {
      await expect(auditRun(prisma, 'no-such-run')).rejects.toBeInstanceOf(NotFoundError);
    });
  });

  describe('compareRuns', () => {
    it('aggregates every item per (run, model) and lines prompts up with deltas to the first column', async () => {
      const second = await buildRun(prisma, {
        promptSetId: setId,
        models: [gpt],
        name: 'second',
        repeats: 2,
        items: [0, 1, 2, 3].flatMap((promptIndex) =>
          [0, 1].map((repeatIndex) => ({
            modelId: gpt.id,
            promptIndex,
            repeatIndex,
            calls: [{ latencyMs: 1000 + promptIndex + repeatIndex * 100, ttftMs: 1, costUsd: 0.01 }],
          })),
        ),
      });
      const report = await compareRuns(prisma, [main.runId, second.runId], { limit: 3 });
      const [ga, qa, gb] = [`${main.runId}:${gpt.id}`, `${main.runId}:${qwen.id}`, `${second.runId}:${gpt.id}`];
      expect(report.columns).toEqual([
        {
          key: ga,
          runId: main.runId,
          runName: 'main',
          modelId: gpt.id,
          modelName: 'GPT-5 Mini',
          provider: 'openai',
          providerModel: 'gpt-5-mini',
        },
        {
          key: qa,
          runId: main.runId,
          runName: 'main',
          modelId: qwen.id,
          modelName: 'Qwen 2.5 7B',
          provider: 'huggingface',
          providerModel: QWEN,
        },
        {
          key: gb,
          runId: second.runId,
          runName: 'second',
          modelId: gpt.id,
          modelName: 'GPT-5 Mini',
          provider: 'openai',
          providerModel: 'gpt-5-mini',
        },
      ]);
      expect(JSON.stringify(report)).not.toMatch(/CIPHERTEXT|OPENAI_API_KEY|HF_TOKEN/);
      expect(report.repeats).toBe(2);
      expect(report.aggregates[ga]).toMatchObject({
        items: 4,
        completed: 4,
        failed: 0,
        successRate: 1,
        latencyP50: 200,
        latencyP95: 400,
        ttftP50: 20,
        ttftP95: 40,
        inputTokens: 40,
        outputTokens: 80,
      });
      expect(report.aggregates[ga]!.costUsd).toBeCloseTo(0.004, 12);
      expect(report.aggregates[qa]).toMatchObject({
        items: 4,
        completed: 3,
        failed: 1,
        successRate: 0.75,
        latencyP50: 150,
        latencyP95: 250,
        ttftP50: 15,
        ttftP95: 25,
        inputTokens: 30,
        outputTokens: 60,
      });
      // All 8 items (both repeats), though rows show repeat 0 only.
      expect(report.aggregates[gb]).toMatchObject({ items: 8, completed: 8, latencyP50: 1003, latencyP95: 1103 });
      expect(report.aggregates[gb]!.costUsd).toBeCloseTo(0.08, 12);

      expect(report.rows.map((r) => r.promptIndex)).toEqual([0, 1, 2]);
      expect(report.nextCursor).toBe(3);
      const [r0, r1, r2] = report.rows as [(typeof report.rows)[0], (typeof report.rows)[0], (typeof report.rows)[0]];
      expect(r0.prompt).toBe(PROMPTS[0]);
      expect(r1.expected).toBe('x,"y"');
      expect(r2.prompt).toBe('[system] be brief\nchat prompt');
      expect(r2.cells[qa]).toMatchObject({
        status: 'completed',
        attribution: 'mismatch',
        responseModel: LLAMA,
        latencyMs: 250,
        traceId: main.items[6]!.traceIds[0],
      });
      expect(r0.cells[gb]).toMatchObject({ latencyMs: 1000, costUsd: 0.01 });
      expect(Object.keys(r0.deltas).sort()).toEqual([gb, qa].sort());
      expect(r0.deltas[qa]!.latencyMs).toBe(-50);
      expect(r0.deltas[gb]!.latencyMs).toBe(900);
      expect(r0.deltas[gb]!.costUsd).toBeCloseTo(0.009, 12);

      const page2 = await compareRuns(prisma, [main.runId, second.runId], { cursor: 3, limit: 3 });
      expect(page2.rows.map((r) => r.promptIndex)).toEqual([3]);
      expect(page2.nextCursor).toBeNull();
      expect(page2.aggregates).toEqual(report.aggregates);
      const failed = page2.rows[0]!.cells[qa]!;
      expect(failed).toMatchObject({
        status: 'failed',
        output: null,
        latencyMs: 9,
        attribution: 'unknown',
        traceId: main.items[7]!.traceIds[1],
      });
      expect(page2.rows[0]!.deltas[qa]).toEqual({ latencyMs: 9 - 400, costUsd: null });
    });

    it("keeps a finished run's aggregates from its first comparison until it finishes again", async () => {
      const built = await buildRun(prisma, {
        promptSetId: setId,
        models: [gpt],
        items: [0, 1, 2, 3].map((promptIndex) => ({
          modelId: gpt.id,
          promptIndex,
          calls: [{ latencyMs: 100 * (promptIndex + 1), ttftMs: 5 }],
        })),
      });
      const firstFinish = new Date('2026-11-30T01:00:00.000Z');
      await prisma.run.update({ where: { id: built.runId }, data: { finishedAt: firstFinish } });
      const key = `${built.runId}:${gpt.id}`;
      const first = await compareRuns(prisma, [built.runId]);
      expect(first.aggregates[key]).toMatchObject({ completed: 4, latencyP50: 200, latencyP95: 400 });

      // A row changed behind the report's back: pages show it, the kept aggregates are not rescanned.
      const slowest = built.items[3]!.traceIds[0]!;
      await prisma.trace.update({ where: { id: slowest }, data: { latencyMs: 9000 } });
      const again = await compareRuns(prisma, [built.runId]);
      expect(again.aggregates).toEqual(first.aggregates);
      expect(again.rows[3]!.cells[key]).toMatchObject({ latencyMs: 9000 });

      // Finished again (resumed, then done): computed afresh.
      await prisma.run.update({
        where: { id: built.runId },
        data: { finishedAt: new Date(firstFinish.getTime() + 1) },
      });
      const after = await compareRuns(prisma, [built.runId]);
      expect(after.aggregates[key]).toMatchObject({ completed: 4, latencyP50: 200, latencyP95: 9000 });
    });

    it('rejects runs on another prompt set, unknown runs (not found) and an empty list, naming runIds', async () => {
      const other = await buildRun(prisma, {
        promptSetId: otherSetId,
        models: [gpt],
        items: [{ modelId: gpt.id, promptIndex: 0, calls: [{}] }],
      });
      for (const [ids, kind] of [
        [[main.runId, other.runId], EngineInputError],
        [[main.runId, 'no-such-run'], NotFoundError],
        [[], EngineInputError],
      ] as const) {
        const err = await compareRuns(prisma, [...ids]).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(kind);
        expect((err as EngineInputError).field).toBe('runIds');
      }
    });
  });

  describe('exportRun', () => {
    it('writes CSV that round-trips every item with its own model, quoted and guarded against formulas', async () => {
      const chunks = await collect(exportRun(prisma, main.runId, 'csv'));
      const text = chunks.join('');
      expect(text).not.toMatch(/CIPHERTEXT|OPENAI_API_KEY|HF_TOKEN|credential/i);
      const [header, ...rows] = parseCsv(text);
      expect(header).toEqual([...EXPORT_COLUMNS]);
      expect(rows).toHaveLength(8);
      const recs = rows.map((r) => Object.fromEntries(header!.map((h, i) => [h, r[i]!])));
      expect(recs.map((r) => r.item_id)).toEqual(main.items.map((i) => i.id));
      for (const [i, r] of recs.entries()) {
        const item = main.items[i]!;
        const m = item.modelId === gpt.id ? gpt : qwen;
        expect(r).toMatchObject({
          run_id: main.runId,
          model_id: m.id,
          model_name: m.name,
          provider: m.provider,
          requested_model: m.providerModel,
          prompt_index: String(item.promptIndex),
        });
        expect(r.trace_id).toBe(item.traceIds[item.traceIds.length - 1]);
      }
      const g0 = recs[0]!;
      expect(g0).toMatchObject({
        response_model: 'gpt-5-mini-2025-08-07',
        attribution: 'alias',
        status: 'completed',
        attempts: '1',
        latency_ms: '100',
        ttft_ms: '10',
        cost_usd: '0.001',
      });
      expect(g0.prompt).toBe(`'${PROMPTS[0] as string}`);
      expect(g0.output).toBe(`'@SUM(A1), "ok"\r\nnext`);
      expect(recs[1]!.prompt).toBe(PROMPTS[1]);
      expect(recs[1]!.expected).toBe('x,"y"');
      expect(recs[3]!.prompt).toBe("'+1 to that");
      expect(recs[3]!.expected).toBe("'-negative");
      expect(recs[6]).toMatchObject({ response_model: LLAMA, attribution: 'mismatch' });
      expect(recs[7]).toMatchObject({
        status: 'failed',
        attempts: '2',
        error_type: 'server_error',
        error_message: 'upstream, "bad" gateway',
        output: '',
        cost_usd: '',
      });
    });

    it('writes JSONL with the same keys, numbers as numbers and nulls as null', async () => {
      const lines = (await collect(exportRun(prisma, main.runId, 'jsonl'))).join('').split('\n');
      expect(lines.pop()).toBe('');
      const recs = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(recs).toHaveLength(8);
      for (const r of recs) expect(Object.keys(r)).toEqual([...EXPORT_COLUMNS]);
      expect(recs[0]).toMatchObject({
        prompt: PROMPTS[0],
        prompt_index: 0,
        latency_ms: 100,
        input_tokens: 10,
        cost_usd: 0.001,
        model_name: 'GPT-5 Mini',
      });
      expect(recs[7]).toMatchObject({
        model_name: 'Qwen 2.5 7B',
        output: null,
        cost_usd: null,
        response_model: null,
        attempts: 2,
        expected: '-negative',
      });
    });

    it('streams a 2,500-item run in several chunks of whole lines, in item order, and audits it page by page', async () => {
      const n = 1250;
      const big = await prisma.promptSet.create({ data: { name: 'big', promptCount: n } });
      await inBatches(
        Array.from({ length: n }, (_, index) => ({ promptSetId: big.id, index, input: `p${index}` })),
        (data) => prisma.prompt.createMany({ data }),
      );
      const run = await buildRun(prisma, {
        promptSetId: big.id,
        models: [gpt, qwen],
        items: Array.from({ length: 2 * n }, (_, k) => ({
          modelId: k % 2 ? qwen.id : gpt.id,
          promptIndex: Math.floor(k / 2),
          // Every Qwen call answered by Llama: 1,250 findings, more than the 1,000 kept.
          calls: [{ latencyMs: k, responseModel: k % 2 ? LLAMA : undefined }],
        })),
      });
      const chunks = await collect(exportRun(prisma, run.runId, 'csv'));
      expect(chunks.length).toBeGreaterThan(2);
      for (const c of chunks) expect(c.endsWith('\n')).toBe(true);
      const [, ...rows] = parseCsv(chunks.join(''));
      expect(rows).toHaveLength(2 * n);
      const idCol = EXPORT_COLUMNS.indexOf('item_id');
      const promptCol = EXPORT_COLUMNS.indexOf('prompt');
      const nameCol = EXPORT_COLUMNS.indexOf('model_name');
      expect(rows.map((r) => r[idCol])).toEqual(run.items.map((i) => i.id));
      expect(rows[2498]![promptCol]).toBe('p1249');
      expect(rows.filter((r) => r[nameCol] === 'Qwen 2.5 7B')).toHaveLength(n);

      const jsonl = await collect(exportRun(prisma, run.runId, 'jsonl'));
      expect(jsonl.length).toBeGreaterThan(1);
      expect(jsonl.join('').split('\n').filter(Boolean)).toHaveLength(2 * n);

      const audit = await auditRun(prisma, run.runId);
      expect(audit).toMatchObject({ tracesChecked: 2 * n, messagesChecked: 2 * n, findingsTotal: n, ok: false });
      expect(audit.findings).toHaveLength(1000);
      expect(audit.counts).toEqual({ match: n, alias: 0, mismatch: n, unknown: 0 });
    });

    it('rejects an unknown run', async () => {
      await expect(collect(exportRun(prisma, 'no-such-run', 'csv'))).rejects.toBeInstanceOf(NotFoundError);
    });
  });
});
