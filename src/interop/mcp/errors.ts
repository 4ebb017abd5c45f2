import { makeError } from '../../runtime/index.js';

/**
 * What can go wrong with an effect executed by a tool of an MCP server beyond what any remote call
 * can do (unreachable, too slow, circuit open, HTTP status, too big a reply: those codes come from
 * ../errors.ts and mean the same here).
 */
export const mcpError = makeError({
  MW_INTEROP_MCP_SERVER: 'effect {effect}: cannot tell how to reach MCP server {server}: {problem}',
  MW_INTEROP_MCP_TOOL_ERROR: 'effect {effect}: tool {tool} of MCP server {server} reported an error: {text}',
  MW_INTEROP_MCP_UNKNOWN_TOOL:
    'effect {effect}: MCP server {server} has no tool {tool}; its tools are {tools}',
  MW_INTEROP_MCP_FAILED: 'effect {effect}: MCP server {server} refused to call tool {tool}: {problem}',
  MW_INTEROP_MCP_BAD_REPLY:
    'effect {effect}: MCP server {server} answered with something that is not MCP: {problem}',
  MW_INTEROP_MCP_EXITED: 'effect {effect}: MCP server {server} exited {how}{stderr}',
  MW_INTEROP_MCP_CLOSED:
    'MCP server {server} is not called any more: its transport was closed (the mesh is stopping)',
  MW_INTEROP_MCP_ARGUMENTS:
    'effect {effect}: its data is {kind}, but the arguments of an MCP tool are an object (make its contract an object schema)',
});
