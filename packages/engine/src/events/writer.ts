// Batches every write of the engine into few transactions, then publishes the batch's events.
// Commit first, publish after: a subscriber never sees an `item.completed` whose trace is not
// yet in the database. One writer per process keeps commit order equal to seq order.
import type { Prisma, PrismaClient } from '@batchlight/db';
import type { EventBus } from './bus.js';
import type { RunEventMessage } from './types.js';

export interface RunCounterDelta {
  completedItems?: number;
  failedItems?: number;
  cancelledItems?: number;
  retries?: number;
  inputTokens?: number;
  outputTokens?: number;
  costUsd?: number;
}

export interface WriteSet {
  traces?: Prisma.TraceCreateManyInput[];
  /** Traces whose final state is known only later (e.g. closed on cancel). */
  traceUpdates?: Array<{ id: string; data: Prisma.TraceUncheckedUpdateInput }>;
  messages?: Prisma.MessageCreateManyInput[];
  items?: Array<{ id: string; data: Prisma.RunItemUncheckedUpdateInput }>;
  counters?: Array<{ runId: string; delta: RunCounterDelta }>;
  events?: RunEventMessage[];
}

interface Pending {
  set: WriteSet;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class BatchWriter {
  private queue: Pending[] = [];
  private flushing: Promise<void> | null = null;
  private closed = false;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly bus: EventBus,
    private readonly maxBatch = 2000,
  ) {}

  /** Queues writes; resolves once they are committed and their events published. */
  write(set: WriteSet): Promise<void> {
    if (this.closed) return Promise.reject(new Error('writer is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ set, resolve, reject });
      // No timer: while one batch commits the next one gathers, so an idle engine writes at
      // once (low event latency) and a busy one writes in large batches (high throughput).
      if (!this.flushing) this.flushing = this.drain();
    });
  }

  /** Waits until everything queued so far is committed. */
  async idle(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  async close(): Promise<void> {
    await this.idle();
    this.closed = true;
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length) {
        await new Promise<void>((r) => setImmediate(r)); // let calls finishing in this tick join
        const batch = this.queue.splice(0, this.maxBatch);
        try {
          await this.commit(batch.map((p) => p.set));
        } catch (err) {
          for (const p of batch) p.reject(err);
          continue;
        }
        for (const p of batch) {
          if (p.set.events?.length) this.bus.publish(p.set.events);
          p.resolve();
        }
      }
    } finally {
      this.flushing = null;
    }
  }

  private async commit(sets: WriteSet[]): Promise<void> {
    const traces: Prisma.TraceCreateManyInput[] = [];
    const messages: Prisma.MessageCreateManyInput[] = [];
    const events: Prisma.RunEventCreateManyInput[] = [];
    const ops: Prisma.PrismaPromise<unknown>[] = [];
    const counters = new Map<string, Required<RunCounterDelta>>();
    for (const s of sets) {
      if (s.traces) traces.push(...s.traces);
      if (s.messages) messages.push(...s.messages);
      if (s.events)
        for (const e of s.events)
          events.push({ runId: e.runId, seq: e.seq, type: e.type, payload: e.payload as Prisma.InputJsonValue, createdAt: new Date(e.at) });
      for (const c of s.counters ?? []) {
        const acc = counters.get(c.runId) ?? {
          completedItems: 0, failedItems: 0, cancelledItems: 0, retries: 0, inputTokens: 0, outputTokens: 0, costUsd: 0,
        };
        for (const k of Object.keys(c.delta) as Array<keyof RunCounterDelta>) acc[k] += c.delta[k] ?? 0;
        counters.set(c.runId, acc);
      }
    }
    // Order matters for the foreign keys: traces before the messages and items that name them.
    if (traces.length) ops.push(this.prisma.trace.createMany({ data: traces }));
    for (const s of sets) for (const u of s.traceUpdates ?? []) ops.push(this.prisma.trace.update({ where: { id: u.id }, data: u.data }));
    if (messages.length) ops.push(this.prisma.message.createMany({ data: messages }));
    for (const s of sets) for (const u of s.items ?? []) ops.push(this.prisma.runItem.update({ where: { id: u.id }, data: u.data }));
    for (const [runId, d] of counters) {
      const data = Object.fromEntries(Object.entries(d).filter(([, v]) => v !== 0).map(([k, v]) => [k, { increment: v }]));
      if (Object.keys(data).length) ops.push(this.prisma.run.update({ where: { id: runId }, data }));
    }
    if (events.length) ops.push(this.prisma.runEvent.createMany({ data: events }));
    if (ops.length) await this.prisma.$transaction(ops);
  }
}
