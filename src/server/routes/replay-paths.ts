import { realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, relative, resolve } from 'node:path';
import { contractFiles, moduleFiles, parseMesh } from '../../runtime/index.js';

export type PathIssue = { code: string; location: string; message: string };

/**
 * The contract and module files a candidate (`POST /replay`) names outside the running mesh file's
 * folder: a pilot replays a policy for this mesh, and is not told whether other files on the server
 * exist. Compared as the file system resolves them (symbolic links followed, as far as the path
 * exists), so a link inside the folder that points out of it is outside.
 */
export function outsideFiles(path: string, text: string): PathIssue[] {
  const mesh = parseMesh({ file: 'candidate.yaml', path, text });
  if (mesh.issues.length > 0) return [];
  const dir = real(dirname(path));
  const out = (absolute: string) => {
    const rel = relative(dir, real(absolute));
    return rel === '' || rel.startsWith('..') || isAbsolute(rel);
  };
  const where = (at: Parameters<typeof mesh.locate>[0]) => {
    const p = mesh.locate(at, 'value');
    return `candidate.yaml:${p.line}:${p.col}`;
  };
  const issues: PathIssue[] = [];
  if (contractFiles(mesh).some((f) => out(f.absolute)))
    issues.push({
      code: 'MW_API_PATH_OUTSIDE',
      location: where(['contracts']),
      message: "contracts must be inside the running mesh file's folder",
    });
  for (const m of moduleFiles(mesh)) {
    if (out(m.absolute))
      issues.push({
        code: 'MW_API_PATH_OUTSIDE',
        location: where(m.at),
        message: `the module of ${m.who} must be inside the running mesh file's folder`,
      });
  }
  return issues;
}

/** The path with every symbolic link in the part of it that exists resolved; the rest appended. */
function real(path: string): string {
  const abs = resolve(path);
  try {
    return realpathSync(abs);
  } catch {
    const parent = dirname(abs);
    return parent === abs ? abs : resolve(real(parent), basename(abs));
  }
}
