import { dirname, isAbsolute, join, resolve } from 'node:path';
import { isTypeName } from '../envelope/index.js';
import { createChecker, entriesOf, isObj, str } from './check.js';
import { compileGraph } from './graph.js';
import type { ParsedMesh, Path } from './source.js';

/** A file the mesh file names: shown as `file` (relative as given), read at `absolute`. */
export type NamedFile = { readonly file: string; readonly absolute: string };

/** `<contracts>/<type>.json` for a type, relative to the mesh file's directory. */
export function contractFileOf(mesh: ParsedMesh, type: string): NamedFile {
  const dir = (isObj(mesh.value) ? str(mesh.value.contracts) : undefined) ?? './contracts';
  const name = `${type}.json`;
  return {
    file: isAbsolute(dir) ? join(dir, name) : join(dirname(mesh.file), dir, name),
    absolute: resolve(dirname(mesh.path), dir, name),
  };
}

/** The contract files a mesh needs: one per message type and per effect (valid names only). */
export function contractFiles(mesh: ParsedMesh): (NamedFile & { readonly type: string })[] {
  // The graph is pure: building it with a scratch checker lists exactly the types compilation uses.
  const graph = compileGraph(createChecker(mesh), isObj(mesh.value) ? mesh.value : {});
  return [...new Set([...graph.messageTypes, ...graph.effects.keys()])]
    .filter(isTypeName)
    .map((type) => ({ type, ...contractFileOf(mesh, type) }));
}

/** The agent and effect modules a mesh names, each with where it is named. */
export function moduleFiles(mesh: ParsedMesh): (NamedFile & { readonly who: string; readonly at: Path })[] {
  const doc = isObj(mesh.value) ? mesh.value : {};
  const dir = dirname(mesh.path);
  const out: (NamedFile & { who: string; at: Path })[] = [];
  for (const [section, who] of [
    ['agents', 'agent'],
    ['effects', 'effect'],
  ] as const) {
    for (const [name, spec] of entriesOf(doc[section])) {
      const module = isObj(spec) ? str(spec.module) : undefined;
      if (module === undefined || module === '') continue;
      out.push({
        file: module,
        absolute: resolve(dir, module),
        who: `${who} ${name}`,
        at: [section, name, 'module'],
      });
    }
  }
  return out;
}
