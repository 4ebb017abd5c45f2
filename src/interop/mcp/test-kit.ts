import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMcpHandler, fromJsonSchema, McpServer } from '@modelcontextprotocol/server';

/** A tool call as the server's handler saw it. */
export type ReceivedCall = { readonly tool: string; readonly args: unknown; readonly meta: unknown };

export type McpPeer = {
  readonly url: string;
  readonly calls: ReceivedCall[];
  /** The input schema `refund` lists; a test may change it (every request builds the server afresh). */
  refundSchema: Readonly<Record<string, unknown>>;
  /** When set, every request must carry `Authorization: Bearer <token>`, or gets 401. */
  token: string | undefined;
  close(): Promise<void>;
};

const AMOUNT = { type: 'object', properties: { amount: { type: 'number' } }, required: ['amount'] } as const;

/**
 * A real MCP server for tests, built with the official v2 server SDK and served stateless over
 * Streamable HTTP on loopback (`createMcpHandler`, one server instance per request, mounted on
 * node:http). A CRM: `refund` answers structured content, `note` text, `broken` isError, `slow` late,
 * `huge` 64 KiB of text.
 */
export async function startMcpPeer(): Promise<McpPeer> {
  const calls: ReceivedCall[] = [];
  let refundSchema: Readonly<Record<string, unknown>> = AMOUNT;
  const handler = createMcpHandler(() => {
    const server = new McpServer({ name: 'crm', version: '1.0.0' }, { capabilities: { tools: {} } });
    const record = (tool: string, args: unknown, ctx: { mcpReq?: { _meta?: unknown } }) =>
      calls.push({ tool, args, meta: ctx.mcpReq?._meta });
    server.registerTool('refund', { inputSchema: fromJsonSchema(refundSchema) }, async (args, ctx) => {
      record('refund', args, ctx);
      const refunded = (args as { amount: number }).amount;
      const text = `refunded ${refunded}`;
      return { content: [{ type: 'text', text }], structuredContent: { refunded, status: 'done' } };
    });
    server.registerTool('note', { inputSchema: fromJsonSchema(AMOUNT) }, async (args, ctx) => {
      record('note', args, ctx);
      return {
        content: [
          { type: 'text', text: 'noted' },
          { type: 'text', text: 'twice' },
        ],
      };
    });
    server.registerTool('broken', { inputSchema: fromJsonSchema(AMOUNT) }, async (args, ctx) => {
      record('broken', args, ctx);
      return { isError: true, content: [{ type: 'text', text: 'the CRM is down' }] };
    });
    server.registerTool('slow', { inputSchema: fromJsonSchema(AMOUNT) }, async (args, ctx) => {
      record('slow', args, ctx);
      await new Promise((resolve) => setTimeout(resolve, 500));
      return { content: [{ type: 'text', text: 'late' }] };
    });
    server.registerTool('huge', { inputSchema: fromJsonSchema(AMOUNT) }, async (args, ctx) => {
      record('huge', args, ctx);
      return { content: [{ type: 'text', text: 'x'.repeat(64 * 1024) }] };
    });
    return server;
  });
  let token: string | undefined;
  const http = createServer((req, res) => {
    if (token !== undefined && req.headers.authorization !== `Bearer ${token}`) {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"unauthorized"}');
      return;
    }
    void serve(handler.fetch, req, res);
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    calls,
    get refundSchema() {
      return refundSchema;
    },
    set refundSchema(schema) {
      refundSchema = schema;
    },
    get token() {
      return token;
    },
    set token(value) {
      token = value;
    },
    async close() {
      await handler.close();
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    },
  };
}

/** node:http in front of a web-standard fetch handler (@modelcontextprotocol/node is not installed). */
async function serve(
  fetch: (request: Request) => Promise<Response>,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value])
      headers.append(name, v);
  }
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
  const response = await fetch(
    new Request(`http://127.0.0.1${req.url}`, {
      method: req.method ?? 'GET',
      headers,
      ...(hasBody ? { body: Buffer.concat(chunks) } : {}),
    }),
  );
  res.writeHead(response.status, Object.fromEntries(response.headers));
  if (response.body) for await (const chunk of response.body) res.write(chunk);
  res.end();
}

/**
 * Stdio servers, as files a mesh names (`node ./mcp/<name>.mjs`). `refund` answers what it got
 * (amount, `_meta`, its pid), so a test reads the call back from the ledger. `v2` uses the v2
 * server SDK (spec 2026-07-28, 2025 clients too); `v1` the v1 SDK, a 2025-11-25 server whose tool
 * schemas are draft-07; `dies` writes to stderr and exits on its first call; `silent` never answers.
 */
const STDIO_SERVERS = {
  v2: `import { McpServer, fromJsonSchema } from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
serveStdio(() => {
  const server = new McpServer({ name: 'crm-stdio', version: '2.0.0' }, { capabilities: { tools: {} } });
  server.registerTool('refund', { inputSchema: fromJsonSchema(${JSON.stringify(AMOUNT)}) }, async (args, ctx) => ({
    content: [{ type: 'text', text: 'refunded' }],
    structuredContent: { refunded: args.amount, meta: ctx.mcpReq?._meta ?? null, pid: process.pid, crmToken: process.env.MW_TEST_CRM_TOKEN ?? null },
  }));
  return server;
});
`,
  v1: `import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';
const server = new McpServer({ name: 'crm-v1', version: '1.0.0' });
server.registerTool('refund', { inputSchema: { amount: z.number() } }, async (args, extra) => ({
  content: [{ type: 'text', text: 'refunded' }],
  structuredContent: { refunded: args.amount, meta: extra._meta ?? null, pid: process.pid },
}));
await server.connect(new StdioServerTransport());
`,
  dies: `import { McpServer, fromJsonSchema } from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
serveStdio(() => {
  const server = new McpServer({ name: 'crm-dies', version: '1.0.0' }, { capabilities: { tools: {} } });
  server.registerTool('refund', { inputSchema: fromJsonSchema(${JSON.stringify(AMOUNT)}) }, async () => {
    process.stderr.write('database connection lost\\n');
    process.exit(3);
  });
  return server;
});
`,
  silent: `process.stdin.resume(); // reads, never answers, and ends with its input
process.stdin.on('end', () => process.exit(0));
`,
} as const;

export type StdioServerKind = keyof typeof STDIO_SERVERS;

/** A temp folder whose `mcp/` holds the stdio servers, and which finds this repo's node_modules. */
export function tempMeshDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'meshwarden-mcp-'));
  symlinkSync(new URL('../../../node_modules', import.meta.url).pathname, join(dir, 'node_modules'), 'dir');
  mkdirSync(join(dir, 'mcp'));
  for (const [name, text] of Object.entries(STDIO_SERVERS))
    writeFileSync(join(dir, 'mcp', `${name}.mjs`), text);
  return dir;
}
