import { join, resolve } from 'node:path';
import { cliError, EXIT } from '../errors.js';
import { displayPath, type Output } from '../output.js';
import { PACKAGE_ROOT } from '../paths.js';
import { copyMeshFolder } from '../scaffold.js';

/** `init [dir]`: scaffolds a runnable mesh (mesh.yaml, contracts/, agents/, effects/, messages.jsonl). */
export async function init(dir: string, out: Output): Promise<number> {
  const target = resolve(dir);
  const copied = await copyMeshFolder(join(PACKAGE_ROOT, 'templates', 'init'), target);
  if (!copied.ok) {
    out.fail(cliError('MW_CLI_DIR_NOT_EMPTY', { dir, what: copied.clash }));
    return EXIT.usage;
  }
  if (copied.note !== undefined) out.note(`warning: ${copied.note}`);
  const shown = displayPath(target);
  if (out.json) {
    out.document({
      ok: true,
      dir: target,
      files: copied.files,
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
