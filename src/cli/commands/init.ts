import { existsSync } from 'node:fs';
import { cp, mkdir } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { cliError, EXIT } from '../errors.js';
import type { Output } from '../output.js';
import { PACKAGE_ROOT } from '../paths.js';

/** `init [dir]`: scaffolds a runnable mesh (mesh.yaml, contracts/, agents/, effects/, messages.jsonl). */
export async function init(dir: string, out: Output): Promise<number> {
  const target = resolve(dir);
  if (existsSync(join(target, 'mesh.yaml'))) {
    out.error(cliError('MW_CLI_DIR_NOT_EMPTY', { dir, what: 'mesh.yaml' }));
    return EXIT.usage;
  }
  await mkdir(target, { recursive: true });
  await cp(join(PACKAGE_ROOT, 'templates', 'init'), target, {
    recursive: true,
    errorOnExist: true,
    force: false,
  });
  const shown = relative(process.cwd(), target) || '.';
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
