#!/usr/bin/env node
// `batchlight`: the command line of batchlight, a typed client of the server's API. This file picks
// the command, reads its arguments (args.ts), connects and turns the outcome into an exit code.
import { type CommandSpec, commandWords, GLOBAL_HELP, helpOf, parseCommandArgs } from './args.js';
import { connect } from './client.js';
import { COMMANDS, findCommand, groupCommands } from './commands/index.js';
import { CliError, describeError, EXIT } from './errors.js';

const DEFAULT_SERVER = 'http://127.0.0.1:4700';

const usageLines = (commands: readonly CommandSpec[]) =>
  commands.flatMap((c) => [
    `  ${c.name}${c.usage ? ` ${c.usage.replaceAll('\n    ', '\n      ')}` : ''}`,
    ...c.description.split('\n').map((line) => `        ${line}`),
  ]);

function mainHelp(): string {
  return [
    'batchlight — batch-test LLM models (a typed client of the batchlight server)',
    '',
    'usage: batchlight <command> [options]      batchlight <command> --help: that command in full',
    '',
    ...usageLines(COMMANDS),
    '',
    GLOBAL_HELP,
    'exit codes: 0 ok · 1 a run had failed items or attribution mismatches, or did not complete',
    '            (also audit with findings or of a run still going, models test that failed) · 2 bad input ·',
    '            3 server unreachable or token refused · 4 server error · 130 interrupted',
  ].join('\n');
}

const groupHelp = (group: string) =>
  [`usage: batchlight ${group} <command> [options]`, '', ...usageLines(groupCommands(group)), '', GLOBAL_HELP].join(
    '\n',
  );

/** The help `words` ask for: `help` (all), `help run`, `help models` (a group). */
function helpFor(words: string[]): string {
  if (!words.length) return mainHelp();
  const found = findCommand(words);
  return 'group' in found ? groupHelp(found.group) : helpOf(found.command);
}

async function main(argv: string[], json: boolean): Promise<number> {
  const { words, help } = commandWords(argv);
  if (words[0] === 'help') {
    console.log(helpFor(words.slice(1)));
    return EXIT.ok;
  }
  if (!words.length) {
    console.log(mainHelp());
    return help ? EXIT.ok : EXIT.usage;
  }
  const found = findCommand(words);
  if ('group' in found) {
    if (help) {
      console.log(groupHelp(found.group));
      return EXIT.ok;
    }
    const names = groupCommands(found.group).map((c) => c.name.split(' ')[1]);
    throw new CliError(`${found.group}: name a command: ${names.join(', ')} (see batchlight ${found.group} --help)`);
  }
  const { command } = found;
  if (help) {
    console.log(helpOf(command));
    return EXIT.ok;
  }
  const { values, args } = parseCommandArgs(command, argv, found.words);
  const server = (values.server ?? process.env.BATCHLIGHT_SERVER ?? DEFAULT_SERVER).replace(/\/+$/, '');
  if (!command.offline && (!/^https?:\/\/[^/]+/.test(server) || !URL.canParse(server)))
    throw new CliError(`--server: expected an http(s) URL such as ${DEFAULT_SERVER}, got "${server}"`);
  const connection = connect(server, (values.token ?? process.env.BATCHLIGHT_TOKEN) || undefined);
  try {
    return await command.run({ client: connection.client, server, json }, values, args);
  } catch (err) {
    const { message, code } = describeError(err, server);
    fail(message, code, json);
    return code;
  } finally {
    connection.close();
  }
}

/** One line on stderr; with --json, that line is a JSON object. */
function fail(message: string, code: number, json: boolean) {
  console.error(json ? JSON.stringify({ error: message, exitCode: code }) : `batchlight: ${message}`);
}

const argv = process.argv.slice(2);
const { json } = commandWords(argv);
main(argv, json).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    const { message, code } = describeError(err, process.env.BATCHLIGHT_SERVER ?? DEFAULT_SERVER);
    fail(message, code, json);
    process.exitCode = code;
  },
);
