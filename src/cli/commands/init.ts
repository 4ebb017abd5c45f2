import { existsSync } from 'node:fs';
import { cp, readdir } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { cliError, EXIT } from '../errors.js';
import { displayPath, type Output } from '../output.js';
import { PACKAGE_ROOT } from '../paths.js';

/** `init [dir]`: scaffolds a runnable mesh (mesh.yaml, contracts/, agents/, effects/, messages.jsonl). */
export async function init(dir: string, out: Output): Promise<number> {
  const target = resolve(dir);
  const template = join(PACKAGE_ROOT, 'templates', 'init');
  // Never overwrite: refuse when any file the template would write is already there.
  const files = (await readdir(template, { recursive: true, withFileTypes: true })).filter((f) => f.isFile());
  const clash = files
    .map((f) => relative(template, join(f.parentPath, f.name)))
    .find((f) => existsSync(join(target, f)));
  if (clash !== undefined) {
    out.error(cliError('MW_CLI_DIR_NOT_EMPTY', { dir, what: clash }));
    return EXIT.usage;
  }
  // No clash was found above, so force only merges into an existing folder; it overwrites nothing.
  await cp(template, target, { recursive: true, force: true });
  const shown = displayPath(target);
  if (out.json) {
    out.document({
      ok: true,
      dir: target,
      files: ['mesh.yaml', 'contracts/', 'agents/', 'effects/', 'messages.jsonl'],
    });
    return EXIT.ok;
  }
  out.line(`scaffolded a mesh in ${shown}/`);
  out.line(`  npx meshwarden policy check ${shown}/mesh.yaml`);
  out.line(
    `  npx meshwarden run ${shown}/mesh.yaml --input ${shown}/messages.jsonl --data ${shown}/.meshwarden`,
  );
  out.line(
    `Agents import from 'meshwarden': outside a project that has it installed, run npm install meshwarden there.`,
  );
  return EXIT.ok;
}
