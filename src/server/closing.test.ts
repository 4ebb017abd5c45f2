import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { isMeshwardenError, openMesh } from '../runtime/index.js';
import { createServer } from './app.js';
import { openTokenStore } from './tokens.js';

describe('the API while it closes', () => {
  it('refuses a call with the typed MW_API_CLOSING (503), not an untyped one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshwarden-closing-'));
    mkdirSync(join(dir, 'contracts'));
    writeFileSync(
      join(dir, 'mesh.yaml'),
      ['mesh: t', 'agents: {}', 'ingress:', '  api: { emits: [job.queued.v1] }'].join('\n'),
    );
    writeFileSync(join(dir, 'contracts', 'job.queued.v1.json'), '{ "type": "object" }');
    const data = join(dir, 'data');
    const log = pino({ level: 'silent' });
    const opened = await openMesh({ meshFile: join(dir, 'mesh.yaml'), dataDir: data, log });
    if (!opened.ok) throw new Error(JSON.stringify(opened));
    await using o = opened.opened;
    const tokens = await openTokenStore(join(data, 'tokens.json'));
    if (isMeshwardenError(tokens)) throw tokens;
    const admin = await tokens.create('admin', 'admin');
    if (isMeshwardenError(admin)) throw admin;
    const server = await createServer({ mesh: o.mesh, ledger: o.ledger, tokens, log });
    const get = (url: string) =>
      server.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${admin.token}` } });
    expect((await get('/api/v1/health')).statusCode).toBe(200);
    const closing = server.close();
    const refused = await get('/api/v1/health');
    await closing;
    expect(refused.statusCode).toBe(503);
    expect(refused.json().error.code).toBe('MW_API_CLOSING');
  });
});
