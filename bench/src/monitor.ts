// B9's browser side: Debian's Chromium through playwright-core, monitor pages of the server under
// bench, and what they cost and show: the counter each page displays, and its renderer's main
// thread busy time (Chrome's own TaskDuration metric, read over the DevTools protocol).
import { type Browser, type CDPSession, chromium, type Page } from 'playwright-core';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export interface MonitorPage {
  page: Page;
  /** The completed count the page shows now (null before it shows one). */
  shown(): Promise<number | null>;
  /** Seconds the renderer's main thread has been busy since the page opened. */
  busySeconds(): Promise<number>;
  close(): Promise<void>;
}

export async function openMonitor(browser: Browser, url: string): Promise<MonitorPage> {
  const context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
  const page = await context.newPage();
  const cdp: CDPSession = await context.newCDPSession(page);
  await cdp.send('Performance.enable');
  await page.goto(url);
  return {
    page,
    async shown() {
      const text = await page
        .getByTestId('count-completed')
        .textContent({ timeout: 500 })
        .catch(() => null);
      return text == null ? null : Number(text.replace(/,/g, ''));
    },
    async busySeconds() {
      const { metrics } = (await cdp.send('Performance.getMetrics')) as {
        metrics: Array<{ name: string; value: number }>;
      };
      return metrics.find((m) => m.name === 'TaskDuration')?.value ?? 0;
    },
    close: () => context.close(),
  };
}

/**
 * Opens a finished run's page and times, from navigation, when it shows the final counter, the
 * charts over every call, and the first rows.
 */
export async function timeFinishedPage(browser: Browser, url: string, total: number) {
  if (!Number.isInteger(total)) throw new Error('total must be an integer');
  const context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
  const page = await context.newPage();
  try {
    const t0 = performance.now();
    await page.goto(url);
    const at = (p: Promise<unknown>) => p.then(() => performance.now() - t0);
    // Locators, not expressions evaluated in the page: the monitor's Content Security Policy
    // refuses eval, which a string given to waitForFunction needs.
    const wait = { timeout: 120_000 };
    const [counters, charts, rows] = await Promise.all([
      at(
        page
          .getByTestId('count-completed')
          .filter({ hasText: total.toLocaleString('en') })
          .waitFor(wait),
      ),
      at(page.locator(`[data-testid=charts][data-calls="${total}"]`).waitFor(wait)),
      at(page.locator('[data-item-id]').first().waitFor(wait)),
    ]);
    return { countersMs: counters, chartsMs: charts, firstRowsMs: rows };
  } finally {
    await context.close();
  }
}
