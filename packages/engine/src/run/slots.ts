// A run's concurrency across processes (the distributed executor): its call slots are members of
// a sorted set on Redis, each scored with when it expires. A process renews the slots it holds
// while it holds them; a process that dies stops renewing, and its slots come back once they
// expire. A release is published, so a waiting process tries again at once (and every
// `POLL_MS` anyway, for slots that expired). Own short scripts: rate-limiter-flexible limits
// rates and counts, not holders that give their slot back.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Gate } from './gate.js';

/** How often a waiting process tries again without hearing of a release (expired slots). */
const POLL_MS = 250;

// KEYS[1]: the run's slots; ARGV: member, cap, ttl ms. Drops expired holders, then takes a slot if
// one is free. Redis's own clock (TIME): the processes' clocks do not matter. Answers the count
// held after (negative: none taken).
const ACQUIRE = `local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local n = redis.call('ZCARD', KEYS[1])
if n >= tonumber(ARGV[2]) then return -n end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]) * 2)
return n + 1`;

// ARGV: ttl ms, members: renews those still held (XX: one that expired is not brought back).
const RENEW = `local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[1]), ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]) * 2)
return 1`;

/** The Redis side shared by every run's slots in one process: commands, and the release channel. */
export class SlotHub {
  private readonly waiting = new Map<string, Set<() => void>>();
  /**
   * One gate per run in this process, shared by the run's shards executing here (with how many):
   * its callers queue here, and one of them at a time asks Redis, so a release wakes one asker
   * per process, not one per shard.
   */
  private readonly gates = new Map<string, { gate: RedisGate; users: number }>();
  private subscribed: Promise<unknown> | null = null;

  constructor(
    readonly redis: Redis,
    private readonly subscriber: Redis,
    readonly prefix: string,
    /** A slot not renewed for this long is free again (a dead process's slots). */
    readonly ttlMs: number,
  ) {
    subscriber.on('message', (_channel: string, runId: string) => {
      for (const wake of this.waiting.get(runId) ?? []) wake();
    });
  }

  key(runId: string): string {
    return `${this.prefix}:slots:${runId}`;
  }

  channel(): string {
    return `${this.prefix}:slots-freed`;
  }

  /** The gate of `concurrency` slots for `runId`, shared with every process; `close()` it when done. */
  gate(runId: string, concurrency: number): RedisGate {
    this.subscribed ??= this.subscriber.subscribe(this.channel());
    const known = this.gates.get(runId);
    if (known) {
      known.users++;
      return known.gate;
    }
    const gate = new RedisGate(this, runId, concurrency);
    this.gates.set(runId, { gate, users: 1 });
    return gate;
  }

  /** One user of the run's gate is done; the last one forgets it. */
  forget(runId: string): void {
    const g = this.gates.get(runId);
    if (g && --g.users <= 0) this.gates.delete(runId);
  }

  /** Called on a release here or elsewhere: waiters of the run try again. */
  listen(runId: string, wake: () => void): () => void {
    const set = this.waiting.get(runId) ?? new Set();
    this.waiting.set(runId, set);
    set.add(wake);
    return () => {
      set.delete(wake);
      if (!set.size) this.waiting.delete(runId);
    };
  }

  /** Renews every slot held in this process (the executor's beat, well within `ttlMs`). */
  async renew(): Promise<void> {
    await Promise.all([...this.gates.values()].map((g) => g.gate.renew()));
  }
}

/** A run's concurrency cap held on Redis; acquired in order by this process's callers. */
export class RedisGate implements Gate {
  private readonly held = new Set<string>();
  private readonly queue: Array<{ resolve: (release: () => void) => void; reject: (e: unknown) => void }> = [];
  private pumping = false;
  private readonly self = randomUUID().slice(0, 8);
  private n = 0;

  constructor(
    private readonly hub: SlotHub,
    private readonly runId: string,
    readonly concurrency: number,
  ) {}

  /** The run's calls in flight in this process (other processes hold the rest of its slots). */
  get inFlight(): number {
    return this.held.size;
  }

  acquire(signal: AbortSignal): Promise<() => void> {
    signal.throwIfAborted();
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve: (release: () => void) => {
          signal.removeEventListener('abort', onAbort);
          resolve(release);
        },
        reject,
      };
      const onAbort = () => {
        const i = this.queue.indexOf(waiter);
        if (i >= 0) this.queue.splice(i, 1);
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.queue.push(waiter);
      void this.pump();
    });
  }

  /** Takes slots for the waiters, first come first served, one Redis round trip each. */
  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    const { redis } = this.hub;
    const key = this.hub.key(this.runId);
    try {
      while (this.queue.length) {
        const member = `${this.self}:${this.n++}`;
        let count: number;
        try {
          count = Number(await redis.eval(ACQUIRE, 1, key, member, this.concurrency, this.hub.ttlMs));
        } catch (err) {
          // Redis is away: the waiters fail (the shard's job ends in error and is tried again).
          for (const w of this.queue.splice(0)) w.reject(err);
          return;
        }
        if (count > 0) {
          const w = this.queue.shift();
          this.held.add(member);
          if (w) w.resolve(this.releaser(member));
          else void this.release(member); // its waiter gave up meanwhile
          continue;
        }
        await this.nextChance();
      }
    } finally {
      this.pumping = false;
    }
  }

  /** Until a slot of the run is released (here or elsewhere), or `POLL_MS`. */
  private nextChance(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        stop();
        resolve();
      };
      const stop = this.hub.listen(this.runId, done);
      const timer = setTimeout(done, POLL_MS);
    });
  }

  private releaser(member: string): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      void this.release(member);
    };
  }

  private async release(member: string): Promise<void> {
    this.held.delete(member);
    try {
      await this.hub.redis
        .multi()
        .zrem(this.hub.key(this.runId), member)
        .publish(this.hub.channel(), this.runId)
        .exec();
    } catch {
      // Redis is away: the slot expires after ttlMs.
    }
  }

  async renew(): Promise<void> {
    if (!this.held.size) return;
    await this.hub.redis.eval(RENEW, 1, this.hub.key(this.runId), this.hub.ttlMs, ...this.held);
  }

  /** One execution using the gate is over. */
  close(): void {
    this.hub.forget(this.runId);
  }
}
