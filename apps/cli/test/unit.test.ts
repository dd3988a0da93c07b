// The CLI's pure parts: the progress line, formatting, and which database `studio` opens.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, studioDatabaseUrl } from '../src/commands/studio.js';
import { progressLine } from '../src/follow.js';
import { duration, table } from '../src/format.js';

const base = {
  completed: 40,
  failed: 2,
  cancelled: 0,
  inFlight: 8,
  total: 100,
  throughput: 4,
  retries: 3,
  elapsedMs: 2_000,
  activeMs: 10_500,
  elapsedAt: 1_000,
  finished: false,
  waiting: 1,
  lastWait: 'rate_limited 429, waiting 1.2s',
  connection: null,
  rateLimit: null as { key: string; until: number; seenAt: number } | null,
};

describe('progress line', () => {
  it('shows counts, throughput, active time over every stretch, ETA, retries and retry waits', () => {
    const line = progressLine(base, 1_000);
    expect(line).toContain('42/100');
    expect(line).toContain('✓40 ✗2');
    expect(line).toContain('8 in flight');
    expect(line).toContain('4.0/s');
    expect(line).toContain('11s'); // elapsed
    expect(line).toContain('ETA 15s'); // 58 left at 4/s
    expect(line).toContain('3 retries');
    expect(line).toContain('1 waiting to retry (rate_limited 429, waiting 1.2s)');
  });

  it("says how long the run's calls wait for their provider key's rate limit", () => {
    const key = 'openai api.openai.com #3f9a1c2e';
    const waiting = { ...base, rateLimit: { key, until: 5_200, seenAt: 1_000 } };
    expect(progressLine(waiting, 2_000)).toContain(`waiting for rate limit (key ${key}) 3.2 s`);
    // Past its end, and past the moment it was told, nothing is said.
    expect(progressLine(waiting, 6_000)).not.toContain('rate limit');
    expect(progressLine({ ...waiting, finished: true }, 2_000)).not.toContain('rate limit');
  });

  it('ticks elapsed between events while running, not once finished; no ETA when done', () => {
    expect(progressLine(base, 21_000)).toContain('31s');
    const done = { ...base, completed: 98, finished: true, inFlight: 0, waiting: 0 };
    const line = progressLine(done, 99_000);
    expect(line).toContain('100/100');
    expect(line).toContain('11s');
    expect(line).not.toContain('ETA');
  });
});

describe('format', () => {
  it('aligns tables and prints — for missing values', () => {
    expect(
      table(
        ['a', 'bb'],
        [
          ['x', 1],
          ['yyy', null],
        ],
        ['l', 'r'],
      ),
    ).toBe('a    bb\n───  ──\nx     1\nyyy   —');
  });
  it('prints durations', () => {
    expect([duration(250), duration(9_960), duration(59_000), duration(61_000), duration(3_720_000)]).toEqual([
      '0.3s',
      '10.0s',
      '59s',
      '1m01s',
      '1h02m',
    ]);
  });
});

describe('studio database', () => {
  it('defaults to the server default under the repository root', () => {
    expect(studioDatabaseUrl(undefined, {})).toBe(`file:${join(REPO_ROOT, 'data/batchlight.db')}`);
  });
  it('makes a relative file: path absolute from where the user ran the command', () => {
    expect(studioDatabaseUrl('file:./x.db', { INIT_CWD: '/home/me' })).toBe('file:/home/me/x.db');
    expect(studioDatabaseUrl(undefined, { DATABASE_URL: 'file:///abs/y.db' })).toBe('file:/abs/y.db');
    expect(studioDatabaseUrl('postgresql://u:p@h/db', {})).toBe('postgresql://u:p@h/db');
  });
  it('refuses anything else in one line', () => {
    expect(() => studioDatabaseUrl('mysql://x', {})).toThrow(/^--database: expected file:PATH/);
  });
});
