// `batchlight show`: one run's settings, counters, models and per-model numbers.

import { OUTCOME_LABELS } from '@batchlight/api/outcome';
import { defineCommand } from '../args.js';
import { EXIT } from '../errors.js';
import { summary, summaryTable } from '../follow.js';
import { print, table, times, usd } from '../format.js';

export const show = defineCommand({
  name: 'show',
  usage: '<runId>',
  description: 'one run: settings, counters, models and per-model numbers',
  options: [],
  args: ['<runId>'],
  async run(ctx, _v, [id]) {
    const r = await ctx.client.runs.get.query({ id: id! });
    const perModel = await summary(ctx.client, r.id);
    // Answers cut off by max tokens (finish_reason `length`) are successes, and a finding.
    const cutOff = perModel.reduce((n, m) => n + m.lengthFinishes, 0);
    const settings = [
      `prompt set ${r.promptSet.name}`,
      `concurrency ${r.concurrency}`,
      `delay ${r.delayMs}ms`,
      `repeats ${r.repeats}`,
      ...(r.promptLimit ? [`limit ${r.promptLimit}`] : []),
    ];
    print(ctx.json, { ...r, summary: perModel }, () =>
      [
        `run ${r.id}${r.name ? ` "${r.name}"` : ''} — ${OUTCOME_LABELS[r.outcome]}`,
        settings.join(' · '),
        `items ${r.totalItems}: ${r.completedItems} completed, ${r.failedItems} failed, ` +
          `${r.cancelledItems} cancelled, ${r.retries} retries · cost ${usd(r.costUsd)}`,
        ...(cutOff ? [`${cutOff} answer(s) cut off by max tokens (finish_reason length): the "length" column`] : []),
        r.startedAt ? `started ${r.startedAt.toISOString()} · ${times(r)}` : 'not started',
        table(
          ['model', 'provider', 'sends', 'revision'],
          r.models.map((m) => [m.name, m.provider, m.providerModel, m.modelRevision]),
        ),
        '',
        summaryTable(perModel),
      ].join('\n'),
    );
    return EXIT.ok;
  },
});
