// Each run's events take their seqs from the database as they commit: two processes writing one
// run's log at once never give two events one seq, and on PostgreSQL each commit is announced.
import { afterEach, describe, expect, it } from 'vitest';
import { createDb, type Db, migrate, type NewEventRow } from '../src/index.js';
import { PROVIDERS_UNDER_TEST, tempDatabase } from '../src/testing.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

const events = (runId: string, n: number, tag: string): NewEventRow[] =>
  Array.from({ length: n }, (_, i) => ({ runId, type: 'run.progress', payload: { tag, i }, createdAt: new Date() }));

const batch = (rows: NewEventRow[]) => ({
  traces: [],
  messages: [],
  items: [],
  scores: [],
  counters: new Map(),
  events: rows,
});

describe.each(PROVIDERS_UNDER_TEST)('event seqs on %s', (provider) => {
  async function open(): Promise<{ url: string; db: Db; runId: string }> {
    const t = await tempDatabase(provider);
    cleanups.push(() => t.drop());
    await migrate(t.url);
    const db = await createDb(t.url);
    cleanups.push(() => db.close());
    const set = await db.prisma.promptSet.create({ data: { name: 'set' } });
    const run = await db.prisma.run.create({ data: { promptSetId: set.id, concurrency: 1 } });
    return { url: t.url, db, runId: run.id };
  }

  it('numbers each commit on from the run’s last seq, in the order given, and says where it ended', async () => {
    const { db, runId } = await open();
    expect(await db.writeBatch(batch(events(runId, 3, 'a')))).toEqual(new Map([[runId, 3]]));
    expect(await db.writeBatch(batch(events(runId, 2, 'b')))).toEqual(new Map([[runId, 5]]));
    const log = await db.readEvents(runId, 0, 100);
    expect(log.map((e) => [e.seq, (e.payload as { tag: string }).tag])).toEqual([
      [1, 'a'],
      [2, 'a'],
      [3, 'a'],
      [4, 'b'],
      [5, 'b'],
    ]);
    await expect(db.writeBatch(batch(events('no-such-run', 1, 'x')))).rejects.toThrow();
    expect(await db.readEvents(runId, 5, 100)).toEqual([]);
  });

  it.runIf(provider === 'postgresql')(
    'gives two writers of one run distinct seqs, each commit’s contiguous, and announces every commit',
    async () => {
      const { url, db, runId } = await open();
      const other = await createDb(url);
      cleanups.push(() => other.close());
      const heard: Array<{ runId: string; lastSeq: number; count: number }> = [];
      const stop = await db.listenEvents!(
        (runs) => heard.push(...runs),
        () => undefined,
      );
      cleanups.push(stop);
      const ends = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 ? other : db).writeBatch(batch(events(runId, 3, `w${i}`)))),
      );
      const log = await db.readEvents(runId, 0, 1000);
      expect(log.map((e) => e.seq)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
      for (let i = 0; i < 20; i++) {
        const mine = log.filter((e) => (e.payload as { tag: string }).tag === `w${i}`).map((e) => e.seq);
        const last = ends[i]!.get(runId)!;
        expect(mine, `writer ${i}`).toEqual([last - 2, last - 1, last]);
      }
      for (let t = 0; heard.length < 20 && t < 100; t++) await new Promise((r) => setTimeout(r, 20));
      expect(heard.map((h) => h.lastSeq).sort((a, b) => a - b)).toEqual(
        Array.from({ length: 20 }, (_, i) => 3 * (i + 1)),
      );
      expect(heard.every((h) => h.runId === runId && h.count === 3)).toBe(true);
    },
  );
});
