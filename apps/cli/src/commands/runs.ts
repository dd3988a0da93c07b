// `batchlight runs`: the recent runs.

import { OUTCOME_LABELS } from '@batchlight/api/outcome';
import { listRunsInput, RUN_STATUSES } from '@batchlight/api/schemas';
import { defineCommand, oneOf, wholeNumber } from '../args.js';
import { EXIT } from '../errors.js';
import { print, table, usd } from '../format.js';

const field = listRunsInput.unwrap().shape;

export const runs = defineCommand({
  name: 'runs',
  usage: `[--status ${RUN_STATUSES.join('|')}] [--limit N=50]`,
  description: 'recent runs, newest first',
  options: ['status', 'limit'],
  async run(ctx, v) {
    const status = oneOf('status', v.status, RUN_STATUSES);
    const { runs } = await ctx.client.runs.list.query({
      limit: wholeNumber('limit', v.limit, field.limit) ?? field.limit.parse(undefined),
      ...(status ? { status } : {}),
    });
    print(ctx.json, runs, () =>
      runs.length
        ? table(
            ['id', 'outcome', 'models', 'done/total', 'failed', 'cost', 'created'],
            runs.map((r) => [
              r.id,
              OUTCOME_LABELS[r.outcome],
              r.models.map((m) => m.name).join(', '),
              `${r.completedItems + r.failedItems}/${r.totalItems}`,
              r.failedItems,
              usd(r.costUsd),
              r.createdAt.toISOString().slice(0, 19).replace('T', ' '),
            ]),
            ['l', 'l', 'l', 'r', 'r', 'r', 'l'],
          )
        : 'no runs yet',
    );
    return EXIT.ok;
  },
});
