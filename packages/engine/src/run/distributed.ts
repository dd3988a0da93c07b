// The distributed executor (REDIS_URL): a run's stretch is handed to the shard queue as shards of
// its pending items; any worker process executes a shard with the same RunExecution as the
// embedded executor, restricted to the shard's items, under the run's concurrency held on Redis
// (slots.ts) and its delay kept by the LLM client's pacer on Redis. The run finishes in its
// flow's last job. Cancels reach the workers at once over Redis pub/sub, and at their next beat
// (Run.cancelRequestedAt) if that message is lost.
import type { PrismaClient } from '@batchlight/db';
import type { LlmClient } from '@batchlight/llm';
import { type Job, WaitingError } from 'bullmq';
import { Redis } from 'ioredis';
import { type ShardJobData, ShardQueue } from '../queues/shards.js';
import { type ItemRange, progressPayload, RunExecution } from './execution.js';
import { QUEUE_HOLDER } from './outcome.js';
import { type PlanDeps, readPlan } from './plan.js';
import { closeInterruptedCalls } from './recovery.js';
import { type RedisGate, SlotHub } from './slots.js';
import type { RunStore } from './store.js';

export interface DistributedOptions {
  redisUrl: string;
  /** Prefix of the queue's and the slots' keys on Redis (BATCHLIGHT_QUEUE_PREFIX). */
  prefix?: string;
  /** Items per shard (BATCHLIGHT_SHARD_SIZE). */
  shardSize?: number;
  /** BATCHLIGHT_SHARD_LOCK_MS: a dead worker's shards (and call slots) are free again after this. */
  lockDurationMs?: number;
  /** BATCHLIGHT_STALLED_INTERVAL_MS: how often workers look for shards whose lock ran out. */
  stalledIntervalMs?: number;
  /** BATCHLIGHT_WORKER_SHARDS: shards one worker process executes at once. */
  workerShards?: number;
}

export const DEFAULT_QUEUE_PREFIX = 'batchlight:q';
export const DEFAULT_SHARD_SIZE = 1000;
export const DEFAULT_SHARD_LOCK_MS = 30_000;
export const DEFAULT_STALLED_INTERVAL_MS = 15_000;
export const DEFAULT_WORKER_SHARDS = 4;

interface ExecutorDeps extends PlanDeps {
  prisma: PrismaClient;
  llm: LlmClient;
  store: RunStore;
  log: (message: string) => void;
  /** Whether this process executes shards (role `all` or `worker`). */
  executes: boolean;
  /** How often executing shards look at their run (a cancel asked elsewhere) and renew their slots. */
  beatMs: number;
}

interface Shard {
  runId: string;
  stretch: string;
  execution: RunExecution;
  lost: boolean;
}

export type ShardExecutor = ReturnType<typeof createShardExecutor>;

export function createShardExecutor(deps: ExecutorDeps, options: DistributedOptions) {
  const { prisma, store, log } = deps;
  const prefix = options.prefix ?? DEFAULT_QUEUE_PREFIX;
  const shardSize = options.shardSize ?? DEFAULT_SHARD_SIZE;
  const lockDurationMs = options.lockDurationMs ?? DEFAULT_SHARD_LOCK_MS;
  const queue = new ShardQueue({
    redisUrl: options.redisUrl,
    prefix,
    lockDurationMs,
    stalledIntervalMs: options.stalledIntervalMs ?? DEFAULT_STALLED_INTERVAL_MS,
    concurrency: options.workerShards ?? DEFAULT_WORKER_SHARDS,
  });
  const redis = new Redis(options.redisUrl, { maxRetriesPerRequest: 1 });
  const subscriber = redis.duplicate();
  for (const r of [redis, subscriber]) r.on('error', () => undefined); // the commands fail and say so
  const hub = new SlotHub(redis, subscriber, prefix, lockDurationMs);
  const cancelChannel = `${prefix}:cancel`;
  const shards = new Map<string, Shard>();
  let closing = false;

  if (deps.executes) {
    void subscriber.subscribe(cancelChannel).catch((err: unknown) => log(`cancels over Redis: ${String(err)}`));
    subscriber.on('message', (channel: string, runId: string) => {
      if (channel === cancelChannel) for (const s of shards.values()) if (s.runId === runId) s.execution.stop('cancel');
    });
    queue.work(processJob, log);
    queue.onLockLost((ids) => {
      for (const id of ids) {
        const s = shards.get(id);
        if (!s) continue;
        log(`shard ${id}: its lock was lost (another worker may take it); stopping here`);
        s.lost = true;
        s.execution.lose();
      }
    });
  }

  /** Hands the run's pending items to the queue, when no one holds the run. False when someone does. */
  async function enqueue(runId: string, opts: { recovering?: boolean; deadHolder?: string } = {}): Promise<boolean> {
    const stretch = await store.claimForQueue(runId, opts);
    if (!stretch) return false;
    await queue.enqueue(runId, stretch, await rangesOf(runId));
    return true;
  }

  /** The run's pending items in ranges of `shardSize`, in the order they run. */
  async function rangesOf(runId: string): Promise<ItemRange[]> {
    const ranges: ItemRange[] = [];
    let cursor: string | undefined;
    for (;;) {
      const ids = await prisma.runItem.findMany({
        where: { runId, status: 'pending', ...(cursor ? { id: { gt: cursor } } : {}) },
        orderBy: { id: 'asc' },
        select: { id: true },
        take: shardSize,
      });
      if (!ids.length) return ranges;
      cursor = ids[ids.length - 1]!.id;
      ranges.push({ fromId: ids[0]!.id, toId: cursor });
      if (ids.length < shardSize) return ranges;
    }
  }

  /**
   * At a worker's start: runs the queue holds whose flow is not on it (the process that handed
   * them over stopped between the two) are enqueued under the same stretch; a flow whose finishing
   * job failed for good has it tried again.
   */
  async function recoverFlows(): Promise<void> {
    const held = await prisma.run.findMany({
      where: { status: { in: ['queued', 'running'] }, executorId: { startsWith: QUEUE_HOLDER } },
      select: { id: true, executorId: true },
    });
    for (const r of held) await queue.ensure(r.id, r.executorId!, () => rangesOf(r.id));
  }

  async function processJob(job: Job<ShardJobData>, token?: string): Promise<void> {
    if (closing) return moveBack(job, token);
    const data = job.data;
    if (data.kind === 'finish') return finishRun(data.runId, data.stretch);
    const run = await prisma.run.findUnique({
      where: { id: data.runId },
      select: { executorId: true, cancelRequestedAt: true },
    });
    // A shard of a stretch that is over (the run was cancelled while idle, or finished): nothing to do.
    if (!run || run.executorId !== data.stretch || run.cancelRequestedAt) return;
    const range = { fromId: data.fromId, toId: data.toId };
    if (job.attemptsStarted > 1 || job.stalledCounter > 0) {
      // Taken over from a worker that died, or tried again: its calls cut off are closed first.
      const closed = await closeInterruptedCalls(prisma, data.runId, range);
      if (closed) log(`run ${data.runId}: closed ${closed} call(s) of a shard taken over as interrupted`);
    }
    const { plan } = await readPlan(deps, data.runId, range);
    let gate: RedisGate | null = null;
    const execution = new RunExecution(
      { prisma, llm: deps.llm, store, log, gate: (concurrency) => (gate = hub.gate(data.runId, concurrency)) },
      plan,
    );
    const shard: Shard = { runId: data.runId, stretch: data.stretch, execution, lost: false };
    shards.set(job.id!, shard);
    let status: string;
    try {
      status = await execution.done;
    } finally {
      shards.delete(job.id!);
      (gate as RedisGate | null)?.close();
    }
    if (status !== 'interrupted') return;
    if (shard.lost) throw new Error('the shard’s lock was lost'); // another worker has it
    return moveBack(job, token); // shutting down: another worker goes on with it
  }

  /** Back to the queue, for another worker, without counting as a failed attempt. */
  async function moveBack(job: Job<ShardJobData>, token?: string): Promise<void> {
    await job.moveToWait(token);
    throw new WaitingError();
  }

  /** The flow's last job: every shard has ended (done, stopped by a cancel, or failed). */
  async function finishRun(runId: string, stretch: string): Promise<void> {
    const run = await prisma.run.findUnique({ where: { id: runId } });
    if (!run || run.executorId !== stretch) return; // finished already
    const pending = await prisma.runItem.count({ where: { runId, status: 'pending' } });
    const status = run.cancelRequestedAt ? 'cancelled' : pending ? 'failed' : 'completed';
    const stretchMs = run.stretchStartedAt ? Math.max(0, Date.now() - run.stretchStartedAt.getTime()) : undefined;
    await store.finish(runId, {
      status,
      error: status === 'failed' ? `${pending} item(s) were left pending by shards that failed` : null,
      stretchMs,
      cancelPending: status !== 'completed',
      progress: (c) => progressPayload(c, run.activeMs, stretchMs ?? 0, 0),
    });
  }

  /** Executing shards see a cancel asked elsewhere (if its message was lost) and renew their call slots. */
  async function beat(): Promise<void> {
    const ids = [...new Set([...shards.values()].map((s) => s.runId))];
    if (!ids.length) return;
    const runs = await prisma.run.findMany({
      where: { id: { in: ids } },
      select: { id: true, executorId: true, cancelRequestedAt: true },
    });
    const byId = new Map(runs.map((r) => [r.id, r]));
    for (const s of shards.values()) {
      const r = byId.get(s.runId);
      if (!r || r.cancelRequestedAt || r.executorId !== s.stretch) s.execution.stop('cancel');
    }
    await hub.renew();
  }
  let beating: Promise<void> | null = null;
  const beats = setInterval(() => {
    beating ??= beat()
      .catch((err: unknown) => log(`shard beat: ${String(err)}`))
      .finally(() => {
        beating = null;
      });
  }, deps.beatMs);
  beats.unref();

  if (deps.executes) void recoverFlows().catch((err: unknown) => log(`runs held by the queue: ${String(err)}`));

  return {
    enqueue,
    /** Tells the workers executing the run's shards to cancel them now (the run's row says so too). */
    async announceCancel(runId: string): Promise<void> {
      await redis.publish(cancelChannel, runId).catch(() => undefined);
    },
    /** Whether a shard of the run executes in this process. */
    executing: (runId: string) => [...shards.values()].some((s) => s.runId === runId),
    runs: () => [...new Set([...shards.values()].map((s) => s.runId))],
    /** For /trpc/health: shards on the queue, and this worker's. */
    async health() {
      const depth = await queue.depth().catch(() => null);
      return {
        waiting: depth?.waiting ?? null,
        active: depth?.active ?? null,
        shards: [...shards].map(([id, s]) => ({ id, runId: s.runId })),
      };
    },
    /** Shutting down: no shard starts; those executing drain, then stop at `cutOff`. */
    drain() {
      closing = true;
      void queue.stopTaking().catch(() => undefined);
      for (const s of shards.values()) s.execution.drain();
    },
    cutOff() {
      closing = true;
      void queue.stopTaking().catch(() => undefined);
      for (const s of shards.values()) s.execution.stop('shutdown');
    },
    async close(): Promise<void> {
      closing = true;
      clearInterval(beats);
      await beating;
      await queue.close();
      redis.disconnect();
      subscriber.disconnect();
    },
  };
}
