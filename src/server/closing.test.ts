import { describe, expect, it } from 'vitest';
import { apiOverMesh } from './test-kit.js';

describe('the API while it closes', () => {
  it('refuses a call with the typed MW_API_CLOSING (503), not an untyped one', async () => {
    const { opened, server, get } = await apiOverMesh('meshwarden-closing-');
    await using _o = opened;
    expect((await get('/api/v1/health')).statusCode).toBe(200);
    const closing = server.close();
    const refused = await get('/api/v1/health');
    await closing;
    expect(refused.statusCode).toBe(503);
    expect(refused.json().error.code).toBe('MW_API_CLOSING');
  });
});
