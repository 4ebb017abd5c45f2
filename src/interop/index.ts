// Adapters to the outside: remote agents reached over HTTP and A2A, low-code flows (Flowise) and
// plain JSON endpoints, effects executed by MCP tools,
// handed to the runtime as transports, and wrappers that turn other frameworks' agents into mesh agents.
export { a2aError } from './a2a/errors.js';
export { createMeshA2aServer, type MeshA2aServer } from './a2a/serve.js';
export { type A2aTransportOptions, createA2aTransport } from './a2a/transport.js';
export { type AlertSinkOptions, createAlertSinks } from './alerts/sinks.js';
export { cloudEventOf, SIGNATURE_HEADER, signatureOf } from './alerts/webhook.js';
export { interopError } from './errors.js';
export { createFlowiseTransport } from './flowise/transport.js';
export type { Emission } from './frameworks/emissions.js';
export { type InvokableGraph, langGraphAgent } from './frameworks/langgraph.js';
export { llamaIndexAgent, type WorkflowEventLike, type WorkflowLike } from './frameworks/llamaindex.js';
export { createHttpTransport, type HttpTransportOptions } from './http/transport.js';
export { createJsonHttpTransport, type MappedTransportOptions } from './json-http/transport.js';
export { mcpError } from './mcp/errors.js';
export { type MeshMcpProxy, type MeshMcpProxyOptions, startMeshMcpProxy } from './mcp/proxy.js';
export {
  createMeshMcpServer,
  type MeshMcpServer,
  type MeshMcpServerOptions,
} from './mcp/serve.js';
export { type MeshTool, meshTools, toolName } from './mcp/serve-tools.js';
export { createMcpTransport, type McpTransport, type McpTransportOptions } from './mcp/transport.js';
export type { ResilienceOptions, Where } from './resilience.js';
export { hostOf } from './url-host.js';
