// Executes one run: pages through its pending items, calls each through the LLM client under the
// run's gate, retries by the LLM package's policy, and records every attempt through the writer.
import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { PrismaClient, RunItem } from '@batchlight/db';
import type { CallResult, ChatMessage, LlmClient, ResolvedModel } from '@batchlight/llm';
import type { ScoreInput, ScorerSpec } from '@batchlight/scoring';
import type { EventPayloads, ItemRef, RunStatus } from '../events/types.js';
import { CallGate, type Gate } from './gate.js';
import { throughput } from './outcome.js';
import { promptText, toMessages } from './prompts.js';
import { RateLimitEvents } from './rate-limits.js';
import {
  judgeItem,
  type NamedScorer,
  type ScoreView,
  scoreRow,
  scorersOf,
  scoreWithoutModels,
  storedScorers,
} from './scoring.js';
import type { RecordSet, RunCountersView, RunStore } from './store.js';
import { type CallEnd, type ItemState, itemRef, type Step, type StopReason, transition, UNSENT } from './transition.js';

export type { StopReason };

export interface ExecutionDeps {
  prisma: PrismaClient;
  llm: LlmClient;
  store: RunStore;
  log: (message: string) => void;
  /** The run's concurrency cap: this process's own CallGate unless given (slots on Redis). */
  gate?: (concurrency: number) => Gate;
}

/** Items by id, both ends included: a shard of a run (its ids are in the order the items run). */
export interface ItemRange {
  fromId: string;
  toId: string;
}

export interface RunPlan {
  runId: string;
  promptSetId: string;
  concurrency: number;
  delayMs: number;
  maxRetries: number;
  timeoutMs: number;
  total: number;
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
  /**
   * A shard (distributed executor): only these items, and the run's start and end are not this
   * execution's (the run's first shard starts it; its flow's last job finishes it).
   */
  shard?: ItemRange;
}

/** What an item's call is sent, and what scoring its answer needs. */
interface PromptWork {
  messages: ChatMessage[];
  expected: string | null;
  scorers: NamedScorer[];
}

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
  private readonly gate: Gate;
  /** Judges' calls in flight, at most the run's concurrency (apart from the tested models' gate). */
  private readonly judgeGate: CallGate;
  /** The run's scorers, named once: the list of every prompt without asserts of its own. */
  private readonly runScorers: NamedScorer[];
  private readonly startedAt = performance.now();
  private lastProgressKey = '';
  private readonly rateLimitEvents: RateLimitEvents;
  private lost = false;
  /** The progress tick under way: waited for before the run's end, so its event comes first. */
  private ticking: Promise<void> | null = null;
  readonly done: Promise<RunStatus>;

  constructor(
    private readonly deps: ExecutionDeps,
    private readonly plan: RunPlan,
  ) {
    this.gate = deps.gate?.(plan.concurrency) ?? new CallGate(plan.concurrency);
    this.judgeGate = new CallGate(plan.concurrency);
    this.runScorers = plan.scoring ? scorersOf(plan.scoring.scorers, []) : [];
    this.rateLimitEvents = new RateLimitEvents(
      (event) => this.deps.store.record(plan.runId, { events: [event] }),
      deps.log,
    );
    // Every call in flight and every waiter listens to one of the run's two signals.
    setMaxListeners(0, this.abort.signal, this.starting.signal);
    this.done = this.execute();
  }

  /** Stops at once: calls in flight are aborted. */
  stop(reason: StopReason): void {
    if (!this.starting.signal.aborted) this.starting.abort(new Stop(reason));
    if (!this.abort.signal.aborted) this.abort.abort(new Stop(reason));
  }

  /**
   * Another process took the run over (this one's lease ran out): stops as a shutdown does, and
   * leaves the run's own row to its new holder.
   */
  lose(): void {
    this.lost = true;
    this.stop('shutdown');
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

  private async execute(): Promise<RunStatus> {
    const { store } = this.deps;
    const { runId } = this.plan;
    const ticker = setInterval(() => {
      this.ticking ??= this.progress().finally(() => {
        this.ticking = null;
      });
    }, PROGRESS_MS);
    let status: RunStatus;
    let error: string | null = null;
    const shard = this.plan.shard;
    try {
      const at = new Date(Date.now() - Math.round(this.elapsedMs()));
      await (shard ? store.beginShard(runId, at) : store.begin(runId, at));
      await this.runItems();
      const stop = this.stopReason;
      if (stop === 'shutdown') {
        // Left `running` on purpose: the next start-up (or, for a shard, another worker) resumes it.
        clearInterval(ticker);
        await this.ticking;
        if (!this.lost && !shard) await store.endStretch(runId, this.elapsedMs());
        return 'interrupted';
      }
      status = stop === 'cancel' ? 'cancelled' : 'completed';
    } catch (err) {
      if (shard) throw err; // the shard's job fails, and is tried again
      status = 'failed';
      error = err instanceof Error ? err.message : String(err);
      this.deps.log(`run ${runId} failed: ${error}`);
    } finally {
      clearInterval(ticker);
    }
    await this.ticking;
    if (shard) return status; // the shard's items are done or stopped; the run's end is its flow's
    const stretchMs = this.elapsedMs();
    return store.finish(runId, {
      status,
      error,
      stretchMs,
      cancelPending: status !== 'completed',
      progress: (c) => this.progressOf(c, stretchMs, 0),
    });
  }

  private elapsedMs(): number {
    return performance.now() - this.startedAt;
  }

  private progressOf(c: RunCountersView, elapsedMs: number, inFlight: number): EventPayloads['run.progress'] {
    return progressPayload(c, this.plan.priorActiveMs, elapsedMs, inFlight);
  }

  /** Emits run.progress, from the counters as committed, when something changed since the last one. */
  private async progress() {
    const { store } = this.deps;
    const { runId } = this.plan;
    try {
      const c = await store.counters(runId);
      const payload = this.progressOf(c, this.elapsedMs(), this.gate.inFlight);
      const key = `${payload.completed}/${payload.failed}/${payload.cancelled}/${payload.inFlight}/${payload.retries}`;
      if (key === this.lastProgressKey) return;
      this.lastProgressKey = key;
      await store.record(runId, { events: [{ type: 'run.progress', payload }] });
      await store.publishFeed(runId, 'running', c);
    } catch (err) {
      this.deps.log(`run ${runId}: progress event not written: ${String(err)}`);
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
        where: { runId: this.plan.runId, status: 'pending', id: this.idsAfter(cursor) },
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
        } catch (err) {
          // Stopped; or the slots on Redis could not be reached: the shard fails (once its calls
          // in flight have ended), and is tried again.
          if (!signal.aborted) failure ??= err;
          break pages;
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

  /** The ids of the items left to page through: after `cursor`, within the shard if this is one. */
  private idsAfter(cursor: string | undefined): { gt?: string; gte?: string; lte?: string } | undefined {
    const shard = this.plan.shard;
    if (!shard) return cursor ? { gt: cursor } : undefined;
    return cursor ? { gt: cursor, lte: shard.toId } : { gte: shard.fromId, lte: shard.toId };
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
        await this.deps.store.record(this.plan.runId, {
          traces: judged.trace ? [judged.trace] : [],
          scores: [scoreRow(this.plan.runId, ref.itemId, judged.view)],
          events: [{ type: 'item.scored', payload: { ...ref, traceId, scores: [judged.view] } }],
        });
      }),
    );
  }

  /**
   * One item, attempt after attempt: its start committed, its call, what the call's end does to it
   * (transition) recorded; then done, or the next attempt after its wait.
   */
  private async processItem(row: RunItem, prompt: PromptWork, release: () => void): Promise<void> {
    const { llm, store } = this.deps;
    const { runId, timeoutMs, delayMs } = this.plan;
    const starting = this.starting.signal;
    const prior = this.plan.priorAttempts.get(row.id);
    let item = this.itemState(row, prompt, prior?.answered ?? 0);
    // The LLM client keeps delayMs; a stop ends a call's wait for its turn, not a call under way.
    const pace = delayMs > 0 ? { key: runId, gapMs: delayMs, signal: starting } : undefined;
    // Its provider key's limiter is shared with every run on the key: calls of this run take their
    // turns there as one lane.
    const limit = { lane: runId, signal: starting, onState: this.rateLimitEvents.listenerFor(item.model.modelId) };
    for (let attempt = (prior?.last ?? 0) + 1; ; attempt++) {
      let end: CallEnd;
      try {
        const request = { messages: item.messages, signal: this.abort.signal, timeoutMs, attempt, pace, limit };
        end = (await this.recordStart(item, attempt)) ? await llm.call(item.model, request) : UNSENT;
      } finally {
        release();
      }
      const unsent = end === UNSENT || (!end.ok && end.sent === false);
      const step = transition(item, unsent ? UNSENT : end, unsent ? attempt - 1 : attempt, this.stopReason);
      const scored = end !== UNSENT && end.ok && prompt.scorers.length ? this.scoreNow(prompt, end) : null;
      await store.record(runId, recordOf(step, scored?.views));
      if (scored) await this.judge(itemRef(item, attempt), step.trace!.id!, prompt, scored.item);
      if (step.retryInMs === null) return;
      item = step.item;
      try {
        await sleep(step.retryInMs, undefined, { signal: starting });
        release = await this.gate.acquire(starting);
      } catch {
        await store.record(runId, recordOf(transition(item, UNSENT, attempt, this.stopReason)));
        return;
      }
    }
  }

  /**
   * Commits the attempt's `item.started` before its call goes out: after a crash every call a
   * provider may have seen is on record, and recovery closes those that left no trace as
   * interrupted. False when the run stopped meanwhile (the call is not made).
   */
  private async recordStart(item: ItemState, attempt: number): Promise<boolean> {
    const payload = { ...itemRef(item, attempt), startedAt: new Date().toISOString() };
    try {
      await this.deps.store.record(this.plan.runId, { events: [{ type: 'item.started', payload }] });
      return true;
    } catch (err) {
      if (!this.starting.signal.aborted) throw err;
      return false;
    }
  }

  private itemState(row: RunItem, prompt: PromptWork, answered: number): ItemState {
    const model = this.plan.models.get(row.modelId);
    if (!model) throw new Error(`run ${this.plan.runId} has no snapshot for model ${row.modelId}`);
    return {
      runId: this.plan.runId,
      id: row.id,
      promptIndex: row.promptIndex,
      repeatIndex: row.repeatIndex,
      model,
      conversationId: this.plan.conversations.get(row.modelId)!,
      messages: prompt.messages,
      maxRetries: this.plan.maxRetries,
      answered,
      firstStartedAt: null,
    };
  }
}

/** A `run.progress` payload: the counters as committed, with the run's active time so far. */
export function progressPayload(
  c: RunCountersView,
  priorActiveMs: number,
  elapsedMs: number,
  inFlight: number,
): EventPayloads['run.progress'] {
  const activeMs = priorActiveMs + elapsedMs;
  return {
    completed: c.completedItems,
    failed: c.failedItems,
    cancelled: c.cancelledItems,
    inFlight,
    total: c.totalItems,
    retries: c.retries,
    throughput: Math.round((throughput(c.completedItems + c.failedItems, activeMs) ?? 0) * 10) / 10,
    elapsedMs: Math.round(elapsedMs),
    activeMs: Math.round(activeMs),
  };
}

/** A step's rows and events as one commit, with the scores of its answer (those needing no model). */
function recordOf(step: Step, scores: ScoreView[] = []): RecordSet {
  const { itemUpdate, trace, messages, counters } = step;
  const events = [...step.events];
  const completed = step.events.find((e) => e.type === 'item.completed');
  if (completed && scores.length) {
    const { itemId, modelId, promptIndex, repeatIndex, attempt, traceId } = completed.payload;
    const ref = { itemId, modelId, promptIndex, repeatIndex, attempt, traceId };
    events.push({ type: 'item.scored', payload: { ...ref, scores } });
  }
  return {
    traces: trace ? [trace] : [],
    messages,
    items: itemUpdate ? [itemUpdate] : [],
    counters: counters ? [{ runId: step.item.runId, delta: counters }] : [],
    scores: itemUpdate
      ? scores.map((v) => scoreRow(step.item.runId, itemUpdate.id, v, itemUpdate.endedAt ?? undefined))
      : [],
    events,
  };
}
