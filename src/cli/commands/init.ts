import { createRequire } from 'node:module';
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
  if (copied.note !== undefined) out.note(copied.note);
  if (copied.warning !== undefined) out.note(`warning: ${copied.warning}`);
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
  out.line(packageAdvice(target));
  return EXIT.ok;
}

/**
 * What to say about `import … from 'meshwarden'` in the scaffolded agents. Never "npm install
 * meshwarden": the package may not be on the registry the user reaches, and the warden needs no
 * install to run them (it resolves the name to itself, runtime/modules.ts). Only an editor's types do.
 */
function packageAdvice(target: string): string {
  try {
    createRequire(join(target, 'package.json')).resolve('meshwarden');
    return `Agents import from 'meshwarden', which this folder has installed.`;
  } catch {
    return [
      `Agents import from 'meshwarden': the warden resolves that to itself when it loads them, so they run as they are.`,
      `For your editor's types, install this copy into the project: npm install ${PACKAGE_ROOT.replace(/\/$/, '')}`,
    ].join('\n');
  }
}
