// `batchlight score`: adds scorers to a finished run and scores its stored answers (no tested
// model is called again; judges are).
import { defineCommand } from '../args.js';
import { CliError, EXIT } from '../errors.js';
import { print } from '../format.js';
import { checkFailUnder, failUnderFrom, scorersFrom, scoresText } from '../scores.js';

export const score = defineCommand({
  name: 'score',
  usage: '<runId> --scorer SPEC… [--judge MODEL] [--fail-under RATE|overall:RATE]',
  description:
    're-score a finished run from its stored answers: the tested models are not called again, only judges;\n' +
    'a scorer with the name of one the run has replaces its results',
  options: ['scorer', 'judge', 'fail-under'],
  args: ['<runId>'],
  async run(ctx, v, [runId]) {
    const scorers = scorersFrom(v.scorer, v.judge);
    if (!scorers) throw new CliError('--scorer: give at least one scorer (e.g. --scorer "contains: Paris")');
    const failUnder = failUnderFrom(v['fail-under']);
    const done = await ctx.client.runs.score.mutate({ runId: runId!, scorers });
    const scores = await ctx.client.runs.scores.query({ runId: runId! });
    const gate = failUnder ? checkFailUnder(scores, failUnder) : null;
    print(ctx.json, { ...done, scores, ...(gate ? { failUnder: gate } : {}) }, () =>
      [
        `scored ${done.items} answered item(s): ${done.scores} score(s), ${done.judgeCalls} judge call(s), no tested-model call`,
        scoresText(scores),
        ...(gate ? [gate.message] : []),
      ].join('\n'),
    );
    return gate && !gate.ok ? EXIT.runFailed : EXIT.ok;
  },
});
