// Executes one run: pages through its pending items, calls each through the LLM client under the
// run's gate, retries by the LLM package's policy, and records every attempt through the writer.
import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { PrismaClient, RunItem } from '@batchlight/db';
import { type CallResult, type ChatMessage, type LlmClient, type ResolvedModel, retryPolicy } from '@batchlight/llm';
import type { ScoreInput, ScorerSpec } from '@batchlight/scoring';
import type { EventBus } from '../events/bus.js';
import type { EventSequencer } from '../events/log.js';
import type { EventPayloads, EventType, ItemRef, RunEventMessage, RunStatus } from '../events/types.js';
import type { BatchWriter, WriteSet } from '../events/writer.js';
import { CallGate } from './gate.js';
import { throughput } from './outcome.js';
import { promptText, toMessages } from './prompts.js';
import { RateLimitEvents } from './rate-limits.js';
import { assistantMessageRecord, completedPayload, promptMessageRecord, traceRecord } from './records.js';
import {
  judgeItem,
  type NamedScorer,
  type ScoreView,
  scoreRow,
  scorersOf,
  scoreWithoutModels,
  storedScorers,
} from './scoring.js';

export interface ExecutionDeps {
  prisma: PrismaClient;
  llm: LlmClient;
  bus: EventBus;
  sequencer: EventSequencer;
  writer: BatchWriter;
  log: (message: string) => void;
}

export interface RunPlan {
  runId: string;
  promptSetId: string;
  concurrency: number;
  delayMs: number;
  maxRetries: number;
  timeoutMs: number;
  total: number;
  /** Counters already in the database (a resumed run goes on from them). */
  counters: { completed: number; failed: number; cancelled: number; retries: number; costUsd: number };
  models: Map<string, ResolvedModel>;
  conversations: Map<string, string>;
  /**
   * Attempts already made per item (resume): `last` is the highest trace number (numbering goes on
   * from there), `answered` how many of them a provider answered, the ones the retry budget counts.
   */
  priorAttempts: Map<string, { last: number; answered: number }>;
  /** Active time of the run's earlier stretches (before this start or resume). */
  priorActiveMs: number;
  /**
   * The run's scorers and the judges they (and the prompts' asserts) name, resolved; null when
   * the run scores nothing (then no prompt's expected or asserts is even read).
   */
  scoring: { scorers: ScorerSpec[]; judges: Map<string, ResolvedModel | string> } | null;
}

/** What an item's call is sent, and what scoring its answer needs. */
interface PromptWork {
  messages: ChatMessage[];
  expected: string | null;
  scorers: NamedScorer[];
}

/** Why a run stops early: the user cancelled it, or the server is shutting down (it resumes later). */
export type StopReason = 'cancel' | 'shutdown';
class Stop extends Error {
  constructor(readonly reason: StopReason) {
    super(reason);
  }
}

const PAGE = 500;
const PROGRESS_MS = 250;

export class RunExecution {
  /** Aborts the calls in flight (cancel, or a shutdown's deadline). */
  private readonly abort = new AbortController();
  /** Starts no more calls: retries and items not yet let go wait no longer (stop, or a drain). */
  private readonly starting = new AbortController();
  private readonly gate: CallGate;
  /** Judges' calls in flight, at most the run's concurrency (apart from the tested models' gate). */
  private readonly judgeGate: CallGate;
  /** The run's scorers, named once: the list of every prompt without asserts of its own. */
  private readonly runScorers: NamedScorer[];
  private readonly startedAt = performance.now();
  private completed: number;
  private failed: number;
  private cancelled: number;
  private retries: number;
  private costUsd: number;
  private lastProgressKey = '';
  private readonly rateLimitEvents: RateLimitEvents;
  readonly done: Promise<RunStatus>;

  constructor(
    private readonly deps: ExecutionDeps,
    private readonly plan: RunPlan,
  ) {
    this.gate = new CallGate(plan.concurrency);
    this.judgeGate = new CallGate(plan.concurrency);
    this.runScorers = plan.scoring ? scorersOf(plan.scoring.scorers, []) : [];
    this.rateLimitEvents = new RateLimitEvents(
      (modelId, state) => this.emit('rate.limit', { modelId, ...state }),
      (event) => this.deps.writer.write({ events: [event] }),
      deps.log,
    );
    // Every call in flight and every waiter listens to one of the run's two signals.
    setMaxListeners(0, this.abort.signal, this.starting.signal);
    ({
      completed: this.completed,
      failed: this.failed,
      cancelled: this.cancelled,
      retries: this.retries,
      costUsd: this.costUsd,
    } = plan.counters);
    this.done = this.execute();
  }

  /** Stops at once: calls in flight are aborted. */
  stop(reason: StopReason): void {
    if (!this.starting.signal.aborted) this.starting.abort(new Stop(reason));
    if (!this.abort.signal.aborted) this.abort.abort(new Stop(reason));
  }

  /**
   * Shutting down gently: no call starts any more, and the calls in flight go on to their end and
   * are committed (`stop('shutdown')` cuts off those still open). Items not finished stay pending
   * for the next start.
   */
  drain(): void {
    if (!this.starting.signal.aborted) this.starting.abort(new Stop('shutdown'));
  }

  /** Why the run stops: an abort's reason (cancel wins over a drain under way), else a drain's. */
  private get stopReason(): StopReason | null {
    const signal = this.abort.signal.aborted ? this.abort.signal : this.starting.signal;
    return signal.aborted ? (signal.reason instanceof Stop ? signal.reason.reason : 'cancel') : null;
  }

  private emit<T extends EventType>(type: T, payload: EventPayloads[T]) {
    return this.deps.sequencer.make(this.plan.runId, type, payload);
  }

  private async execute(): Promise<RunStatus> {
    const { prisma, writer } = this.deps;
    const { runId } = this.plan;
    const ticker = setInterval(() => void this.progress(), PROGRESS_MS);
    let status: RunStatus;
    let error: string | null = null;
    try {
      await this.setStatus('running');
      await this.runItems();
      const stop = this.stopReason;
      if (stop === 'shutdown') {
        // Left `running` on purpose: the next start-up resumes it.
        clearInterval(ticker);
        await prisma.run.update({ where: { id: runId }, data: this.stretchEnd() });
        return 'interrupted';
      }
      status = stop === 'cancel' ? 'cancelled' : 'completed';
      if (stop === 'cancel') await this.cancelPending();
    } catch (err) {
      status = 'failed';
      error = err instanceof Error ? err.message : String(err);
      this.deps.log(`run ${runId} failed: ${error}`);
      await this.cancelPending().catch(() => undefined);
    } finally {
      clearInterval(ticker);
    }
    await writer.idle();
    await this.progress(true);
    const finished = await prisma.run.update({
      where: { id: runId },
      data: { status, finishedAt: new Date(), error, ...this.stretchEnd() },
    });
    await writer.write({
      events: [
        this.emit('run.status', { status, ...(error ? { reason: error } : {}) }),
        this.emit('run.finished', {
          status,
          completed: finished.completedItems,
          failed: finished.failedItems,
          cancelled: finished.cancelledItems,
          total: finished.totalItems,
          durationMs: finished.finishedAt!.getTime() - (finished.startedAt ?? finished.createdAt).getTime(),
          activeMs: finished.activeMs,
          costUsd: finished.costUsd,
        }),
      ],
    });
    this.publishFeed(status);
    this.deps.sequencer.close(runId);
    return status;
  }

  /** This stretch's time, added to the run's active time when the stretch ends. */
  private stretchEnd() {
    return { activeMs: { increment: Math.round(performance.now() - this.startedAt) }, stretchStartedAt: null };
  }

  private async setStatus(status: RunStatus) {
    const { prisma } = this.deps;
    const now = new Date(Date.now() - Math.round(performance.now() - this.startedAt));
    await prisma.run.updateMany({ where: { id: this.plan.runId, startedAt: null }, data: { startedAt: now } });
    await prisma.run.update({ where: { id: this.plan.runId }, data: { status, stretchStartedAt: now } });
    await this.deps.writer.write({ events: [this.emit('run.status', { status })] });
    this.publishFeed(status);
  }

  private publishFeed(status: RunStatus) {
    this.deps.bus.publishFeed({
      runId: this.plan.runId,
      status,
      completed: this.completed,
      failed: this.failed,
      cancelled: this.cancelled,
      total: this.plan.total,
      costUsd: this.costUsd,
    });
  }

  /** Emits run.progress when something changed since the last one (and always when `force`). */
  private async progress(force = false) {
    const elapsedMs = performance.now() - this.startedAt;
    const activeMs = this.plan.priorActiveMs + elapsedMs;
    const finished = this.completed + this.failed;
    const payload: EventPayloads['run.progress'] = {
      completed: this.completed,
      failed: this.failed,
      cancelled: this.cancelled,
      inFlight: this.gate.inFlight,
      total: this.plan.total,
      retries: this.retries,
      throughput: Math.round((throughput(finished, activeMs) ?? 0) * 10) / 10,
      elapsedMs: Math.round(elapsedMs),
      activeMs: Math.round(activeMs),
    };
    const key = `${payload.completed}/${payload.failed}/${payload.cancelled}/${payload.inFlight}/${payload.retries}`;
    if (!force && key === this.lastProgressKey) return;
    this.lastProgressKey = key;
    try {
      await this.deps.writer.write({ events: [this.emit('run.progress', payload)] });
      this.publishFeed('running');
    } catch (err) {
      this.deps.log(`run ${this.plan.runId}: progress event not written: ${String(err)}`);
    }
  }

  private async runItems() {
    const { prisma } = this.deps;
    const signal = this.starting.signal;
    const inProcess = new Set<Promise<void>>();
    let failure: unknown = null;
    // Bounded: items waiting for their commit or their retry are few beyond the gate's slots.
    const maxInProcess = this.plan.concurrency * 2 + 64;
    let cursor: string | undefined;
    pages: for (;;) {
      const items = await prisma.runItem.findMany({
        where: { runId: this.plan.runId, status: 'pending', ...(cursor ? { id: { gt: cursor } } : {}) },
        orderBy: { id: 'asc' },
        take: PAGE,
      });
      if (!items.length) break;
      cursor = items[items.length - 1]!.id;
      const prompts = await this.promptsFor(items);
      for (const item of items) {
        if (failure) throw failure;
        while (inProcess.size >= maxInProcess) await Promise.race(inProcess);
        let release: () => void;
        try {
          release = await this.gate.acquire(signal);
        } catch {
          break pages; // stopped
        }
        const p = this.processItem(item, prompts.get(item.promptIndex)!, release)
          .catch((err) => {
            failure ??= err;
          })
          .finally(() => inProcess.delete(p));
        inProcess.add(p);
      }
      if (items.length < PAGE) break;
    }
    await Promise.all(inProcess);
    if (failure) throw failure;
  }

  private async promptsFor(items: RunItem[]): Promise<Map<number, PromptWork>> {
    const indexes = [...new Set(items.map((i) => i.promptIndex))];
    const scoring = this.plan.scoring;
    const rows = await this.deps.prisma.prompt.findMany({
      where: { promptSetId: this.plan.promptSetId, index: { in: indexes } },
      select: { index: true, input: true, expected: !!scoring, asserts: !!scoring },
    });
    return new Map(
      rows.map((r) => [
        r.index,
        {
          messages: toMessages(r.input),
          expected: r.expected ?? null,
          scorers:
            !scoring || r.asserts == null ? this.runScorers : scorersOf(scoring.scorers, storedScorers(r.asserts)),
        },
      ]),
    );
  }

  /**
   * Scores an answer: the scorers needing no model now (returned, to be written with the item's
   * completion), the judges after (each its own call and write, under the judge gate).
   */
  private scoreNow(prompt: PromptWork, outcome: CallResult): { views: ScoreView[]; item: ScoreInput } {
    const item: ScoreInput = {
      input: promptText(prompt.messages),
      expected: prompt.expected,
      output: outcome.output,
      latencyMs: outcome.latencyMs,
      costUsd: outcome.cost.usd,
    };
    return { views: scoreWithoutModels(prompt.scorers, item), item };
  }

  private async judge(ref: ItemRef, traceId: string, prompt: PromptWork, item: ScoreInput): Promise<void> {
    const judges = this.plan.scoring?.judges;
    if (!judges) return;
    await Promise.all(
      prompt.scorers.map(async ({ name, spec }) => {
        if (spec.type !== 'judge') return;
        let release: () => void;
        try {
          release = await this.judgeGate.acquire(this.starting.signal);
        } catch {
          return; // stopped: `runs.score` can judge it later
        }
        let judged: Awaited<ReturnType<typeof judgeItem>>;
        try {
          judged = await judgeItem(
            { llm: this.deps.llm, timeoutMs: this.plan.timeoutMs, signal: this.abort.signal },
            judges.get(spec.judge) ?? `judge model "${spec.judge}" is not registered`,
            { name, spec },
            item,
            traceId,
          );
        } finally {
          release();
        }
        await this.deps.writer.write({
          traces: judged.trace ? [judged.trace] : [],
          scores: [scoreRow(this.plan.runId, ref.itemId, judged.view)],
          events: [this.emit('item.scored', { ...ref, traceId, scores: [judged.view] })],
        });
      }),
    );
  }

  private async processItem(item: RunItem, prompt: PromptWork, release: () => void): Promise<void> {
    const { messages } = prompt;
    const { llm, writer } = this.deps;
    const { runId, maxRetries, timeoutMs } = this.plan;
    const model = this.plan.models.get(item.modelId);
    if (!model) throw new Error(`run ${runId} has no snapshot for model ${item.modelId}`);
    const starting = this.starting.signal;
    const prior = this.plan.priorAttempts.get(item.id);
    let attempt = prior?.last ?? 0;
    let answered = prior?.answered ?? 0;
    let firstStartedAt: Date | null = null;

    for (;;) {
      attempt++;
      const ref: ItemRef = {
        itemId: item.id,
        modelId: model.modelId,
        promptIndex: item.promptIndex,
        repeatIndex: item.repeatIndex,
        attempt,
      };
      // Committed before the call goes out: after a crash, every call a provider may have seen
      // is on record, and recovery closes the ones that left no trace as interrupted.
      try {
        await writer.write({ events: [this.emit('item.started', { ...ref, startedAt: new Date().toISOString() })] });
      } catch (err) {
        release();
        if (!starting.aborted) throw err;
        await this.closeStopped(item, attempt - 1, firstStartedAt);
        return;
      }
      // The LLM client keeps delayMs; a stop ends a call's wait for its turn, not a call under way.
      const pace = this.plan.delayMs > 0 ? { key: runId, gapMs: this.plan.delayMs, signal: starting } : undefined;
      // Its provider key's limiter is shared with every run on the key: calls of this run take
      // their turns there as one lane.
      const limit = { lane: runId, signal: starting, onState: this.rateLimitEvents.listenerFor(model.modelId) };
      const outcome = await llm.call(model, { messages, signal: this.abort.signal, timeoutMs, attempt, pace, limit });
      release();
      if (!outcome.ok && outcome.sent === false) {
        await this.closeStopped(item, attempt - 1, firstStartedAt);
        return;
      }
      firstStartedAt ??= outcome.startedAt;
      const stop = !outcome.ok && outcome.error.type === 'aborted' ? this.stopReason : null;
      const trace = traceRecord(outcome, messages, { runId, itemId: item.id, attempt, cancelled: stop === 'cancel' });
      const traceId = trace.id!;

      if (outcome.ok) {
        const conversationId = this.plan.conversations.get(model.modelId)!;
        const at = { promptIndex: item.promptIndex, repeatIndex: item.repeatIndex };
        this.completed++;
        this.costUsd += outcome.cost.usd ?? 0;
        const scored = prompt.scorers.length ? this.scoreNow(prompt, outcome) : null;
        const events: RunEventMessage[] = [this.emit('item.completed', completedPayload(outcome, ref, traceId))];
        if (scored?.views.length) events.push(this.emit('item.scored', { ...ref, traceId, scores: scored.views }));
        await writer.write({
          traces: [trace],
          messages: [
            promptMessageRecord(outcome, messages, conversationId, runId, at),
            assistantMessageRecord(outcome, traceId, conversationId, runId, at),
          ],
          items: [
            {
              id: item.id,
              status: 'completed',
              attempts: attempt,
              finalTraceId: traceId,
              startedAt: firstStartedAt,
              endedAt: outcome.endedAt,
            },
          ],
          counters: [
            {
              runId,
              delta: {
                completedItems: 1,
                inputTokens: outcome.usage.inputTokens ?? 0,
                outputTokens: outcome.usage.outputTokens ?? 0,
                costUsd: outcome.cost.usd ?? 0,
              },
            },
          ],
          scores: scored?.views.map((v) => scoreRow(runId, item.id, v, outcome.endedAt)),
          events,
        });
        if (scored) await this.judge(ref, traceId, prompt, scored.item);
        return;
      }

      if (stop === 'shutdown') {
        // The call was cut off by a shutdown: close its trace as interrupted, keep the item pending.
        await writer.write({ traces: [{ ...trace, status: 'interrupted' }] });
        return;
      }
      const base = { ...ref, traceId, httpStatus: outcome.error.httpStatus, message: outcome.error.message };
      if (stop === 'cancel') {
        this.cancelled++;
        await writer.write({
          traces: [trace],
          items: [
            {
              id: item.id,
              status: 'cancelled',
              attempts: attempt,
              finalTraceId: traceId,
              startedAt: firstStartedAt,
              endedAt: outcome.endedAt,
            },
          ],
          counters: [{ runId, delta: { cancelledItems: 1 } }],
          events: [this.emit('item.failed', { ...base, errorType: 'cancelled', latencyMs: outcome.latencyMs })],
        });
        return;
      }
      answered++;
      if (retryPolicy.shouldRetry(outcome.error, answered, maxRetries)) {
        const waitMs = Math.round(retryPolicy.backoffMs(outcome.error, answered));
        this.retries++;
        await writer.write({
          traces: [trace],
          counters: [{ runId, delta: { retries: 1 } }],
          events: [this.emit('item.retrying', { ...base, errorType: outcome.error.type, waitMs })],
        });
        try {
          await sleep(waitMs, undefined, { signal: starting });
          release = await this.gate.acquire(starting);
        } catch {
          await this.closeStopped(item, attempt, firstStartedAt);
          return;
        }
        continue;
      }
      this.failed++;
      await writer.write({
        traces: [trace],
        items: [
          {
            id: item.id,
            status: 'failed',
            attempts: attempt,
            finalTraceId: traceId,
            startedAt: firstStartedAt,
            endedAt: outcome.endedAt,
          },
        ],
        counters: [{ runId, delta: { failedItems: 1 } }],
        events: [this.emit('item.failed', { ...base, errorType: outcome.error.type, latencyMs: outcome.latencyMs })],
      });
      return;
    }
  }

  /** An item stopped while waiting to retry: cancelled on cancel, left pending on shutdown. */
  private async closeStopped(item: RunItem, attempt: number, startedAt: Date | null) {
    if (this.stopReason !== 'cancel') return;
    this.cancelled++;
    const set: WriteSet = {
      items: [
        { id: item.id, status: 'cancelled', attempts: attempt, finalTraceId: null, startedAt, endedAt: new Date() },
      ],
      counters: [{ runId: this.plan.runId, delta: { cancelledItems: 1 } }],
    };
    await this.deps.writer.write(set);
  }

  /** Items never started when the run stopped are cancelled in one statement. */
  private async cancelPending() {
    await this.deps.writer.idle();
    const { count } = await this.deps.prisma.runItem.updateMany({
      where: { runId: this.plan.runId, status: 'pending' },
      data: { status: 'cancelled' },
    });
    if (count) {
      this.cancelled += count;
      await this.deps.prisma.run.update({
        where: { id: this.plan.runId },
        data: { cancelledItems: { increment: count } },
      });
    }
  }
}
