// A run's event log is read where no write waits for it: on SQLite a read-only connection of its
// own. A read issued while a write transaction of this process is open neither waits for it (the
// ORM's connection would: every query of it takes the write lock) nor sees its uncommitted rows.
import { afterEach, describe, expect, it } from 'vitest';
import { createDb, migrate } from '../src/index.js';
import { PROVIDERS_UNDER_TEST, tempDatabase } from '../src/testing.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

describe.each(PROVIDERS_UNDER_TEST)('readEvents on %s', (provider) => {
  async function withLog(events: number) {
    const t = await tempDatabase(provider);
    cleanups.push(() => t.drop());
    await migrate(t.url);
    const db = await createDb(t.url);
    cleanups.push(() => db.close());
    const set = await db.prisma.promptSet.create({ data: { name: 'set' } });
    const run = await db.prisma.run.create({ data: { promptSetId: set.id, concurrency: 1 } });
    const at = new Date('2026-11-30T01:00:00.000Z');
    await db.writeBatch({
      traces: [],
      messages: [],
      items: [],
      scores: [],
      counters: new Map(),
      events: Array.from({ length: events }, (_, i) => ({
        runId: run.id,
        type: 'run.progress',
        payload: { completed: i, note: 'ünïcode ✓' },
        createdAt: at,
      })),
    });
    return { db, runId: run.id, at };
  }

  it('pages a log in seq order with payloads and times as written', async () => {
    const { db, runId, at } = await withLog(25);
    const first = await db.readEvents(runId, 0, 10);
    expect(first.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(first[0]).toEqual({
      runId,
      seq: 1,
      type: 'run.progress',
      payload: { completed: 0, note: 'ünïcode ✓' },
      createdAt: at,
    });
    const rest = await db.readEvents(runId, 20, 10);
    expect(rest.map((e) => e.seq)).toEqual([21, 22, 23, 24, 25]);
    expect(await db.readEvents('no-such-run', 0, 10)).toEqual([]);
  });

  it('does not wait behind an open write transaction, nor see its uncommitted events', async () => {
    const { db, runId } = await withLog(3);
    const order: string[] = [];
    await db.prisma.$transaction(async (tx) => {
      await tx.runEvent.create({ data: { runId, seq: 4, type: 'run.progress', payload: {} } });
      order.push('written, not committed');
      // Through the ORM this read would wait for the transaction that awaits it: a deadlock.
      const seen = await db.readEvents(runId, 0, 100);
      order.push(`read ${seen.map((e) => e.seq).join(',')}`);
    });
    order.push('committed');
    expect(order).toEqual(['written, not committed', 'read 1,2,3', 'committed']);
    expect((await db.readEvents(runId, 0, 100)).map((e) => e.seq)).toEqual([1, 2, 3, 4]);
  });
});
