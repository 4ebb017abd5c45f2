import { ProtocolError, SdkError, SdkErrorCode, SdkHttpError } from '@modelcontextprotocol/client';
import { describe, expect, it } from 'vitest';
import { callFailure } from './failures.js';
import type { Where } from './result.js';

const where: Where = {
  effect: 'crm.refund',
  server: 'node crm.mjs',
  tool: 'refund',
  who: 'MCP tool refund of effect crm.refund',
  url: 'x',
};
const nested = (inner: Error) =>
  new SdkError(SdkErrorCode.EraNegotiationFailed, 'probe failed', undefined, {
    cause: new TypeError('fetch failed', { cause: inner }),
  });
const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });

describe('callFailure', () => {
  it.each<[string, unknown, string, string?]>([
    ['a socket error under fetch', nested(refused), 'MW_INTEROP_UNREACHABLE', 'ECONNREFUSED'],
    ['a port fetch refuses', nested(new Error('bad port')), 'MW_INTEROP_UNREACHABLE', 'bad port'],
    [
      'a command that cannot run',
      Object.assign(new Error('spawn x ENOENT'), { code: 'ENOENT' }),
      'MW_INTEROP_UNREACHABLE',
    ],
    [
      'an HTTP status',
      new SdkHttpError(SdkErrorCode.ClientHttpNotImplemented, 'no', { status: 404 }),
      'MW_INTEROP_HTTP_STATUS',
      '404',
    ],
    ['a JSON-RPC error', new ProtocolError(-32602, 'Invalid params'), 'MW_INTEROP_MCP_FAILED', '-32602'],
    ['the SDK timing out', new SdkError(SdkErrorCode.RequestTimeout, 'timed out'), 'MW_INTEROP_TIMEOUT'],
    ['a lost connection', new SdkError(SdkErrorCode.ConnectionClosed, 'closed'), 'MW_INTEROP_UNREACHABLE'],
    [
      'an unusable reply',
      new SdkError(SdkErrorCode.InvalidResult, 'not a result'),
      'MW_INTEROP_MCP_BAD_REPLY',
    ],
  ])('%s', (_, cause, code, says) => {
    const error = callFailure(cause, where, undefined, 100);
    expect(error.code).toBe(code);
    if (says !== undefined) expect(error.message).toContain(says);
  });

  it('blames a spawned server that exited, with its error line and without stack frames', () => {
    const stderr =
      "file.mjs:1\nthrow err;\n^\n\nError: Cannot find module 'x'\n    at Module._load (node:internal)\n{\n}";
    const error = callFailure(
      new SdkError(SdkErrorCode.ConnectionClosed, 'closed'),
      where,
      { how: 'with code 1', stderr },
      100,
    );
    expect(error.code).toBe('MW_INTEROP_MCP_EXITED');
    expect(error.message).toContain(
      "with code 1; it wrote: file.mjs:1 | throw err; | Error: Cannot find module 'x'",
    );
    expect(error.message).not.toContain('Module._load');
  });
});
