// `batchlight prompts list`: the prompt sets.
import { defineCommand } from '../args.js';
import { EXIT } from '../errors.js';
import { print, table } from '../format.js';

export const promptsList = defineCommand({
  name: 'prompts list',
  usage: '',
  description: 'the prompt sets',
  options: [],
  async run(ctx) {
    const sets = await ctx.client.promptSets.list.query();
    print(ctx.json, sets, () =>
      table(
        ['id', 'name', 'prompts'],
        sets.map((s) => [s.id, s.name, s.promptCount]),
        ['l', 'l', 'r'],
      ),
    );
    return EXIT.ok;
  },
});
