// For tests only (excluded from the build): the API in process, over a mesh opened in a temp directory.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LightMyRequestResponse } from 'fastify';
import { pino } from 'pino';
import { isMeshwardenError, type OpenedMesh, openMesh } from '../runtime/index.js';
import { createServer, type Server, type ServerOptions } from './app.js';
import { openTokenStore } from './tokens.js';

/**
 * A mesh whose `api` ingress emits job.queued.v1 to agent `a` (which does nothing), opened in a
 * temp directory, the API over it, and an admin token; `get` calls the API in process with it.
 */
export async function apiOverMesh(
  prefix: string,
  options: Pick<ServerOptions, 'callsWaitMs'> = {},
): Promise<{
  readonly opened: OpenedMesh & AsyncDisposable;
  readonly server: Server;
  readonly data: string;
  /** The admin token `get` sends. */
  readonly token: string;
  get(url: string): Promise<LightMyRequestResponse>;
}> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  mkdirSync(join(dir, 'contracts'));
  writeFileSync(
    join(dir, 'mesh.yaml'),
    [
      'mesh: t',
      'agents:',
      '  a: { version: 1.0.0, module: ./a.mjs, consumes: [job.queued.v1] }',
      'ingress:',
      '  api: { emits: [job.queued.v1] }',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'contracts', 'job.queued.v1.json'), '{ "type": "object" }');
  writeFileSync(join(dir, 'a.mjs'), 'export default { handle() {} };');
  const data = join(dir, 'data');
  const log = pino({ level: 'silent' });
  const result = await openMesh({ meshFile: join(dir, 'mesh.yaml'), dataDir: data, log });
  if (!result.ok) throw new Error(JSON.stringify(result));
  const opened = result.opened;
  const tokens = await openTokenStore(join(data, 'tokens.json'));
  if (isMeshwardenError(tokens)) throw tokens;
  const admin = await tokens.create('admin', 'admin');
  if (isMeshwardenError(admin)) throw admin;
  const server = await createServer({ mesh: opened.mesh, ledger: opened.ledger, tokens, log, ...options });
  const get = (url: string) =>
    server.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${admin.token}` } });
  return { opened, server, data, token: admin.token, get };
}
