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
  const pkg = packageState(target);
  if (out.json) {
    out.document({ ok: true, dir: target, files: copied.files, package: pkg });
    return EXIT.ok;
  }
  out.line(`scaffolded a mesh in ${shown}/`);
  out.line(`  npx meshwarden policy check ${shown}/mesh.yaml`);
  out.line(
    `  npx meshwarden run ${shown}/mesh.yaml --input ${shown}/messages.jsonl --data ${shown}/.meshwarden`,
  );
  out.line(
    pkg.installed
      ? `Agents import from 'meshwarden', which this folder has installed.`
      : [
          `Agents import from 'meshwarden': the warden resolves that to itself when it loads them, so they run as they are.`,
          `For your editor's types, install this copy into the project: ${pkg.install}`,
        ].join('\n'),
  );
  return EXIT.ok;
}

/**
 * Whether the scaffolded agents' `import … from 'meshwarden'` resolves in `target`, and if not, what
 * installs it. Never "npm install meshwarden": the package may not be on the registry the user
 * reaches, and the warden needs no install to run them (it resolves the name to itself,
 * runtime/modules.ts); only an editor's types do.
 */
function packageState(target: string): { installed: boolean; install?: string } {
  try {
    createRequire(join(target, 'package.json')).resolve('meshwarden');
    return { installed: true };
  } catch {
    return { installed: false, install: `npm install ${PACKAGE_ROOT.replace(/\/$/, '')}` };
  }
}
