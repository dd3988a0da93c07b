// `batchlight show`: one run's settings, counters, models and per-model numbers.

import { OUTCOME_LABELS } from '@batchlight/api/outcome';
import { defineCommand } from '../args.js';
import { EXIT } from '../errors.js';
import { summary, summaryTable } from '../follow.js';
import { print, table, times, usd } from '../format.js';
import { checkFailUnder, failUnderFrom, scoresText } from '../scores.js';

export const show = defineCommand({
  name: 'show',
  usage: '<runId> [--fail-under RATE|overall:RATE]',
  description:
    'one run: settings, counters, models, per-model numbers and scores (pass rates with 95% intervals);\n' +
    '--fail-under 0.9 exits 1 when a model passes less than 90% of its answered items (overall:0.9: all pooled)',
  options: ['fail-under'],
  args: ['<runId>'],
  async run(ctx, v, [id]) {
    const failUnder = failUnderFrom(v['fail-under']);
    const r = await ctx.client.runs.get.query({ id: id! });
    const perModel = await summary(ctx.client, r.id);
    const scores = await ctx.client.runs.scores.query({ runId: r.id });
    const gate = failUnder ? checkFailUnder(scores, failUnder) : null;
    // Answers cut off by max tokens (finish_reason `length`) are successes, and a finding.
    const cutOff = perModel.reduce((n, m) => n + m.lengthFinishes, 0);
    const settings = [
      `prompt set ${r.promptSet.name}`,
      `concurrency ${r.concurrency}`,
      `delay ${r.delayMs}ms`,
      `repeats ${r.repeats}`,
      ...(r.promptLimit ? [`limit ${r.promptLimit}`] : []),
    ];
    print(ctx.json, { ...r, summary: perModel, scores, ...(gate ? { failUnder: gate } : {}) }, () =>
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
        '',
        scoresText(scores),
        ...(gate ? [gate.message] : []),
      ].join('\n'),
    );
    return gate && !gate.ok ? EXIT.runFailed : EXIT.ok;
  },
});
