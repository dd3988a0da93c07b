// The shard queue (distributed executor), one BullMQ queue on Redis. A run's stretch (its start,
// or a resume) is one flow: a parent job that finishes the run, whose children are the run's
// shards (ranges of its pending items by id). BullMQ runs the parent once its last child has
// ended, so the run finishes exactly once; a shard whose worker died loses its lock, and
// BullMQ's stalled-job check gives it to another worker. Job ids are the run, its stretch and
// the range: enqueuing a stretch twice adds nothing.
import { FlowProducer, type Job, Queue, Worker } from 'bullmq';

export const SHARD_QUEUE = 'shards';

export type ShardJobData =
  | { kind: 'shard'; runId: string; stretch: string; fromId: string; toId: string }
  | { kind: 'finish'; runId: string; stretch: string };

export interface ShardQueueOptions {
  redisUrl: string;
  /** Prefix of the queue's keys (BATCHLIGHT_QUEUE_PREFIX): deployments, or tests, sharing one Redis. */
  prefix: string;
  /** A shard's lock: a worker that stops renewing it (dies) loses the shard after this long. */
  lockDurationMs: number;
  /** How often workers look for shards whose lock ran out. */
  stalledIntervalMs: number;
  /** Shards one worker process executes at once. */
  concurrency: number;
}

/** A stretch's parent and shards stay this long after they end, so enqueuing it again is a no-op. */
const KEEP = { removeOnComplete: { age: 24 * 3600 }, removeOnFail: { age: 7 * 24 * 3600 } };

/** A job id: BullMQ's ids may not hold `:`, the stretch's name (`queue:…`) does. */
function idOf(...parts: string[]): string {
  return parts.map((p) => p.replaceAll(':', '_')).join('.');
}

export function finishJobId(runId: string, stretch: string): string {
  return idOf(runId, stretch, 'finish');
}

export class ShardQueue {
  private readonly queue: Queue<ShardJobData>;
  private readonly flows: FlowProducer;
  private worker: Worker<ShardJobData> | null = null;
  private stopping: Promise<void> | null = null;

  constructor(private readonly options: ShardQueueOptions) {
    const connection = { url: options.redisUrl };
    this.queue = new Queue<ShardJobData>(SHARD_QUEUE, { connection, prefix: options.prefix });
    this.flows = new FlowProducer({ connection, prefix: options.prefix });
    // Errors reach the callers of the commands; the connections reconnect by themselves.
    this.queue.on('error', () => undefined);
    this.flows.on('error', () => undefined);
  }

  /** Adds a stretch of a run: its shards and the job that finishes the run after them. */
  async enqueue(runId: string, stretch: string, ranges: Array<{ fromId: string; toId: string }>): Promise<void> {
    const parentId = finishJobId(runId, stretch);
    if (await this.queue.getJob(parentId)) return; // the flow is added as a whole: it is there
    await this.flows.add({
      name: 'finish',
      queueName: SHARD_QUEUE,
      data: { kind: 'finish', runId, stretch },
      opts: { jobId: parentId, attempts: 5, backoff: { type: 'exponential', delay: 1000 }, ...KEEP },
      children: ranges.map((r) => ({
        name: 'shard',
        queueName: SHARD_QUEUE,
        data: { kind: 'shard' as const, runId, stretch, fromId: r.fromId, toId: r.toId },
        opts: {
          jobId: idOf(runId, stretch, r.fromId, r.toId),
          // A shard that failed (its items stay pending) still lets the run finish: as failed.
          ignoreDependencyOnFailure: true,
          attempts: 3,
          backoff: { type: 'exponential', delay: 1000 },
          ...KEEP,
        },
      })),
    });
  }

  /**
   * A stretch the queue holds, at a worker's start: added if its flow is missing (its holder
   * stopped between the claim and the add), its finishing job tried again if it failed for good
   * (the database was away through its attempts).
   */
  async ensure(runId: string, stretch: string, ranges: () => Promise<Array<{ fromId: string; toId: string }>>) {
    const parent = await this.queue.getJob(finishJobId(runId, stretch));
    if (!parent) await this.enqueue(runId, stretch, await ranges());
    else if (await parent.isFailed()) await parent.retry('failed');
  }

  /** Starts taking shards (a process of role `all` or `worker`). */
  work(processor: (job: Job<ShardJobData>, token?: string) => Promise<void>, log: (m: string) => void): void {
    const { redisUrl, prefix, lockDurationMs, stalledIntervalMs, concurrency } = this.options;
    this.worker = new Worker<ShardJobData>(SHARD_QUEUE, processor, {
      connection: { url: redisUrl, maxRetriesPerRequest: null },
      prefix,
      concurrency,
      lockDuration: lockDurationMs,
      stalledInterval: stalledIntervalMs,
      // A shard whose worker died twice is still tried again: its items are never called twice.
      maxStalledCount: 10,
    });
    this.worker.on('error', (err) => log(`shard queue: ${err.message}`));
    this.worker.on('failed', (job, err) => log(`shard ${job?.id ?? '?'} failed: ${err.message}`));
  }

  /** Called with a job's ids when this worker could not renew its lock (another worker may take it). */
  onLockLost(fn: (jobIds: string[]) => void): void {
    this.worker?.on('lockRenewalFailed', fn);
  }

  /** Shards waiting for a worker, and being executed, across every process. */
  async depth(): Promise<{ waiting: number; active: number }> {
    const c = await this.queue.getJobCounts('waiting', 'prioritized', 'active');
    return { waiting: (c.waiting ?? 0) + (c.prioritized ?? 0), active: c.active ?? 0 };
  }

  /**
   * Takes no more shards (shutting down); resolves once those executing here have ended (the
   * engine stops them). At once, not after the grace: a shard taken meanwhile would only be
   * handed back, again and again.
   */
  stopTaking(): Promise<void> {
    this.stopping ??= this.worker?.close() ?? Promise.resolve();
    return this.stopping;
  }

  async close(): Promise<void> {
    await this.stopTaking();
    await this.flows.close();
    await this.queue.close();
  }
}
