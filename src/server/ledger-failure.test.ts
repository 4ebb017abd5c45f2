import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { isMeshwardenError, ledgerFile, openLedger, openMesh } from '../runtime/index.js';
import { createServer } from './app.js';
import { openTokenStore } from './tokens.js';

function writeMesh(): string {
  const dir = mkdtempSync(join(tmpdir(), 'meshwarden-ledger-failure-'));
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
  return dir;
}

describe('the API over a ledger that closed on an error', () => {
  it('answers health and /ledger with 503 and the typed error, never 500', async () => {
    const dir = writeMesh();
    const data = join(dir, 'data');
    const log = pino({ level: 'silent' });
    const opened = await openMesh({ meshFile: join(dir, 'mesh.yaml'), dataDir: data, log });
    if (!opened.ok) throw new Error(JSON.stringify(opened));
    await using o = opened.opened;
    const tokens = await openTokenStore(join(data, 'tokens.json'));
    if (isMeshwardenError(tokens)) throw tokens;
    const admin = await tokens.create('admin', 'admin');
    if (isMeshwardenError(admin)) throw admin;
    await using server = await createServer({ mesh: o.mesh, ledger: o.ledger, tokens, log });
    const get = (url: string) =>
      server.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${admin.token}` } });
    expect((await get('/api/v1/health')).statusCode).toBe(200);

    // Another writer (the adapter opened directly, past the writer lock) moves the chain.
    const intruder = openLedger({ file: ledgerFile(data) });
    await intruder.append({ kind: 'test.intruder', at: 1, data: {} });
    await intruder.close();
    await o.mesh.inject('api', { type: 'job.queued.v1', subject: 'job:1', data: {} }).catch(() => {});
    expect(await o.ledger.closed).toMatchObject({ code: 'MW_LEDGER_FENCED' });

    const health = await get('/api/v1/health');
    expect(health.statusCode).toBe(503);
    expect(health.json().error.code).toBe('MW_LEDGER_FENCED');
    const ledger = await get('/api/v1/ledger');
    expect(ledger.statusCode).toBe(503);
    expect(ledger.json().error.code).toMatch(/^MW_LEDGER_/);
  });
});
