import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { optionTakenAsValue } from './option-values.js';

/** A command like `run`: an option with a value, a flag, a variadic option and one read from the environment. */
function parsed(args: readonly string[], env: Record<string, string> = {}): Command {
  const command = new Command('run')
    .exitOverride()
    .option('--data <dir>', 'data folder', '.meshwarden')
    .option('--json', 'one JSON document')
    .option('--tag <tags...>', 'tags');
  command.addOption(new Command().createOption('--url <url>', 'mesh').env('MW_TEST_URL'));
  const saved = process.env.MW_TEST_URL;
  if (env.MW_TEST_URL !== undefined) process.env.MW_TEST_URL = env.MW_TEST_URL;
  try {
    command.parse(['node', 'run', ...args]);
  } finally {
    if (saved === undefined) delete process.env.MW_TEST_URL;
    else process.env.MW_TEST_URL = saved;
  }
  return command;
}

describe('optionTakenAsValue', () => {
  it.each([[['--data', '--json']], [['--data=--json']], [['--data', '-h']]])(
    'refuses %j: an option given as the value of another',
    (args) => {
      expect(optionTakenAsValue(parsed(args))).toMatch(/^--(data|tag) needs a value/);
    },
  );

  it.each([
    [['--data', 'd', '--json']],
    [['--data', '--not-an-option']],
    // A variadic option stops at the next option by itself.
    [['--tag', 'a', '--json', '--data', 'd']],
    [[]],
  ])('lets %j through', (args) => {
    expect(optionTakenAsValue(parsed(args))).toBeUndefined();
  });

  it('leaves a value from the environment alone', () => {
    expect(optionTakenAsValue(parsed([], { MW_TEST_URL: '--json' }))).toBeUndefined();
  });
});
