// A run's lifecycle in the database: created, claimed for execution, each call's outcome recorded,
// cancelled, finished. The database owns the run's state and counters; a process holds only what
// it is doing now. Every write of a run's lifecycle goes through here, and through the writer
// where the run may be executing (its items, counters, status and events commit together).
import { hostname } from 'node:os';
import { bulkInsert, type Db, type NewRunItem, type Prisma, type Run } from '@batchlight/db';
import type { EventBus } from '../events/bus.js';
import { ACTIVE_RUN_STATUSES, type EventPayloads, type RunEventMessage, type RunStatus } from '../events/types.js';
import type { BatchWriter, WriteSet } from '../events/writer.js';
import { QUEUE_HOLDER } from './outcome.js';
import { closeInterruptedCalls, closeLostStretch } from './recovery.js';
import type { EventDraft } from './transition.js';

/** What a step writes: a WriteSet whose events are drafts (the store gives them their seq). */
export type RecordSet = Omit<WriteSet, 'events'> & { events?: EventDraft[] };

export interface RunEnd {
  status: RunStatus;
  error?: string | null;
  /** This stretch's time, added to the run's active time (absent: no stretch was executing). */
  stretchMs?: number;
  /** The run's items still pending are cancelled with it. */
  cancelPending?: boolean;
  /** The last `run.progress`, from the counters the end comes to. */
  progress?: (counters: RunCountersView) => EventPayloads['run.progress'];
}

/** The rows of a new run, written in one transaction. */
export interface NewRun {
  run: Prisma.RunUncheckedCreateInput & { id: string };
  models: Prisma.RunModelCreateManyInput[];
  conversations: Prisma.ConversationCreateManyInput[];
  items: Iterable<NewRunItem>;
}

/**
 * Who executes a run: the process holding its lease. A lease is taken with a conditional UPDATE
 * (free, already ours, or expired) and renewed by the holder's heartbeat; a holder that dies stops
 * renewing, and once `leaseMs` has passed any process may take the run over. Times are the
 * processes' clocks: machines sharing a database keep them in sync (NTP) well within `leaseMs`.
 */
export interface Lease {
  executorId: string;
  leaseMs: number;
}

/** A process of this machine named by an executor id is still running (`host:pid:nonce`). */
function alive(executorId: string): boolean {
  const pid = Number(executorId.split(':')[1]);
  if (!Number.isInteger(pid) || pid <= 0) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, owned by another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Statuses a run can be claimed in (to execute it, or to cancel it). */
const CLAIMABLE = [...ACTIVE_RUN_STATUSES, 'interrupted'];

export type RunCountersView = Pick<
  Run,
  'completedItems' | 'failedItems' | 'cancelledItems' | 'retries' | 'totalItems' | 'costUsd' | 'activeMs'
>;

const COUNTERS = {
  completedItems: true,
  failedItems: true,
  cancelledItems: true,
  retries: true,
  totalItems: true,
  costUsd: true,
  activeMs: true,
} as const;

export class RunStore {
  constructor(
    private readonly db: Db,
    private readonly writer: BatchWriter,
    private readonly bus: EventBus,
    private readonly lease: Lease,
    private readonly log: (message: string) => void,
  ) {}

  /** The run, its snapshots, conversations and every item, or nothing. `first` runs first in the transaction. */
  async create(rows: NewRun, first?: (tx: Prisma.TransactionClient) => Promise<void>): Promise<Run> {
    return this.db.prisma.$transaction(
      async (tx) => {
        await first?.(tx);
        const created = await tx.run.create({ data: rows.run });
        await tx.runModel.createMany({ data: rows.models });
        await tx.conversation.createMany({ data: rows.conversations });
        await bulkInsert(tx, this.db.provider, 'RunItem', rows.items);
        return created;
      },
      { timeout: 300_000, maxWait: 30_000 },
    );
  }

  /**
   * Takes the run's lease for this process; false when another live process holds it, or the run
   * is over. Once taken: the calls a crash or a dead holder cut off are closed as interrupted (when
   * `recovering`), and a stretch it left open is counted up to the run's last event.
   */
  async claim(runId: string, opts: { recovering?: boolean; deadHolder?: string } = {}): Promise<boolean> {
    const now = Date.now();
    const { executorId, leaseMs } = this.lease;
    const holders = opts.deadHolder ? [executorId, opts.deadHolder] : [executorId];
    const { count } = await this.db.prisma.run.updateMany({
      where: {
        id: runId,
        status: { in: CLAIMABLE },
        OR: [{ executorId: null }, { executorId: { in: holders } }, { leaseUntil: { lt: new Date(now) } }],
      },
      data: { executorId, leaseUntil: new Date(now + leaseMs) },
    });
    if (!count) return false;
    if (opts.recovering) {
      const closed = await closeInterruptedCalls(this.db.prisma, runId);
      if (closed) this.log(`run ${runId}: closed ${closed} call(s) cut off by the last shutdown as interrupted`);
    }
    await closeLostStretch(this.db.prisma, runId);
    return true;
  }

  /**
   * The heartbeat: renews this process's leases on `runIds`. Returns those still held, each with
   * whether a cancel was asked of it from another process.
   */
  async renew(runIds: string[]): Promise<Map<string, { cancelRequested: boolean }>> {
    const { executorId, leaseMs } = this.lease;
    const prisma = this.db.prisma;
    await prisma.run.updateMany({
      where: { id: { in: runIds }, executorId },
      data: { leaseUntil: new Date(Date.now() + leaseMs) },
    });
    const held = await prisma.run.findMany({
      where: { id: { in: runIds }, executorId },
      select: { id: true, cancelRequestedAt: true },
    });
    return new Map(held.map((r) => [r.id, { cancelRequested: r.cancelRequestedAt !== null }]));
  }

  /**
   * Runs to execute that no live process holds: new or resumed ones, those whose holder's lease
   * ran out, and those whose holder was a process of this machine that is gone (a restart after a
   * crash takes its runs at once, without waiting for their leases): `deadHolder` names it.
   */
  async unheld(limit = 100): Promise<Array<{ id: string; deadHolder?: string }>> {
    const local = `${hostname()}:`;
    const rows = await this.db.prisma.run.findMany({
      where: {
        status: { in: [...ACTIVE_RUN_STATUSES] },
        OR: [{ executorId: null }, { leaseUntil: { lt: new Date() } }, { executorId: { startsWith: local } }],
      },
      select: { id: true, executorId: true, leaseUntil: true },
      orderBy: { id: 'asc' },
      take: limit,
    });
    const out: Array<{ id: string; deadHolder?: string }> = [];
    for (const r of rows) {
      const expired = !r.executorId || (r.leaseUntil?.getTime() ?? 0) < Date.now();
      if (expired) out.push({ id: r.id });
      else if (r.executorId !== this.lease.executorId && !alive(r.executorId!)) {
        out.push({ id: r.id, deadHolder: r.executorId! });
      }
    }
    return out;
  }

  /** Whether another live process holds the run's lease. */
  async heldElsewhere(runId: string): Promise<boolean> {
    const run = await this.db.prisma.run.findUnique({
      where: { id: runId },
      select: { executorId: true, leaseUntil: true },
    });
    if (run?.executorId?.startsWith(QUEUE_HOLDER)) return true; // its shards are on the queue
    return (
      !!run?.executorId && run.executorId !== this.lease.executorId && (run.leaseUntil?.getTime() ?? 0) > Date.now()
    );
  }

  /** Asks the run's holder to cancel it (at its next heartbeat). */
  async requestCancel(runId: string): Promise<void> {
    await this.db.prisma.run.updateMany({
      where: { id: runId, status: { in: CLAIMABLE } },
      data: { cancelRequestedAt: new Date() },
    });
  }

  /** Lets go of a claimed run before it executed: any process (this one's next start too) may take it. */
  async letGo(runId: string): Promise<void> {
    await this.writer.write({ runs: [{ runId, releaseLease: true }] });
  }

  /** The stretch starts: the run is running from `at` (its start, if it never started). */
  async begin(runId: string, at: Date): Promise<void> {
    await this.record(runId, {
      runs: [{ runId, status: 'running', startStretchAt: at }],
      events: [{ type: 'run.status', payload: { status: 'running' } }],
    });
    await this.publishFeed(runId, 'running');
  }

  /**
   * A shard starts (distributed executor): the run's first shard of a stretch starts the stretch
   * and says the run is running; the others find it started (one conditional update decides).
   */
  async beginShard(runId: string, at: Date): Promise<void> {
    const prisma = this.db.prisma;
    const { count } = await prisma.run.updateMany({
      where: { id: runId, stretchStartedAt: null },
      data: { status: 'running', stretchStartedAt: at },
    });
    if (!count) return;
    await prisma.run.updateMany({ where: { id: runId, startedAt: null }, data: { startedAt: at } });
    await this.record(runId, { events: [{ type: 'run.status', payload: { status: 'running' } }] });
    await this.publishFeed(runId, 'running');
  }

  /**
   * Hands the run to the shard queue (distributed executor): its holder becomes `queue:<stretch>`,
   * with no lease to run out (the queue's own locks keep its shards), when no one holds it.
   * Returns the stretch (it names the stretch's jobs), or null when another process or the queue
   * holds the run, or it is over. As `claim`, closes what a crash left open.
   */
  async claimForQueue(runId: string, opts: { recovering?: boolean; deadHolder?: string } = {}): Promise<string | null> {
    const stretch = `${QUEUE_HOLDER}${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
    const holders = [this.lease.executorId, ...(opts.deadHolder ? [opts.deadHolder] : [])];
    const { count } = await this.db.prisma.run.updateMany({
      where: {
        id: runId,
        status: { in: CLAIMABLE },
        OR: [{ executorId: null }, { executorId: { in: holders } }, { leaseUntil: { lt: new Date() } }],
      },
      data: { executorId: stretch, leaseUntil: null },
    });
    if (!count) return null;
    if (opts.recovering) {
      const closed = await closeInterruptedCalls(this.db.prisma, runId);
      if (closed) this.log(`run ${runId}: closed ${closed} call(s) cut off by the last shutdown as interrupted`);
    }
    await closeLostStretch(this.db.prisma, runId);
    return stretch;
  }

  /** Commits one step's rows with its events; the database gives each event the run's next seq. */
  record(runId: string, set: RecordSet): Promise<void> {
    const at = new Date().toISOString(); // provisional: the writer stamps the commit's time
    const events = set.events?.map((e) => ({ runId, seq: 0, at, ...e }) as RunEventMessage);
    return this.writer.write({ ...set, events });
  }

  /** The run's counters as committed. */
  counters(runId: string): Promise<RunCountersView> {
    return this.db.prisma.run.findUniqueOrThrow({ where: { id: runId }, select: COUNTERS });
  }

  async publishFeed(runId: string, status: RunStatus, c?: RunCountersView): Promise<void> {
    const { completedItems, failedItems, cancelledItems, totalItems, costUsd } = c ?? (await this.counters(runId));
    this.bus.publishFeed({
      runId,
      status,
      completed: completedItems,
      failed: failedItems,
      cancelled: cancelledItems,
      total: totalItems,
      costUsd,
    });
  }

  /** Ends a shutdown's stretch and lets the run go: it stays running, for the next start or another process. */
  async endStretch(runId: string, stretchMs: number): Promise<void> {
    await this.record(runId, { runs: [{ runId, endStretchMs: stretchMs, releaseLease: true }] });
  }

  /**
   * Finishes a claimed run whose calls have all ended: its status, the end of its stretch, its
   * pending items cancelled if asked, and `run.status` and `run.finished` with the counters they
   * come to, in one commit.
   */
  async finish(runId: string, end: RunEnd): Promise<RunStatus> {
    const { status, error = null, stretchMs, cancelPending = false, progress } = end;
    await this.writer.idle();
    const prisma = this.db.prisma;
    // Nothing else writes the run's items now: these are what the commit below leaves.
    const [run, pending] = await Promise.all([
      prisma.run.findUniqueOrThrow({ where: { id: runId } }),
      cancelPending ? prisma.runItem.count({ where: { runId, status: 'pending' } }) : 0,
    ]);
    const finishedAt = new Date();
    const counters: RunCountersView = {
      ...run,
      cancelledItems: run.cancelledItems + pending,
      activeMs: run.activeMs + Math.round(stretchMs ?? 0),
    };
    await this.record(runId, {
      runs: [{ runId, status, error, finishedAt, endStretchMs: stretchMs, cancelPending, releaseLease: true }],
      events: [
        ...(progress ? [{ type: 'run.progress' as const, payload: progress(counters) }] : []),
        { type: 'run.status', payload: { status, ...(error ? { reason: error } : {}) } },
        {
          type: 'run.finished',
          payload: {
            status,
            completed: counters.completedItems,
            failed: counters.failedItems,
            cancelled: counters.cancelledItems,
            total: counters.totalItems,
            durationMs: finishedAt.getTime() - (run.startedAt ?? run.createdAt).getTime(),
            activeMs: counters.activeMs,
            costUsd: counters.costUsd,
          },
        },
      ],
    });
    await this.publishFeed(runId, status, counters);
    return status;
  }

  /**
   * Cancels a run not executing here: when no live process holds it (queued, or left by a crash),
   * it is claimed and ended as an executing run ends; else its holder is asked to (false).
   */
  async cancelIdle(runId: string): Promise<boolean> {
    if (!(await this.claim(runId))) {
      await this.requestCancel(runId);
      return false;
    }
    await this.finish(runId, { status: 'cancelled', cancelPending: true });
    return true;
  }

  /**
   * Puts a stopped run's items of `statuses` back to pending and the run back to queued, its
   * counters recounted from its items. Returns what was reopened, per model and status, or null
   * when another live process holds the run (it goes on there).
   */
  async reopen(runId: string, statuses: string[]) {
    const prisma = this.db.prisma;
    const reopened = await prisma.runItem.groupBy({
      by: ['modelId', 'status'],
      where: { runId, status: { in: statuses } },
      _count: true,
    });
    const { executorId } = this.lease;
    const done = await prisma.$transaction(async (tx) => {
      // Only a run no other live process holds: one that took it since the caller looked keeps it.
      const { count } = await tx.run.updateMany({
        where: {
          id: runId,
          OR: [{ executorId: null }, { executorId }, { leaseUntil: { lt: new Date() } }],
        },
        data: { status: 'queued', finishedAt: null, error: null, cancelRequestedAt: null },
      });
      if (!count) return false;
      await tx.runItem.updateMany({ where: { runId, status: { in: statuses } }, data: { status: 'pending' } });
      const counts = await tx.runItem.groupBy({ by: ['status'], where: { runId }, _count: true });
      const n = (s: string) => counts.find((c) => c.status === s)?._count ?? 0;
      await tx.run.update({
        where: { id: runId },
        data: { completedItems: n('completed'), failedItems: n('failed'), cancelledItems: n('cancelled') },
      });
      return true;
    });
    return done ? reopened.map((r) => ({ modelId: r.modelId, status: r.status, count: r._count })) : null;
  }
}
