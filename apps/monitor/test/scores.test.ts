// How the monitor words and colours scores: a cell's one verdict and a pass rate with its interval.
import { describe, expect, it } from 'vitest';
import { cellVerdict, passRateText, scoreTitle } from '../src/scores';

const s = (status: string, scorer = 'contains:expected', score: number | null = status === 'pass' ? 1 : 0) => ({
  scorer,
  status,
  score: status === 'error' ? null : score,
  reason: `${scorer} ${status}`,
});

describe('cellVerdict', () => {
  it('fails on any failing scorer, errors on an unjudged one, passes only when all pass', () => {
    expect(cellVerdict([])).toBeNull();
    expect(cellVerdict([s('pass'), s('pass', 'length:..100')])).toBe('pass');
    expect(cellVerdict([s('pass'), s('fail', 'equals:expected')])).toBe('fail');
    // An error is not a failure, but the cell did not pass either.
    expect(cellVerdict([s('pass'), s('error', 'judge:j')])).toBe('error');
    expect(cellVerdict([s('error', 'judge:j'), s('fail')])).toBe('fail');
    // A status the monitor does not know never reads as a pass.
    expect(cellVerdict([s('pass'), { ...s('pass'), status: 'maybe' }])).toBe('error');
  });
});

describe('scoreTitle', () => {
  it('names the scorer, its verdict, its score and the reason', () => {
    expect(
      scoreTitle({ scorer: 'contains:expected', status: 'fail', score: 0, reason: 'does not contain "Lisbon"' }),
    ).toBe('contains:expected: fail 0.00 — does not contain "Lisbon"');
    expect(scoreTitle({ scorer: 'judge:j', status: 'error', score: null, reason: 'no verdict' })).toBe(
      'judge:j: error — no verdict',
    );
  });
});

describe('passRateText', () => {
  it('shows the rate with its 95% interval in percent, or a dash when nothing was judged', () => {
    // Wilson 45/50 = 0.7864–0.9565 (the published value the scoring package is tested on).
    expect(passRateText({ value: 0.9, low: 0.7864, high: 0.95653 })).toBe('90.0% (95% CI 78.6–95.7%)');
    expect(passRateText({ value: 1, low: 0.72246, high: 1 })).toBe('100.0% (95% CI 72.2–100.0%)');
    expect(passRateText(null)).toBe('—');
  });
});
