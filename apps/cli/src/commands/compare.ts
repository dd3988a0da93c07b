// `batchlight compare`: per-model aggregates of runs on the same prompt set, side by side.
import { defineCommand } from '../args.js';
import { EXIT } from '../errors.js';
import { ms, pct, print, table, usd } from '../format.js';

/** A run's name, or the end of its id: ids are uuidv7, whose first characters are a timestamp. */
export const runLabel = (run: { runId: string; runName: string | null }) => run.runName || run.runId.slice(-8);

export const compare = defineCommand({
  name: 'compare',
  usage: '<runId>…',
  description:
    'per-model aggregates of runs on the same prompt set (one run: its models side by side);\n' +
    'each run is labelled by its name, or the last 8 characters of its id',
  options: [],
  rest: '<runId>…',
  async run(ctx, _v, runIds) {
    const c = await ctx.client.runs.compare.query({ runIds, limit: 1 });
    print(ctx.json, c, () =>
      [
        table(
          ['run', 'model', 'items', 'success', 'p50', 'p95', 'ttft p50', 'tokens in/out', 'cost', 'mismatch'],
          c.columns.map((col) => {
            const a = c.aggregates[col.key]!;
            return [
              runLabel(col),
              col.modelName,
              a.items,
              pct(a.successRate),
              ms(a.latencyP50),
              ms(a.latencyP95),
              ms(a.ttftP50),
              `${a.inputTokens}/${a.outputTokens}`,
              usd(a.costUsd),
              a.mismatches,
            ];
          }),
          ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
        ),
        // Paired tests against the first column, on the prompts both scored.
        ...(c.scores ?? []).flatMap((s) => [
          s.summary,
          ...(s.regressed.length
            ? [
                `  regressed (passed in ${s.labelB}, fail in ${s.labelA}): prompts ${s.regressed.map((p) => `#${p}`).join(', ')}`,
              ]
            : []),
        ]),
      ].join('\n'),
    );
    return EXIT.ok;
  },
});
