import { describe, expect, it } from 'vitest';
import { isMeshwardenError } from '../runtime/index.js';
import { createApiClient } from './api-client.js';

describe('the hint to reach a running mesh again', () => {
  it.each([
    ['http://127.0.0.1:7077', '--url http://127.0.0.1:7077 --token <your token>'],
    ['http://pilot:s3cret@mesh.example.com/?token=t0k', '--url http://mesh.example.com --token <your token>'],
  ])('for %s is %s: never a password or a query, never the token', (url, reach) => {
    const api = createApiClient({ url, token: 'mw_abc' });
    if (isMeshwardenError(api)) throw api;
    expect(api.reach).toBe(reach);
  });
});
