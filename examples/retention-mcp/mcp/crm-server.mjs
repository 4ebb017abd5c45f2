// The billing side of the CRM as an MCP server over stdio, built with the official v2 server SDK:
// one tool, `credit`, doing what ../retention/effects/credit.ts does. The warden spawns it
// (`mcp: node ./mcp/crm-server.mjs`) and calls the tool once per admitted credit.issue request.
import { fromJsonSchema, McpServer } from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';

const CREDIT = {
  type: 'object',
  required: ['amount', 'currency'],
  properties: {
    amount: { type: 'number', exclusiveMinimum: 0, maximum: 1000 },
    currency: { enum: ['EUR', 'USD'] },
    reason: { type: 'string', maxLength: 500 },
  },
  additionalProperties: false,
};

// The warden sends the request's id as `_meta["meshwarden/id"]`: the idempotency key. A retry
// with the same id gets the credit already issued instead of a second one.
const issued = new Map();

serveStdio(() => {
  const server = new McpServer({ name: 'acme-crm', version: '1.0.0' }, { capabilities: { tools: {} } });
  server.registerTool(
    'credit',
    { description: 'Issue a credit to the account', inputSchema: fromJsonSchema(CREDIT) },
    async ({ amount, currency }, ctx) => {
      const id = String(ctx.mcpReq?._meta?.['meshwarden/id'] ?? '');
      const account = ctx.mcpReq?._meta?.['meshwarden/subject'];
      if (!issued.has(id)) issued.set(id, { creditId: `cr_${id.slice(-12)}`, amount, currency });
      const credit = issued.get(id);
      process.stderr.write(`credit ${credit.creditId}: ${amount} ${currency} to ${account}\n`);
      return {
        content: [{ type: 'text', text: `credited ${amount} ${currency}` }],
        structuredContent: credit,
      };
    },
  );
  return server;
});
