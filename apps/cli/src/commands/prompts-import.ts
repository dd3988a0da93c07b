// `batchlight prompts import`: a JSONL or CSV file as a prompt set.
import { defineCommand } from '../args.js';
import { EXIT } from '../errors.js';
import { print } from '../format.js';
import { importPrompts } from '../resolve.js';

export const promptsImport = defineCommand({
  name: 'prompts import',
  usage: '<file.jsonl|file.csv> [--name N]',
  description: 'import a prompt file as a prompt set (named after the file unless --name)',
  options: ['name'],
  args: ['<file>'],
  async run(ctx, v, [file]) {
    const set = await importPrompts(ctx.client, file!, v.name);
    print(ctx.json, set, () => `imported ${set.promptCount} prompts as "${set.name}" (${set.id})`);
    return EXIT.ok;
  },
});
