// After a crash or a shutdown: every call whose `item.started` is in the log but which left no
// trace was cut off mid-call (or, under a drain, never let go). Each gets a trace closed as
// `interrupted`, built from the run's snapshot.
import type { Prisma, PrismaClient } from '@batchlight/db';
import type { EventPayloads } from '../events/types.js';
import { uuidv7 } from '../ids.js';
import { toMessages } from './prompts.js';

/**
 * `range`: only these items (a shard taken over from a dead worker: the run's other shards may
 * have calls in flight on live workers).
 */
export async function closeInterruptedCalls(
  prisma: PrismaClient,
  runId: string,
  range?: { fromId: string; toId: string },
): Promise<number> {
  const ids = range ? { id: { gte: range.fromId, lte: range.toId } } : {};
  const pendingItems = new Set(
    (await prisma.runItem.findMany({ where: { runId, status: 'pending', ...ids }, select: { id: true } })).map(
      (i) => i.id,
    ),
  );
  if (!pendingItems.size) return 0;
  const started = await prisma.runEvent.findMany({
    where: { runId, type: 'item.started' },
    select: { payload: true, createdAt: true },
  });
  const traced = new Set(
    (
      await prisma.trace.findMany({
        where: { runId, itemId: { in: [...pendingItems] } },
        select: { itemId: true, attempt: true },
      })
    ).map((t) => `${t.itemId}/${t.attempt}`),
  );
  const cutOff = started
    .map((e) => e.payload as unknown as EventPayloads['item.started'])
    .filter((p) => pendingItems.has(p.itemId) && !traced.has(`${p.itemId}/${p.attempt}`));
  if (!cutOff.length) return 0;

  const run = await prisma.run.findUniqueOrThrow({ where: { id: runId }, include: { models: true } });
  const snapshots = new Map(run.models.map((m) => [m.modelId, m]));
  const prompts = new Map(
    (
      await prisma.prompt.findMany({
        where: { promptSetId: run.promptSetId, index: { in: [...new Set(cutOff.map((p) => p.promptIndex))] } },
        select: { index: true, input: true },
      })
    ).map((p) => [p.index, p.input]),
  );
  const now = new Date();
  const traces: Prisma.TraceCreateManyInput[] = cutOff.map((p) => {
    const snap = snapshots.get(p.modelId)!;
    const startedAt = new Date(p.startedAt);
    return {
      id: uuidv7(startedAt.getTime()),
      runId,
      itemId: p.itemId,
      attempt: p.attempt,
      modelId: snap.modelId,
      modelRevision: snap.modelRevision,
      provider: snap.provider,
      requestedModel: snap.providerModel,
      attribution: 'unknown',
      status: 'interrupted',
      errorMessage: 'the server stopped before this call was answered or recorded',
      startedAt,
      endedAt: now,
      input: toMessages(prompts.get(p.promptIndex)) as unknown as Prisma.InputJsonValue,
    };
  });
  await prisma.trace.createMany({ data: traces });
  return traces.length;
}

/**
 * A stretch that ended without being counted (the process died) still has `stretchStartedAt`:
 * its time, up to the run's last logged event, is added to the run's active time. Called before
 * a run starts again or is cancelled while not executing.
 */
export async function closeLostStretch(prisma: PrismaClient, runId: string): Promise<void> {
  const run = await prisma.run.findUnique({ where: { id: runId }, select: { stretchStartedAt: true } });
  if (!run?.stretchStartedAt) return;
  const last = await prisma.runEvent.findFirst({
    where: { runId },
    orderBy: { seq: 'desc' },
    select: { createdAt: true },
  });
  const lostMs = last ? Math.max(0, last.createdAt.getTime() - run.stretchStartedAt.getTime()) : 0;
  await prisma.run.update({
    where: { id: runId },
    data: { activeMs: { increment: Math.round(lostMs) }, stretchStartedAt: null },
  });
}
