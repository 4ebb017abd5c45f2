import { describe, expect, it } from 'vitest';
import { ledgerFile, openLedger } from '../runtime/index.js';
import { apiOverMesh } from './test-kit.js';

describe('the API over a ledger that closed on an error', () => {
  it('answers health and /ledger with 503 and the typed error, never 500', async () => {
    const { opened, server, data, get } = await apiOverMesh('meshwarden-ledger-failure-');
    await using o = opened;
    await using _server = server;
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
