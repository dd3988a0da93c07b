// Every command, in the order the help lists them, and how a command line picks one.
import type { CommandSpec } from '../args.js';
import { CliError } from '../errors.js';
import { audit } from './audit.js';
import { cancel } from './cancel.js';
import { compare } from './compare.js';
import { exportCommand } from './export.js';
import { follow } from './follow.js';
import { modelsAdd } from './models-add.js';
import { modelsList } from './models-list.js';
import { modelsTest } from './models-test.js';
import { promptsImport } from './prompts-import.js';
import { promptsList } from './prompts-list.js';
import { resume } from './resume.js';
import { run } from './run.js';
import { runs } from './runs.js';
import { score } from './score.js';
import { show } from './show.js';
import { studio } from './studio.js';

export const COMMANDS: readonly CommandSpec[] = [
  run,
  follow,
  runs,
  show,
  cancel,
  resume,
  exportCommand,
  audit,
  compare,
  score,
  modelsList,
  modelsAdd,
  modelsTest,
  promptsList,
  promptsImport,
  studio,
];

/** Commands of two words (`models add`) belong to the group named by the first. */
const groupOf = (c: CommandSpec) => (c.name.includes(' ') ? c.name.split(' ')[0]! : null);
export const GROUPS = [...new Set(COMMANDS.map(groupOf).filter((g): g is string => g !== null))];
export const groupCommands = (group: string) => COMMANDS.filter((c) => groupOf(c) === group);

export type Found = { command: CommandSpec; words: number } | { group: string };

/** The command the first words name; a group name alone is the group (its help). */
export function findCommand(words: string[]): Found {
  const [first, second] = words;
  if (first && GROUPS.includes(first)) {
    if (second === undefined) return { group: first };
    const command = COMMANDS.find((c) => c.name === `${first} ${second}`);
    if (!command) throw new CliError(`unknown command "${first} ${second}" (see batchlight ${first} --help)`);
    return { command, words: 2 };
  }
  const command = COMMANDS.find((c) => c.name === first);
  if (!command) throw new CliError(`unknown command "${first}" (see batchlight --help)`);
  return { command, words: 1 };
}
