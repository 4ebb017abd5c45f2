import type { CallToolResult } from '@modelcontextprotocol/client';
import type { JsonValue, MeshwardenError } from '../../runtime/index.js';
import { mcpError } from './errors.js';

export type Where = {
  /** The effect, its server as the policy wrote it, and the tool. */
  readonly effect: string;
  readonly server: string;
  readonly tool: string;
  /** For the shared interop codes, whose sentences name who was called and where. */
  readonly who: string;
  readonly url: string;
};

/** Longest tool error text kept in the error's sentence. */
const ERROR_TEXT = 500;

/**
 * The effect's result, recorded in `effect.executed`: the tool's `structuredContent` when it has
 * one (its machine-readable answer), else its text blocks joined by newlines when all blocks are
 * text, else `{ content }` as the tool sent it (over `maxBytes`: `{ truncated: true, bytes }`). A result with `isError` is the tool saying it
 * failed: a typed error, so the runtime retries the effect and dead-letters it after the last try.
 */
export function effectResult(
  result: CallToolResult,
  where: Where,
  maxBytes: number,
): JsonValue | MeshwardenError {
  const content = Array.isArray(result.content) ? result.content : [];
  const texts = content.flatMap((block) => (block.type === 'text' ? [block.text] : []));
  if (result.isError === true) {
    const text = texts.join('\n').trim() || 'no message';
    const short = text.length > ERROR_TEXT ? `${text.slice(0, ERROR_TEXT)}…` : text;
    return mcpError('MW_INTEROP_MCP_TOOL_ERROR', { ...where, text: short });
  }
  let value: JsonValue;
  if (result.structuredContent !== undefined) value = result.structuredContent as JsonValue;
  else if (content.length > 0 && texts.length === content.length) value = texts.join('\n');
  else value = { content: content as JsonValue };
  // The result goes into the ledger, so a huge one is left out; it is not an error, since the
  // side effect has happened and a retry would only repeat it.
  const bytes = Buffer.byteLength(JSON.stringify(value) ?? '');
  return bytes > maxBytes ? { truncated: true, bytes } : value;
}
