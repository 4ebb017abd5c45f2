import type { Command } from 'commander';

/**
 * An option that takes a value, given one of its command's own options as that value: Commander
 * takes the next word whatever it is, so `run mesh.yaml --data --json` ran with a data folder named
 * `--json` and printed no JSON, and `why abc --ledger --json` opened a ledger of that name. The
 * usage error's sentence, or undefined. Only values typed on the command line count: an environment
 * variable's or a default is not a slip of the keyboard.
 */
export function optionTakenAsValue(command: Command): string | undefined {
  const flags = new Set<string>(['--help', '-h']);
  for (const o of command.options) {
    if (o.long !== undefined) flags.add(o.long);
    if (o.short !== undefined) flags.add(o.short);
  }
  for (const o of command.options) {
    if (!o.required && !o.optional) continue; // a flag without a value
    const name = o.attributeName();
    if (command.getOptionValueSource(name) !== 'cli') continue;
    const value: unknown = command.getOptionValue(name);
    const taken = (Array.isArray(value) ? value : [value]).find(
      (v): v is string => typeof v === 'string' && flags.has(v.split('=')[0]!),
    );
    if (taken !== undefined) {
      const flag = o.long ?? o.short ?? name;
      return `${flag} needs a value, and the word after it, ${taken}, is one of the command's options: give ${flag} its value`;
    }
  }
  return undefined;
}
