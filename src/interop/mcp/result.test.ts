import type { CallToolResult } from '@modelcontextprotocol/client';
import { describe, expect, it } from 'vitest';
import { isMeshwardenError } from '../../runtime/index.js';
import { effectResult, type Where } from './result.js';

const where: Where = {
  effect: 'crm.refund',
  server: 'node crm.mjs',
  tool: 'refund',
  who: 'MCP tool refund of effect crm.refund',
  url: 'x',
};
const text = (t: string) => ({ type: 'text' as const, text: t });
const image = { type: 'image' as const, data: 'AAAA', mimeType: 'image/png' };

describe('effectResult', () => {
  it.each<[string, CallToolResult, unknown]>([
    [
      'structured content wins',
      { content: [text('ok')], structuredContent: { refunded: 5 } },
      { refunded: 5 },
    ],
    ['structured content that is not an object', { content: [], structuredContent: [1, 2] }, [1, 2]],
    ['text blocks, joined', { content: [text('a'), text('b')] }, 'a\nb'],
    ['mixed blocks, as sent', { content: [text('a'), image] }, { content: [text('a'), image] }],
    ['no content', { content: [] }, { content: [] }],
    ['too big', { content: [text('x'.repeat(200))] }, { truncated: true, bytes: 202 }],
  ])('%s', (_, result, expected) => {
    expect(effectResult(result, where, 100)).toEqual(expected);
  });

  it('makes isError a typed error with the tool text', () => {
    const error = effectResult({ isError: true, content: [text('account closed')] }, where, 64);
    expect(isMeshwardenError(error) && error.code).toBe('MW_INTEROP_MCP_TOOL_ERROR');
    expect(isMeshwardenError(error) && error.message).toContain('account closed');
  });
});
