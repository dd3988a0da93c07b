// @vitest-environment jsdom

import { cleanup, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { AttributionBadge, Field, ProgressBar } from '../src/components/ui';

afterEach(cleanup);

describe('ui components', () => {
  it('shows a field error at its field, in place of the hint', () => {
    render(
      <Field label="Concurrency" hint="1–256" error="must be between 1 and 256">
        <input name="concurrency" />
      </Field>,
    );
    const label = screen.getByText('Concurrency').closest('label')!;
    expect(label.className).toContain('has-error');
    expect(label.textContent).toContain('must be between 1 and 256');
    expect(label.textContent).not.toContain('1–256');
  });

  it('says which model answered when attribution is a mismatch', () => {
    render(<AttributionBadge attribution="mismatch" requested="gpt-5-mini" reported="qwen-2.5" />);
    const badge = screen.getByText('mismatch: qwen-2.5');
    expect(badge.getAttribute('title')).toBe('sent gpt-5-mini, provider reported qwen-2.5');
  });

  it('draws completed, failed and in-flight shares of the total', () => {
    const { container } = render(<ProgressBar completed={50} failed={25} inFlight={5} total={100} />);
    const [ok, fail, flight] = Array.from(container.querySelectorAll('.progress > div')) as HTMLElement[];
    expect([ok!.style.width, fail!.style.width, flight!.style.width]).toEqual(['50%', '25%', '5%']);
  });
});
