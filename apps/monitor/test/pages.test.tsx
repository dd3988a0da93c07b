// @vitest-environment jsdom
// Pages and components against a stubbed API module: what the user sees for each answer.

import { act, cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { TRPCClientError } from '@trpc/client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

const fake = vi.hoisted(() => ({
  models: [] as unknown[],
  sets: [] as unknown[],
  runs: [] as unknown[],
  create: vi.fn(),
  trace: null as unknown,
  run: null as unknown,
  items: [] as unknown[],
  onData: null as null | ((m: { data: unknown }) => void),
  subscribedWith: null as unknown,
  snapshot: null as unknown,
  connection: new Set<(s: 'open' | 'closed') => void>(),
  scores: vi.fn(async (): Promise<unknown> => ({ models: [], judges: [] })),
}));

vi.mock('../src/api', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../src/api')>();
  return {
    ...actual,
    onConnection: (l: (s: 'open' | 'closed') => void) => {
      fake.connection.add(l);
      return () => fake.connection.delete(l);
    },
    api: {
      models: { list: { query: async () => fake.models } },
      promptSets: { list: { query: async () => fake.sets } },
      runs: {
        create: { mutate: fake.create },
        list: { query: async () => ({ runs: fake.runs, nextCursor: null }) },
        feed: { subscribe: () => ({ unsubscribe() {} }) },
        get: { query: async () => fake.run },
        snapshot: { query: async () => fake.snapshot },
        items: {
          // As the server pages: filtered, then a window by offset with the count matching.
          query: async (q: {
            status?: string;
            modelId?: string;
            mismatch?: boolean;
            offset?: number;
            limit: number;
          }) => {
            const rows = (
              fake.items as Array<{ status: string; modelId: string; trace: { attribution?: string } }>
            ).filter(
              (i) =>
                (!q.status || i.status === q.status) &&
                (!q.modelId || i.modelId === q.modelId) &&
                (!q.mismatch || i.trace?.attribution === 'mismatch'),
            );
            const from = q.offset ?? 0;
            return { items: rows.slice(from, from + q.limit), nextCursor: null, matching: rows.length };
          },
        },
        scores: { query: fake.scores },
        audit: {
          query: async () => ({
            ok: true,
            tracesChecked: 0,
            messagesChecked: 0,
            counts: { alias: 0 },
            findings: [],
            findingsTotal: 0,
          }),
        },
        events: {
          subscribe: (input: unknown, opts: { onData: (m: { data: unknown }) => void }) => {
            fake.subscribedWith = input;
            fake.onData = opts.onData;
            return { unsubscribe() {} };
          },
        },
      },
      traces: {
        get: { query: async () => fake.trace },
        list: { query: async () => ({ traces: [], nextCursor: null }) },
      },
    },
  };
});

const { NewRunPage } = await import('../src/pages/NewRunPage');
const { RunsPage } = await import('../src/pages/RunsPage');
const { TraceDrawer } = await import('../src/components/TraceDrawer');
const { ItemsTable } = await import('../src/components/ItemsTable');
const { emptyState, applyEvents } = await import('../src/run-state');
const { RunPage } = await import('../src/pages/RunPage');

afterEach(cleanup);
beforeEach(() => {
  fake.models = [{ id: 'm1', name: 'Simulated Fast', provider: 'simulated', providerModel: 'sim-fast-1' }];
  fake.sets = [{ id: 's1', name: 'Demo', promptCount: 60 }];
  fake.runs = [];
  fake.create.mockReset();
  // A page left from an earlier test must not take the next one's events, nor its score report.
  fake.onData = null;
  fake.scores.mockReset();
  fake.scores.mockResolvedValue({ models: [], judges: [] });
});

describe('new run form', () => {
  it('puts each validation error at the field it concerns', async () => {
    fake.create.mockRejectedValue(
      new TRPCClientError('concurrency: must be between 1 and 256', {
        result: {
          error: {
            message: 'concurrency: must be between 1 and 256',
            code: -32600,
            data: {
              code: 'BAD_REQUEST',
              httpStatus: 400,
              fieldErrors: { concurrency: ['must be between 1 and 256'], modelIds: ['choose at least one model'] },
            },
          },
        },
      } as never),
    );
    render(<NewRunPage />);
    await screen.findByText(/Demo \(60 prompts\)/);
    fireEvent.change(screen.getByRole('textbox', { name: /Concurrency/ }), { target: { value: '999' } });
    fireEvent.click(screen.getByRole('button', { name: 'Start run' }));
    const field = (name: string) => document.querySelector(`input[name=${name}]`)!.closest('label')!;
    await waitFor(() => expect(field('concurrency').textContent).toContain('must be between 1 and 256'));
    expect(field('concurrency').className).toContain('has-error');
    // The models are a fieldset (its heading toggles no checkbox), with the error inside.
    const models = screen.getByText('choose at least one model').closest('fieldset')!;
    expect(models.querySelector('legend')!.textContent).toBe('Models');
    expect(models.closest('label')).toBeNull();
    expect(field('delayMs').className).not.toContain('has-error');
    expect(fake.create).toHaveBeenCalledWith(
      expect.objectContaining({
        promptSetId: 's1',
        modelIds: [],
        concurrency: 999,
        delayMs: 0,
        promptLimit: null,
        repeats: 1,
      }),
    );
    expect(screen.queryByRole('alert')).toBeNull(); // field errors are not repeated in a banner
    // Editing the field clears its error; the others stay until their field is edited.
    fireEvent.change(screen.getByRole('textbox', { name: /Concurrency/ }), { target: { value: '8' } });
    expect(field('concurrency').className).not.toContain('has-error');
    expect(screen.getByText('choose at least one model')).toBeTruthy();
  });

  it('shows a non-field error as a message', async () => {
    fake.create.mockRejectedValue(new Error('server unreachable'));
    render(<NewRunPage />);
    await screen.findByText(/Demo \(60 prompts\)/);
    fireEvent.click(screen.getByRole('button', { name: 'Start run' }));
    expect((await screen.findByRole('alert')).textContent).toBe('server unreachable');
  });
});

describe('runs list', () => {
  it('says what to do when there are no runs', async () => {
    render(<RunsPage />);
    expect((await screen.findByText(/No runs yet/)).textContent).toMatch(/Start one/);
  });

  it('lists a run with its status, models, progress and cost', async () => {
    fake.runs = [
      {
        id: 'r1-abcdef',
        name: null,
        status: 'running',
        promptSet: { name: 'Demo' },
        models: [{ name: 'A' }, { name: 'B' }],
        completedItems: 30,
        failedItems: 2,
        cancelledItems: 0,
        totalItems: 120,
        createdAt: new Date(),
        startedAt: new Date(Date.now() - 65_000),
        finishedAt: null,
        costUsd: 0.0123,
        outcome: 'running',
        activeMs: 50_000,
        wallMs: 65_000,
      },
    ];
    render(<RunsPage />);
    const row = (await screen.findByText('Demo')).closest('tr')!;
    expect(row.textContent).toMatch(/running/);
    expect(row.textContent).toMatch(/A, B/);
    expect(row.textContent).toMatch(/32 \/ 120 · 2 failed/);
    expect(row.textContent).toMatch(/50s1m 0[5-6]s/); // active, then wall
    expect(row.textContent).toMatch(/\$0\.0123/);
  });
});

describe('trace drawer', () => {
  it('shows requested vs reported model and flags a mismatch', async () => {
    fake.trace = {
      id: 't1',
      status: 'ok',
      attempt: 2,
      modelName: 'GPT-5 Mini',
      modelRevision: 3,
      provider: 'openai',
      requestedModel: 'gpt-5-mini',
      responseModel: 'qwen-2.5-7b',
      servedBy: null,
      attribution: 'mismatch',
      latencyMs: 812,
      ttftMs: 120,
      startedAt: new Date(),
      endedAt: new Date(),
      inputTokens: 12,
      outputTokens: 30,
      cachedInputTokens: 0,
      reasoningTokens: 0,
      costUsd: 0.0001,
      costSource: 'pricing',
      errorType: null,
      errorMessage: null,
      httpStatus: null,
      input: [{ role: 'user', content: 'Say hi' }],
      output: 'Hi there',
      rawUsage: null,
      finishReason: 'length',
    };
    const onClose = vi.fn();
    render(<TraceDrawer traceId="t1" onClose={onClose} />);
    const kv = await screen.findByTestId('trace-models');
    expect(kv.textContent).toMatch(/requestedgpt-5-mini/);
    expect(kv.textContent).toMatch(/reportedqwen-2\.5-7b/);
    expect(kv.textContent).toMatch(/mismatch: qwen-2\.5-7b/);
    expect(kv.textContent).toMatch(/attempt 2/);
    expect(screen.getByTestId('trace-finish').textContent).toBe('length');
    expect(screen.getByTestId('trace-output').textContent).toBe('Hi there');
    expect(screen.getByText('Say hi')).toBeTruthy();
    fireEvent.keyDown(window, { key: 'Escape' });
    expect(onClose).toHaveBeenCalled();
  });
});

describe('items table', () => {
  it('renders only the rows on screen of a 10,000-row run, flags mismatches and opens a trace on click', async () => {
    // jsdom has no layout: give the scroll box a size, as a browser would.
    Object.defineProperty(HTMLElement.prototype, 'clientHeight', { configurable: true, get: () => 340 });
    Object.defineProperty(HTMLElement.prototype, 'clientWidth', { configurable: true, get: () => 1000 });
    try {
      const state = emptyState();
      // The server's rows: one answered by another model than the one asked.
      fake.items = Array.from({ length: 10_000 }, (_, i) => ({
        id: `i${String(i).padStart(5, '0')}`,
        modelId: 'm1',
        promptIndex: i,
        repeatIndex: 0,
        status: i === 1 ? 'completed' : 'pending',
        attempts: i === 1 ? 1 : 0,
        trace:
          i === 1
            ? {
                id: 't-1',
                status: 'ok',
                requestedModel: 'gpt-5-mini',
                responseModel: 'qwen-2.5-7b',
                attribution: 'mismatch',
                latencyMs: 300,
                outputPreview: 'hello',
              }
            : null,
      }));
      // And the stream, for a row its page still has pending.
      applyEvents(state, [
        {
          runId: 'r',
          seq: 1,
          at: new Date().toISOString(),
          type: 'item.completed',
          payload: {
            itemId: 'i00002',
            modelId: 'm1',
            promptIndex: 2,
            repeatIndex: 0,
            attempt: 1,
            traceId: 't-2',
            provider: 'openai',
            requestedModel: 'gpt-5-mini',
            responseModel: 'gpt-5-mini',
            attribution: 'match',
            latencyMs: 120,
            ttftMs: 40,
            inputTokens: 5,
            outputTokens: 9,
            costUsd: 0.001,
            finishReason: 'stop',
            outputPreview: 'from the stream',
          },
        },
      ]);
      const onOpen = vi.fn();
      const onWindow = vi.fn();
      render(
        <ItemsTable
          runId="r"
          state={state}
          version={1}
          live={false}
          subscribed={1}
          names={new Map([['m1', 'GPT-5 Mini']])}
          onOpen={onOpen}
          onWindow={onWindow}
        />,
      );
      await waitFor(() => expect(screen.getByText('(10,000)')).toBeTruthy());
      await waitFor(() => expect(document.querySelector('[data-item-id=i00002]')).not.toBeNull());
      expect(document.querySelector('[data-item-id=i00002]')!.textContent).toContain('from the stream');
      // The page is told which prompts are on screen (with a margin): the rows whose events it needs.
      expect(onWindow).toHaveBeenLastCalledWith({ fromPrompt: 0, toPrompt: expect.any(Number) });
      expect(onWindow.mock.lastCall![0].toPrompt).toBeLessThan(120);
      const rows = document.querySelectorAll('[data-item-id]');
      expect(rows.length).toBeGreaterThan(5);
      expect(rows.length).toBeLessThan(60);
      const mismatch = document.querySelector('[data-item-id=i00001]')!;
      expect(mismatch.className).toContain('row-mismatch');
      expect(mismatch.textContent).toContain('mismatch: qwen-2.5-7b');
      fireEvent.click(mismatch);
      expect(onOpen).toHaveBeenCalledWith('t-1');
      await act(async () => {
        fireEvent.change(screen.getByLabelText('status filter'), { target: { value: 'mismatch' } });
      });
      await waitFor(() => expect(screen.getByText('(1)')).toBeTruthy());
    } finally {
      delete (HTMLElement.prototype as { clientHeight?: number }).clientHeight;
      delete (HTMLElement.prototype as { clientWidth?: number }).clientWidth;
    }
  });
});

describe('run page', () => {
  it('shows each model’s pass rate with its interval and errors, asked again (throttled) as item.scored events arrive', async () => {
    const model = { modelId: 'm1', name: 'Judged', provider: 'openai', providerModel: 'x-1', modelRevision: 1 };
    fake.run = {
      ...{ id: 'r2', name: 'Scored', status: 'running', executing: true, concurrency: 2, delayMs: 0 },
      ...{ promptSet: { id: 's1', name: 'Demo', promptCount: 50 }, promptLimit: null, repeats: 1, retries: 0 },
      ...{ completedItems: 0, failedItems: 0, cancelledItems: 0, totalItems: 50, models: [model] },
    };
    fake.items = [];
    const hist = { count: 0, min: null, max: null, mean: null, p50: null, p90: null, p95: null, p99: null, bins: [] };
    fake.snapshot = {
      ...{ runId: 'r2', seq: 0, status: 'running', progress: null, finished: null, models: [], retries: [] },
      ...{ latency: hist, ttft: hist, series: { startMs: 0, bucketMs: 250, points: [] } },
    };
    const rates = (passes: number, fails: number, errors: number, low: number, high: number) => ({
      models: [{ modelId: 'm1', passes, fails, errors, passRate: { value: passes / (passes + fails), low, high } }],
      judges: [],
    });
    fake.scores.mockResolvedValueOnce(rates(8, 2, 0, 0.49016, 0.94332));
    fake.scores.mockResolvedValue(rates(45, 5, 1, 0.7864, 0.95653));
    render(<RunPage runId="r2" />);
    // Wilson 8/10 = 0.4902–0.9433.
    await waitFor(() => expect(screen.getByTestId('pass-rate').textContent).toMatch(/^80\.0% \(95% CI 49\.0–94\.3%\)/));
    expect(screen.getByTestId('score-errors').textContent).toMatch(/8\/10 · 0 errors$/);
    await waitFor(() => expect(fake.onData).not.toBeNull());
    const at = new Date().toISOString();
    act(() => {
      for (let i = 0; i < 40; i++)
        fake.onData!({
          data: {
            runId: 'r2',
            seq: i + 1,
            at,
            type: 'item.scored',
            payload: { itemId: `i${i}`, modelId: 'm1', promptIndex: i, repeatIndex: 0, scores: [] },
          },
        });
    });
    // 40 events: the report is asked again, but not 40 times.
    await waitFor(
      () => expect(screen.getByTestId('pass-rate').textContent).toMatch(/^90\.0% \(95% CI 78\.6–95\.7%\)/),
      {
        timeout: 5_000,
      },
    );
    expect(screen.getByTestId('score-errors').textContent).toMatch(/45\/50 · 1 error$/);
    expect(fake.scores.mock.calls.length).toBeLessThanOrEqual(3);
  });

  it('coalesces a burst of events into one update per animation frame, and shows a banner when the socket drops', async () => {
    const frames: FrameRequestCallback[] = [];
    const raf = vi.spyOn(window, 'requestAnimationFrame').mockImplementation((cb) => frames.push(cb));
    try {
      fake.run = {
        id: 'r1',
        name: 'Burst',
        status: 'running',
        executing: true,
        promptSet: { id: 's1', name: 'Demo', promptCount: 200 },
        concurrency: 8,
        delayMs: 0,
        promptLimit: null,
        repeats: 1,
        completedItems: 0,
        failedItems: 0,
        cancelledItems: 0,
        totalItems: 200,
        retries: 0,
        models: [
          {
            modelId: 'm1',
            name: 'Simulated Fast',
            provider: 'simulated',
            providerModel: 'sim-fast-1',
            modelRevision: 1,
          },
        ],
      };
      fake.items = Array.from({ length: 200 }, (_, i) => ({
        id: `i${String(i).padStart(4, '0')}`,
        modelId: 'm1',
        promptIndex: i,
        repeatIndex: 0,
        status: 'pending',
        attempts: 0,
        trace: null,
      }));
      const hist = { count: 0, min: null, max: null, mean: null, p50: null, p90: null, p95: null, p99: null, bins: [] };
      const snapshot = (seq: number, lengthFinishes: number) => ({
        runId: 'r1',
        seq,
        status: 'running',
        progress: null,
        finished: null,
        models: [
          {
            modelId: 'm1',
            completed: lengthFinishes ? 200 : 0,
            failed: 0,
            cancelled: 0,
            retries: 0,
            inputTokens: 0,
            outputTokens: 0,
            costUsd: 0,
            mismatches: 0,
            lengthFinishes,
            latency: hist,
            ttft: hist,
          },
        ],
        latency: hist,
        ttft: hist,
        series: { startMs: 0, bucketMs: 250, points: [] },
        retries: [],
      });
      fake.snapshot = snapshot(0, 0);
      render(<RunPage runId="r1" />);
      await waitFor(() => expect(fake.onData).not.toBeNull());
      // From the snapshot's seq, told to resync rather than fed a backlog.
      // Item rows' events only for the prompts of the table's window (at first, its top).
      expect(fake.subscribedWith).toEqual({
        runId: 'r1',
        lastEventId: '0',
        behind: 'resync',
        items: { fromPrompt: 0, toPrompt: 100 },
      });
      const at = new Date().toISOString();
      let seq = 0;
      const ev = (type: string, payload: object) =>
        fake.onData!({ data: { runId: 'r1', seq: ++seq, at, type, payload } });
      const frameCount = frames.length;
      for (let i = 0; i < 200; i++) {
        const ref = {
          itemId: `i${String(i).padStart(4, '0')}`,
          modelId: 'm1',
          promptIndex: i,
          repeatIndex: 0,
          attempt: 1,
        };
        ev('item.started', { ...ref, startedAt: at });
        ev('item.completed', {
          ...ref,
          traceId: `t${i}`,
          provider: 'simulated',
          requestedModel: 'sim-fast-1',
          responseModel: 'sim-fast-1',
          attribution: 'match',
          latencyMs: 10 + i,
          ttftMs: 5,
          inputTokens: 3,
          outputTokens: 7,
          costUsd: 0,
          outputPreview: 'ok',
          finishReason: i % 50 ? 'stop' : 'length',
        });
      }
      ev('run.progress', {
        completed: 200,
        failed: 0,
        cancelled: 0,
        inFlight: 0,
        total: 200,
        retries: 0,
        throughput: 50,
        elapsedMs: 4000,
      });
      // 401 events, one frame requested, nothing applied until it runs.
      expect(frames.length - frameCount).toBe(1);
      expect(screen.getByTestId('count-completed').textContent).toBe('0');
      await act(async () => {
        for (const f of frames.splice(0)) f(performance.now());
      });
      expect(screen.getByTestId('count-completed').textContent).toBe('200');
      // Answers cut off by max tokens: the server's per-model figures, in the panel at the next snapshot.
      fake.snapshot = snapshot(401, 4);
      await waitFor(() => expect(screen.getByTestId('length-finishes').textContent).toBe('4'), { timeout: 5_000 });
      expect(document.querySelector('section')!.getAttribute('data-last-seq')).toBe('401');
      // A replayed seq (as after a reconnect) changes nothing.
      fake.onData!({
        data: {
          runId: 'r1',
          seq: 5,
          at,
          type: 'item.started',
          payload: { itemId: 'i0002', modelId: 'm1', promptIndex: 2, repeatIndex: 0, attempt: 1, startedAt: at },
        },
      });
      await act(async () => {
        for (const f of frames.splice(0)) f(performance.now());
      });
      expect(document.querySelector('section')!.getAttribute('data-last-seq')).toBe('401');

      expect(screen.queryByText(/Connection lost/)).toBeNull();
      act(() => {
        for (const l of fake.connection) l('closed');
      });
      expect(screen.getByRole('status').textContent).toMatch(/Connection lost/);
      act(() => {
        for (const l of fake.connection) l('open');
      });
      expect(screen.queryByText(/Connection lost/)).toBeNull();
    } finally {
      raf.mockRestore();
    }
  });
});
