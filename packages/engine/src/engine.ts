// The engine: creates runs (validated, snapshotted, written in one transaction), executes them,
// cancels and resumes them, recovers them after a crash, and makes single chat calls through the
// same recording path.

import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Db, NewRunItem, Prisma, Run } from '@batchlight/db';
import type {
  CallPolicySpec,
  ChatMessage,
  LimitStoreOptions,
  LlmClient,
  LlmLimits,
  ResolvedModel,
} from '@batchlight/llm';
import { CallPolicy, createThreadedLlmClient, DEFAULT_TIMEOUT_MS, endpointOf, failureCause } from '@batchlight/llm';
import type { ScorerSpec } from '@batchlight/scoring';
import { ConflictError, EngineInputError, NotFoundError, ShuttingDownError } from './errors.js';
import { createInProcessBus, type EventBus } from './events/bus.js';
import { startRelay } from './events/relay.js';
import { RunStatsStore } from './events/stats-store.js';
import { ACTIVE_RUN_STATUSES, FINISHED_RUN_STATUSES } from './events/types.js';
import { BatchWriter } from './events/writer.js';
import { monotonicUuidv7, uuidv7 } from './ids.js';
import { resolveRegistryModel, snapshotOf } from './models/resolve.js';
import type { DistributedOptions, ShardExecutor } from './run/distributed.js';
import { RunExecution } from './run/execution.js';
import { promptAsserts, readPlan } from './run/plan.js';
import { assistantMessageRecord, promptMessageRecord, traceRecord } from './run/records.js';
import { closeInterruptedCalls } from './run/recovery.js';
import { rescoreRun } from './run/rescore.js';
import { checkRunScorers, resolveJudges } from './run/scoring.js';
import { RunStore } from './run/store.js';

export type { DistributedOptions };
export { ConflictError, EngineInputError, NotFoundError, ShuttingDownError };

export interface EngineOptions {
  db: Db;
  llm?: LlmClient;
  bus?: EventBus;
  /** Decrypts keys stored in the registry (BATCHLIGHT_SECRET_KEY). */
  secretKey?: string;
  log?: (message: string) => void;
  /** Key variables and hosts models may use (BATCHLIGHT_CREDENTIAL_ENVS, BATCHLIGHT_PROVIDER_HOSTS). */
  policy?: CallPolicySpec;
  limits?: {
    /** Items one run may hold (BATCHLIGHT_MAX_RUN_ITEMS); default 1,000,000. */
    runItems?: number;
    /** For the engine's own LLM client. */
    llm?: LlmLimits;
  };
  /** For the engine's own LLM client: where provider keys' limits are counted (Redis to share them). */
  rateLimits?: LimitStoreOptions;
  /**
   * Whether this process executes runs (BATCHLIGHT_ROLE `all` or `worker`; default true). One
   * that does not (`api`) creates, cancels and resumes them; a process that executes takes them.
   */
  execute?: boolean;
  /**
   * Whether events of runs other processes execute reach this one's subscribers (PostgreSQL
   * LISTEN/NOTIFY; default true). A `worker` has no subscribers and does not read them.
   */
  relay?: boolean;
  /** Leases on runs (several processes on one database: each run executes in one of them). */
  lease?: {
    /** A holder that stops renewing loses its runs after this long (BATCHLIGHT_LEASE_MS). */
    leaseMs?: number;
    /** How often leases are renewed, cancels asked from elsewhere seen, unheld runs taken (BATCHLIGHT_HEARTBEAT_MS). */
    heartbeatMs?: number;
  };
  /**
   * The distributed executor (REDIS_URL, PostgreSQL): runs are split into shards on a BullMQ queue
   * that every process of role `all` or `worker` takes from. Absent: each run executes in one process.
   */
  distributed?: DistributedOptions;
}

export const DEFAULT_MAX_RUN_ITEMS = 1_000_000;
export const DEFAULT_LEASE_MS = 15_000;
export const DEFAULT_HEARTBEAT_MS = 1_000;

export interface CreateRunInput {
  promptSetId: string;
  modelIds: string[];
  concurrency: number;
  delayMs: number;
  promptLimit?: number | null;
  repeats?: number;
  name?: string | null;
  maxRetries?: number;
  timeoutMs?: number;
  /** Scorers run on every answered item, beside the prompts' own asserts. */
  scorers?: ScorerSpec[];
}

export interface ChatInput {
  modelId: string;
  messages: ChatMessage[];
  conversationId?: string;
  timeoutMs?: number;
}

export type Engine = ReturnType<typeof createEngine>;

const FINISHED = new Set<string>(FINISHED_RUN_STATUSES);
const ACTIVE = new Set<string>(ACTIVE_RUN_STATUSES);

export function createEngine(options: EngineOptions) {
  const { db, secretKey } = options;
  const prisma = db.prisma;
  // By default the calls run on a worker thread (the other core), off the loop that commits.
  const ownLlm = options.llm
    ? null
    : createThreadedLlmClient({ policy: options.policy, limits: options.limits?.llm, rateLimits: options.rateLimits });
  const policy = new CallPolicy(options.policy);
  const maxRunItems = options.limits?.runItems ?? DEFAULT_MAX_RUN_ITEMS;
  const llm = options.llm ?? ownLlm!;
  const bus = options.bus ?? createInProcessBus();
  const log = options.log ?? ((m: string) => console.error(m));
  const stats = new RunStatsStore(db, log);
  // Distributed: a run's events are committed by several processes, and each process's bus must
  // see them in seq order: they all come from the log through the relay, none straight from the
  // writer (which would hand on its own before the others' it has not read yet).
  const writer = options.distributed
    ? new BatchWriter(db, { ...bus, publish: () => undefined })
    : new BatchWriter(db, bus, (events) => stats.observe(events));
  const executes = options.execute ?? true;
  const leaseMs = options.lease?.leaseMs ?? DEFAULT_LEASE_MS;
  const heartbeatMs = options.lease?.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  // Unique per process start: a restarted process never mistakes its predecessor's leases for its own.
  const executorId = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const store = new RunStore(db, writer, bus, { executorId, leaseMs }, log);
  const relay =
    options.relay === false
      ? Promise.resolve(null)
      : startRelay(
          db,
          bus,
          stats,
          (runId) => !options.distributed && (executions.has(runId) || starting.has(runId)),
          log,
        ).catch((err: unknown) => {
          log(`events of other processes will not reach this one: ${String(err)}`);
          return null;
        });
  const executions = new Map<string, RunExecution>();
  // BullMQ and its Redis client load only when distributed: an embedded server would carry them
  // (about 6 MB of RSS) for nothing.
  let shardExecutor: ShardExecutor | null = null;
  const distributed = options.distributed;
  const shards = distributed
    ? import('./run/distributed.js').then(({ createShardExecutor }) => {
        shardExecutor = createShardExecutor(
          { prisma, secretKey, callable, llm, store, log, executes, beatMs: heartbeatMs },
          distributed,
        );
        return shardExecutor;
      })
    : null;
  /** Runs whose execution is being set up: start() registers here before its first await. */
  const starting = new Map<string, Promise<void>>();
  /** One resume, cancel or recovery of a run at a time: each reads the run's state, then changes it. */
  const runLocks = new Map<string, Promise<unknown>>();
  let closing = false;
  let closed: Promise<void> | null = null;
  const deadlines: NodeJS.Timeout[] = [];

  function withRunLock<T>(runId: string, fn: () => Promise<T>): Promise<T> {
    const before = runLocks.get(runId) ?? Promise.resolve();
    const mine = before.then(fn, fn);
    const tail = mine.catch(() => undefined);
    runLocks.set(runId, tail);
    void tail.then(() => {
      if (runLocks.get(runId) === tail) runLocks.delete(runId);
    });
    return mine;
  }

  /** Refuses what would start calls once the engine is closing. */
  function refuseWhileClosing(what: string) {
    if (closing) throw new ShuttingDownError(what);
  }

  /**
   * Starts executing a run; a run executing, or being started, already is left alone. While
   * closing it does not start (the run stays queued or running: the next start-up resumes it).
   */
  function start(runId: string, opts: { recovering?: boolean; deadHolder?: string } = {}): Promise<void> {
    // Distributed: any process hands the run to the shard queue (an `api` one too); workers take it.
    if (shards) return closing ? Promise.resolve() : shards.then((s) => s.enqueue(runId, opts)).then(() => undefined);
    if (closing || !executes || executions.has(runId)) return Promise.resolve();
    let pending = starting.get(runId);
    if (!pending) {
      pending = launch(runId, opts).finally(() => starting.delete(runId));
      starting.set(runId, pending);
    }
    return pending;
  }

  /** Executes the run here if this process gets its lease (another live one may hold it). */
  async function launch(runId: string, opts: { recovering?: boolean; deadHolder?: string }): Promise<void> {
    if (!(await store.claim(runId, opts))) return;
    try {
      await execute(runId);
    } catch (err) {
      await store.letGo(runId).catch(() => undefined);
      throw err;
    }
  }

  /** Reads what executing the claimed run needs, and executes it. */
  async function execute(runId: string): Promise<void> {
    const { run, plan } = await readPlan({ prisma, secretKey, callable }, runId);
    if (closing) {
      await store.letGo(runId); // close() began while this read the run: it resumes at the next start-up
      return;
    }
    if (run.cancelRequestedAt) {
      await store.finish(runId, { status: 'cancelled', cancelPending: true }); // asked while no one held it
      return;
    }
    const execution = new RunExecution({ prisma, llm, store, log }, plan);
    executions.set(runId, execution);
    stats.pin(runId);
    void execution.done.finally(() => {
      executions.delete(runId);
      void stats.unpin(runId);
    });
  }

  /** `inTransaction` runs first in the transaction that creates the run (an idempotency key's write). */
  async function createRun(
    input: CreateRunInput,
    opts: { inTransaction?: (tx: Prisma.TransactionClient, runId: string) => Promise<void> } = {},
  ): Promise<Run> {
    refuseWhileClosing('run');
    const ids = input.modelIds;
    if (!ids.length) throw new EngineInputError('modelIds', 'choose at least one model');
    const dup = ids.find((id, i) => ids.indexOf(id) !== i);
    if (dup) throw new EngineInputError('modelIds', `model ${dup} is listed twice`);
    const models = await prisma.model.findMany({ where: { id: { in: ids } } });
    const byId = new Map(models.map((m) => [m.id, m]));
    for (const id of ids) {
      const m = byId.get(id);
      if (!m) throw new EngineInputError('modelIds', `unknown model ${id}`);
      if (m.archivedAt) throw new EngineInputError('modelIds', `model "${m.name}" is archived`);
      // Resolve now so a key that cannot be decrypted, or one the policy refuses, fails here,
      // not on the first call.
      try {
        callable(resolveRegistryModel(m, secretKey));
      } catch (err) {
        throw new EngineInputError('modelIds', `model "${m.name}": ${(err as Error).message}`);
      }
    }
    const set = await prisma.promptSet.findUnique({ where: { id: input.promptSetId } });
    if (!set) throw new EngineInputError('promptSetId', `unknown prompt set ${input.promptSetId}`);
    const scorers = input.scorers?.length ? await checkRunScorers(prisma, input.scorers, secretKey, callable) : null;
    // The prompts' judges too: a run whose asserts name a model that cannot judge fails here.
    const judges = await resolveJudges(prisma, (await promptAsserts(prisma, set.id)).flat(), secretKey, callable);
    for (const j of judges.values())
      if (typeof j === 'string') throw new EngineInputError('promptSetId', `an assert of the prompt set: ${j}`);
    const available = await prisma.prompt.count({ where: { promptSetId: set.id } });
    if (!available) throw new EngineInputError('promptSetId', `prompt set "${set.name}" has no prompts`);
    const promptCount = Math.min(input.promptLimit ?? available, available);
    const repeats = input.repeats ?? 1;
    const runId = uuidv7();
    const nextId = monotonicUuidv7();
    const ordered = ids.map((id) => byId.get(id)!);

    const totalItems = promptCount * repeats * ordered.length;
    if (totalItems > maxRunItems) {
      const n = (x: number) => x.toLocaleString('en');
      throw new EngineInputError(
        'promptLimit',
        `this run would hold ${n(totalItems)} items (${n(promptCount)} prompts × ${repeats} repeats × ${ordered.length} models); ` +
          `a run holds at most ${n(maxRunItems)} (BATCHLIGHT_MAX_RUN_ITEMS): lower promptLimit or repeats, or choose fewer models`,
      );
    }
    // Items in the order they run (prompt by prompt, each repeat, each model in turn), made as
    // bulkInsert asks for them: a 100,000-item run never holds 100,000 item objects.
    function* items(): Generator<NewRunItem> {
      for (let promptIndex = 0; promptIndex < promptCount; promptIndex++)
        for (let repeatIndex = 0; repeatIndex < repeats; repeatIndex++)
          for (const m of ordered) yield { id: nextId(), runId, modelId: m.id, promptIndex, repeatIndex };
    }

    const claim = opts.inTransaction;
    const run = await store.create(
      {
        run: {
          id: runId,
          name: input.name ?? null,
          status: 'queued',
          promptSetId: set.id,
          concurrency: input.concurrency,
          delayMs: input.delayMs,
          promptLimit: input.promptLimit ?? null,
          repeats,
          maxRetries: input.maxRetries ?? 3,
          timeoutMs: input.timeoutMs ?? DEFAULT_TIMEOUT_MS,
          totalItems,
          ...(scorers ? { scorers: scorers as Prisma.InputJsonValue } : {}),
        },
        models: ordered.map((m, i) => snapshotOf(m, runId, i) as Prisma.RunModelCreateManyInput),
        conversations: ordered.map((m) => ({ id: uuidv7(), runId, modelId: m.id, title: `${set.name} · ${m.name}` })),
        items: items(),
      },
      claim && ((tx) => claim(tx, runId)),
    );
    await start(runId);
    return run;
  }

  function cancelRun(runId: string): Promise<Run> {
    return withRunLock(runId, () => cancelLocked(runId));
  }

  async function cancelLocked(runId: string): Promise<Run> {
    await starting.get(runId)?.catch(() => undefined); // being started: cancel its execution
    const run = await prisma.run.findUnique({ where: { id: runId } });
    if (!run) throw new NotFoundError('runId', `run ${runId} not found`);
    const execution = executions.get(runId);
    if (!execution && FINISHED.has(run.status)) {
      throw new ConflictError('runId', `the run is already ${run.status}; there is nothing to cancel`);
    }
    if (execution) {
      execution.stop('cancel');
      await execution.done;
    } else if (run.status === 'queued' || run.status === 'running' || run.status === 'interrupted') {
      // Not executing here (e.g. interrupted and not yet resumed): cancelled as an execution ends,
      // or by the process executing it, which sees the request at its next heartbeat.
      if (!(await store.cancelIdle(runId))) {
        await (await shards)?.announceCancel(runId); // its shards' workers stop now, not at their next beat
        return settledElsewhere(runId);
      }
    }
    return prisma.run.findUniqueOrThrow({ where: { id: runId } });
  }

  /**
   * Deletes a run that is not going (completed, failed, cancelled or interrupted) with everything
   * it holds: items, traces (judges' too), messages, conversations, events, aggregates and scores,
   * in one statement the schema's cascades carry out (one transaction: all of it or none). A
   * queued or running run is refused, naming its status.
   */
  function deleteRun(runId: string): Promise<{ id: string; name: string | null; status: string }> {
    return withRunLock(runId, async () => {
      await starting.get(runId)?.catch(() => undefined);
      const run = await prisma.run.findUnique({ where: { id: runId }, select: { id: true, name: true, status: true } });
      if (!run) throw new NotFoundError('runId', `run ${runId} not found`);
      if (executions.has(runId) || ACTIVE.has(run.status)) {
        const status = executions.has(runId) ? 'running' : run.status;
        throw new ConflictError('runId', `the run is ${status}: cancel it first, then delete it`);
      }
      await stats.forget(runId);
      await prisma.run.delete({ where: { id: runId } });
      return run;
    });
  }

  /** The run once its holder (another process) has ended it, or as it is after two leases' time. */
  async function settledElsewhere(runId: string): Promise<Run> {
    const end = Date.now() + 2 * leaseMs;
    for (;;) {
      const run = await prisma.run.findUniqueOrThrow({ where: { id: runId } });
      if (FINISHED.has(run.status) || Date.now() > end) return run;
      await sleep(Math.min(100, heartbeatMs));
    }
  }

  /** Goes on with a stopped run: cancelled items (and, if asked, failed ones) run again. */
  function resumeRun(runId: string, opts: { retryFailed?: boolean } = {}): Promise<Run> {
    return withRunLock(runId, () => resumeLocked(runId, opts));
  }

  async function resumeLocked(runId: string, opts: { retryFailed?: boolean }): Promise<Run> {
    // Whether it executes here is asked before the run is read: under the run's lock no execution
    // starts here, and one that has ended has committed its end, so the status read below is the
    // one the run keeps (read first, an execution ending in between would be reopened behind it).
    const executingHere = executions.has(runId) || starting.has(runId);
    const run = await prisma.run.findUnique({ where: { id: runId } });
    if (!run) throw new NotFoundError('runId', `run ${runId} not found`);
    refuseWhileClosing('run');
    if (executingHere || (await store.heldElsewhere(runId))) return run;
    if (run.status === 'completed' && !opts.retryFailed) {
      throw new ConflictError(
        'runId',
        'the run is already completed; resume with retryFailed to run its failed items again',
      );
    }
    const statuses = opts.retryFailed ? ['cancelled', 'failed'] : ['cancelled'];
    await closeInterruptedCalls(prisma, runId);
    const reopened = await store.reopen(runId, statuses);
    if (!reopened) return prisma.run.findUniqueOrThrow({ where: { id: runId } });
    await stats.reopen(runId, reopened);
    await start(runId);
    return prisma.run.findUniqueOrThrow({ where: { id: runId } });
  }

  /**
   * Adds `scorers` to a finished run (a scorer of the same name is replaced) and scores every
   * answered item with them from the stored outputs: no tested model is called, only judges.
   */
  async function scoreRun(runId: string, scorers: ScorerSpec[]) {
    refuseWhileClosing('scoring');
    return withRunLock(runId, async () => {
      const run = await prisma.run.findUnique({ where: { id: runId } });
      if (!run) throw new NotFoundError('runId', `run ${runId} not found`);
      if (executions.has(runId) || starting.has(runId) || !FINISHED.has(run.status))
        throw new ConflictError('runId', `the run is ${run.status}: score it once it has finished`);
      if (!scorers.length) throw new EngineInputError('scorers', 'give at least one scorer');
      const checked = await checkRunScorers(prisma, scorers, secretKey, callable);
      const judges = await resolveJudges(prisma, checked, secretKey, callable);
      return rescoreRun({ prisma, writer, llm }, run, checked, judges);
    });
  }

  /**
   * On start-up, and at each heartbeat: runs no live process holds (left running or queued by a
   * crash, or by a holder that died) go on here where they stopped. Returns those taken here.
   */
  async function recover(): Promise<string[]> {
    if (!executes || closing) return [];
    const taken: string[] = [];
    for (const { id, deadHolder } of await store.unheld(Number.MAX_SAFE_INTEGER)) {
      await withRunLock(id, async () => {
        if (executions.has(id) || starting.has(id)) return; // a resume got here first
        await start(id, { recovering: true, deadHolder });
        if (executions.has(id)) taken.push(id);
      });
    }
    return taken;
  }

  /**
   * Renews this process's leases, stops the runs it lost (another process took them after its
   * lease ran out) and those a cancel was asked of elsewhere, and takes runs no one holds.
   */
  async function heartbeat(): Promise<void> {
    const renewing = [...executions];
    if (renewing.length) {
      const held = await store.renew(renewing.map(([id]) => id));
      for (const [id, execution] of renewing) {
        // Only the execution the lease was renewed for: it may have finished (and let go of the
        // lease) while this read, and a resume may have started a new one, which holds its own.
        if (executions.get(id) !== execution) continue;
        const lease = held.get(id);
        if (!lease) {
          log(`run ${id}: its lease was taken over by another process; stopping here`);
          execution.lose();
        } else if (lease.cancelRequested) execution.stop('cancel');
      }
    }
    await recover();
  }
  let beating: Promise<void> | null = null;
  const heartbeats = setInterval(() => {
    beating ??= heartbeat()
      .catch((err: unknown) => log(`heartbeat: ${String(err)}`))
      .finally(() => {
        beating = null;
      });
  }, heartbeatMs);
  heartbeats.unref();

  /** One call through the same recording path a run uses (no run, its own conversation). */
  async function chat(input: ChatInput) {
    refuseWhileClosing('call');
    if (!input.messages.length) throw new EngineInputError('messages', 'send at least one message');
    const row = await prisma.model.findUnique({ where: { id: input.modelId } });
    if (!row) throw new EngineInputError('modelId', `unknown model ${input.modelId}`);
    if (row.archivedAt) throw new EngineInputError('modelId', `model "${row.name}" is archived`);
    let model: ResolvedModel;
    try {
      model = callable(resolveRegistryModel(row, secretKey));
    } catch (err) {
      throw new EngineInputError('modelId', (err as Error).message);
    }
    let conversationId = input.conversationId;
    if (conversationId) {
      const conv = await prisma.conversation.findUnique({ where: { id: conversationId } });
      if (!conv || conv.runId)
        throw new EngineInputError('conversationId', `unknown chat conversation ${conversationId}`);
      if (conv.modelId !== row.id)
        throw new EngineInputError('conversationId', 'that conversation belongs to another model');
    } else {
      conversationId = (
        await prisma.conversation.create({
          data: { id: uuidv7(), modelId: row.id, title: input.messages[0]!.content.slice(0, 80) },
        })
      ).id;
    }
    const outcome = await llm.call(model, {
      messages: input.messages,
      timeoutMs: input.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    });
    const trace = traceRecord(outcome, input.messages, { runId: null, itemId: null, attempt: 1 });
    await writer.write({
      traces: [trace],
      messages: [
        promptMessageRecord(outcome, input.messages, conversationId, null),
        ...(outcome.ok ? [assistantMessageRecord(outcome, trace.id!, conversationId, null)] : []),
      ],
    });
    return { conversationId, traceId: trace.id!, outcome };
  }

  /** One short prompt to check a model's connection; nothing is recorded. A failure names its URL and cause. */
  async function testModel(modelId: string) {
    refuseWhileClosing('call');
    const row = await prisma.model.findUnique({ where: { id: modelId } });
    if (!row) throw new NotFoundError('modelId', `model ${modelId} not found`);
    let model: ResolvedModel;
    try {
      model = callable(resolveRegistryModel(row, secretKey));
    } catch (err) {
      throw new EngineInputError('modelId', (err as Error).message);
    }
    const o = await llm.call(model, {
      messages: [{ role: 'user', content: 'Reply with the single word: ok' }],
      params: { maxTokens: 16 },
      timeoutMs: 20_000,
    });
    return o.ok
      ? {
          ok: true as const,
          latencyMs: o.latencyMs,
          ttftMs: o.ttftMs,
          requestedModel: o.requestedModel,
          responseModel: o.responseModel,
          attribution: o.attribution,
          output: o.output.slice(0, 200),
        }
      : {
          ok: false as const,
          latencyMs: o.latencyMs,
          requestedModel: o.requestedModel,
          /** Where the call went, and what stopped it (refused, DNS, TLS, key rejected, timeout). */
          url: endpointOf(model),
          cause: failureCause(o.error),
          error: o.error,
        };
  }

  /** `model`, when the policy lets it be called (the LLM client checks again at each call). */
  function callable(model: ResolvedModel): ResolvedModel {
    const refusal = policy.refusal(model);
    if (refusal) throw new Error(`${refusal.field}: ${refusal.message}`);
    return model;
  }

  /**
   * Shuts down. No call starts any more; the calls in flight get `graceMs` to finish and be
   * committed (so a restart sends none of them again), then those still open are aborted and
   * closed as interrupted. Runs stay `running` and resume at the next start-up. A later call with
   * a shorter grace (a second SIGTERM: 0) cuts the wait short; every call returns the same end.
   */
  function close(opts: { graceMs?: number } = {}): Promise<void> {
    closing = true;
    const cutOff = () => {
      for (const e of executions.values()) e.stop('shutdown');
      shardExecutor?.cutOff();
    };
    const graceMs = opts.graceMs ?? 0;
    if (graceMs > 0) {
      for (const e of executions.values()) e.drain();
      shardExecutor?.drain();
      deadlines.push(setTimeout(cutOff, graceMs));
    } else cutOff();
    clearInterval(heartbeats);
    closed ??= (async () => {
      await beating;
      // A run being started reads the database still; it sees `closing` and executes nothing.
      await Promise.all([...starting.values()].map((p) => p.catch(() => undefined)));
      await Promise.all([...executions.values()].map((e) => e.done.catch(() => undefined)));
      await (await shards)?.close(); // after its shards have ended and been moved back to the queue
      for (const t of deadlines) clearTimeout(t);
      await writer.close();
      await (await relay)?.close();
      await stats.flush();
      await ownLlm?.close();
    })();
    return closed;
  }

  return {
    db,
    bus,
    writer,
    createRun,
    scoreRun,
    cancelRun,
    resumeRun,
    deleteRun,
    recover,
    chat,
    testModel,
    close,
    /** The run's aggregates as of its last committed event (`seq`): subscribe from there. */
    snapshot: (runId: string) => stats.snapshot(runId),
    isExecuting: (runId: string) =>
      executions.has(runId) || starting.has(runId) || (shardExecutor?.executing(runId) ?? false),
    /** The runs executing in this process now (a shard of them, when distributed). */
    executingRuns: () => [...new Set([...executions.keys(), ...(shardExecutor?.runs() ?? [])])],
    /** Distributed: shards waiting and executing on the queue, and this process's; null when embedded. */
    queueHealth: () => (shards ? shards.then((s) => s.health()) : Promise.resolve(null)),
    /** This process's name on the runs it holds (Run.executorId). */
    executorId,
    /** Shutting down: no run or call starts any more. */
    isClosing: () => closing,
    /** Resolves when the run's execution here ends (immediately when it is not executing). */
    settled: async (runId: string) => {
      await starting.get(runId)?.catch(() => undefined);
      await executions.get(runId)?.done;
    },
  };
}
