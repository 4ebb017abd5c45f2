import { InvalidArgumentError } from 'commander';
import { NAME } from '../runtime/index.js';

// What the commands on a cluster take: a NATS URL (`--cluster`), a mesh name.

/** Why `url` is no NATS URL (another scheme is another protocol), if it is not: a usage error. */
export function natsUrlProblem(url: string): string | undefined {
  // nats://, tls:// (or ws://, wss://), or a bare host:port.
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined || ['nats', 'tls', 'ws', 'wss'].includes(scheme)) return undefined;
  return `--cluster takes a NATS URL (nats://host:4222), not ${scheme}://`;
}

/** `--cluster`'s parser: the URL, or a usage error (exit 2). */
export function natsUrl(url: string): string {
  const problem = natsUrlProblem(url);
  if (problem !== undefined) throw new InvalidArgumentError(problem);
  return url;
}

const MESH_NAME = new RegExp(NAME);

/** A mesh name as a mesh file's `mesh:` takes it, or a usage error (exit 2). */
export function meshName(name: string): string {
  if (!MESH_NAME.test(name))
    throw new InvalidArgumentError(
      'a mesh name is letters, digits, ".", "_" and "-", starting with a letter or digit',
    );
  return name;
}
