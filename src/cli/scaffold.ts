import { existsSync } from 'node:fs';
import { cp, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';

export type ScaffoldResult =
  | { readonly ok: true; readonly files: readonly string[]; readonly note?: string }
  | { readonly ok: false; readonly clash: string };

/**
 * Copies a mesh folder (the init template, a shipped example) into `target` without overwriting
 * anything, and makes sure Node loads its `.ts` modules as ES modules: a `package.json` with
 * `"type": "module"` is written when the folder has none (npm init now writes `"type": "commonjs"`).
 */
export async function copyMeshFolder(source: string, target: string): Promise<ScaffoldResult> {
  const entries = await readdir(source, { recursive: true, withFileTypes: true });
  const files = entries.filter((f) => f.isFile()).map((f) => relative(source, join(f.parentPath, f.name)));
  const clash = files.find((f) => existsSync(join(target, f)));
  if (clash !== undefined) return { ok: false, clash };
  // Nothing would be overwritten (checked above), so force only merges into an existing folder.
  await cp(source, target, { recursive: true, force: true });
  const pkg = join(target, 'package.json');
  if (!existsSync(pkg)) {
    await writeFile(pkg, `${JSON.stringify({ private: true, type: 'module' }, null, 2)}\n`);
    return { ok: true, files: [...files, 'package.json'] };
  }
  let type: unknown;
  try {
    type = (JSON.parse(await readFile(pkg, 'utf8')) as { type?: unknown }).type;
  } catch {
    return { ok: true, files, note: `${pkg} is not valid JSON; Node needs it to say "type": "module"` };
  }
  return type === 'module'
    ? { ok: true, files }
    : {
        ok: true,
        files,
        note: `${pkg} does not say "type": "module"; Node will not load the .ts agents as ES modules`,
      };
}
