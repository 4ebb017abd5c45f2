// Stand-ins for the two low-code agents of this example, so that it runs without Flowise or n8n.
// Plain Node (18 or newer), no dependencies: `node examples/lowcode/peers.mjs`.
//
//   FLOWISE_PORT  (default 3000, as Flowise; `off` to serve no Flowise)
//       POST /api/v1/prediction/<FLOWISE_FLOW> answers as a Flowise 3.1.4 agentflow does: the
//       object that flowise/triage-agentflow.json's Custom Function returns, as pretty JSON text
//       in `text` (that very function runs here). Errors have Flowise's shape, any other request
//       gets an HTML page with 200, as Flowise serves its web app.
//   FLOWISE_FLOW  (default the id in mesh.yaml)  the flow id it serves
//   FLOWISE_KEY   when set, the flow wants `Authorization: Bearer <key>` (Flowise: 500 without it)
//   N8N_PORT      (default 5678, as n8n; `off` to serve no n8n)
//       POST /webhook/clarify answers as an n8n workflow "Webhook → If → Respond to Webhook": a
//       ticket labelled needs-info is re-filed ({ refile: true, text }), any other is not.
//   N8N_KEY       when set, the webhook wants it in `X-N8N-Key` (n8n's header auth: 403 without it)
//
// It prints one line per server it listens on (port 0 picks a free one), then one per call.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

const env = process.env;
const FLOW = env.FLOWISE_FLOW || '6f1d2c3b-8a4e-4b7d-9c21-5e0a7b9d4f62';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// The flow's own code, taken from the agentflow file, so that the stand-in labels as the flow does.
const graph = JSON.parse(readFileSync(new URL('./flowise/triage-agentflow.json', import.meta.url), 'utf8'));
const node = graph.nodes.find((n) => n.data.name === 'customFunctionAgentflow');
const label = new Function('$flow', node.data.inputs.customFunctionJavascriptFunction);

const send = (res, status, body, type = 'application/json; charset=utf-8') => {
  res.writeHead(status, { 'content-type': type });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
};

function serve(name, port, route) {
  if (port === 'off') return;
  const server = createServer((req, res) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => (text += chunk));
    req.on('end', () => {
      let body;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      try {
        route(req, body, res);
      } catch (err) {
        send(res, 500, { statusCode: 500, success: false, message: String(err), stack: {} });
      }
    });
  });
  server.listen(Number(port), '127.0.0.1', () => {
    console.log(`${name} listening on http://127.0.0.1:${server.address().port}`);
  });
  servers.push(server);
}

function flowise(req, body, res) {
  const fail = (status, message) =>
    send(res, status, { statusCode: status, success: false, message, stack: {} });
  const match = /^\/api\/v1\/prediction\/([^/?]+)$/.exec(req.url);
  if (req.method !== 'POST' || match === null)
    return send(
      res,
      200,
      '<!DOCTYPE html><html><head><title>Flowise</title></head><body></body></html>',
      'text/html; charset=UTF-8',
    );
  const id = decodeURIComponent(match[1]);
  if (!UUID.test(id)) return fail(400, 'Invalid Chatflow ID');
  if (id !== FLOW) return fail(404, `Chatflow ${id} not found in the database!`);
  const auth = req.headers.authorization;
  if (env.FLOWISE_KEY && auth !== `Bearer ${env.FLOWISE_KEY}` && auth !== env.FLOWISE_KEY)
    return fail(500, 'Error: predictionsServices.buildChatflow - Unauthorized');
  const question = body?.question;
  const sessionId = body?.overrideConfig?.sessionId ?? body?.chatId ?? randomUUID();
  const chatId = body?.chatId ?? sessionId;
  const result = label({ input: question, sessionId, chatId });
  console.log(`flowise  ${chatId}  ${JSON.stringify(question)} -> ${result.label}`);
  send(res, 200, {
    text: JSON.stringify(result, null, 2),
    question,
    chatId,
    chatMessageId: randomUUID(),
    executionId: randomUUID(),
    sessionId,
  });
}

function n8n(req, body, res) {
  const fail = (status, message) => send(res, status, { code: status, message });
  const path = req.url.split('?')[0];
  if (req.method !== 'POST' || path !== '/webhook/clarify')
    return fail(
      404,
      `The requested webhook "${req.method} ${path.replace(/^\/webhook\//, '')}" is not registered.`,
    );
  if (env.N8N_KEY && req.headers['x-n8n-key'] !== env.N8N_KEY)
    return fail(403, 'Authorization data is wrong!');
  const refile = body?.label === 'needs-info';
  console.log(`n8n      ${body?.ticket}  ${body?.label} -> ${refile ? 're-filed' : 'left alone'}`);
  send(res, 200, refile ? { refile: true, text: body.text } : { refile: false });
}

const servers = [];
serve('flowise stand-in', env.FLOWISE_PORT || '3000', flowise);
serve('n8n stand-in', env.N8N_PORT || '5678', n8n);
const stop = () => {
  for (const server of servers) server.close();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
