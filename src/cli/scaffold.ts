import { type Dirent, existsSync } from 'node:fs';
import { cp, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';

export type ScaffoldResult =
  | {
      readonly ok: true;
      readonly files: readonly string[];
      /** What was done beside copying (a package.json changed). */
      readonly note?: string;
      /** What the user must fix for the mesh to load. */
      readonly warning?: string;
    }
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
  // Read before copying, so that only the project's own modules count (see below).
  const projectCode = await firstModuleIn(target);
  // Nothing would be overwritten (checked above), so force only merges into an existing folder.
  await cp(source, target, { recursive: true, force: true });
  const pkg = join(target, 'package.json');
  if (!existsSync(pkg)) {
    await writeFile(pkg, `${JSON.stringify({ private: true, type: 'module' }, null, 2)}\n`);
    return { ok: true, files: [...files, 'package.json'] };
  }
  let manifest: unknown;
  try {
    manifest = JSON.parse(await readFile(pkg, 'utf8'));
  } catch {
    return { ok: true, files, warning: `${pkg} is not valid JSON; Node needs it to say "type": "module"` };
  }
  if (manifest === null || typeof manifest !== 'object' || Array.isArray(manifest)) {
    return { ok: true, files, warning: `${pkg} is not a JSON object; Node needs it to say "type": "module"` };
  }
  const type = (manifest as { type?: unknown }).type;
  if (type === 'module') return { ok: true, files };
  // A package.json without a type (what `npm install ./meshwarden-<v>.tgz` writes in an empty folder)
  // means CommonJS to Node. Saying "module" is safe only where the project has no .js or .ts of its
  // own, which it would turn into ES modules; an explicit "commonjs" is the project's own choice.
  // Either way, say what it costs instead of changing it.
  if (type === undefined && projectCode === undefined) {
    await writeFile(pkg, `${JSON.stringify({ ...manifest, type: 'module' }, null, 2)}\n`);
    return { ok: true, files: [...files, 'package.json'], note: `added "type": "module" to ${pkg}` };
  }
  const why =
    type === undefined
      ? `has no "type" (CommonJS), left so because the project has modules of its own (${relative(target, projectCode ?? target)})`
      : `says "type": ${JSON.stringify(type)}`;
  return {
    ok: true,
    files,
    warning: `${pkg} ${why}; Node will not load the .ts agents as ES modules: move the mesh to a folder with its own package.json saying "type": "module"`,
  };
}

const SKIPPED = new Set(['node_modules', '.git']);

/** The first .js or .ts file under `dir` outside node_modules and .git, if any (a bounded walk). */
async function firstModuleIn(dir: string, budget = { entries: 5000 }): Promise<string | undefined> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return undefined;
  }
  for (const entry of entries) {
    if (--budget.entries < 0) return dir; // too big to be sure: count it as having code
    const path = join(dir, entry.name);
    if (entry.isFile() && /\.(js|ts|jsx|tsx)$/.test(entry.name)) return path;
    if (entry.isDirectory() && !SKIPPED.has(entry.name)) {
      const found = await firstModuleIn(path, budget);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}
