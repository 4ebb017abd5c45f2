// Adapters to the outside: remote agents reached over HTTP (later A2A and MCP), handed to the runtime
// as transports.
export { interopError } from './errors.js';
export { createHttpTransport, type HttpTransportOptions } from './http/transport.js';
