// npm run openapi: writes docs/openapi.json, the OpenAPI document the server generates from its route
// schemas (the same one GET /api/v1/openapi.json serves). A test checks the file is up to date.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { openMesh } from '../dist/runtime/index.js';
import { createServer, openTokenStore } from '../dist/server/index.js';

export async function generateOpenApi(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'meshwarden-openapi-'));
  try {
    const log = pino({ level: 'silent' });
    const meshFile = new URL('../examples/retention/mesh.yaml', import.meta.url).pathname;
    const opened = await openMesh({ meshFile, dataDir: dir, log });
    if (!opened.ok) throw new Error('the retention example did not open');
    await using o = opened.opened;
    const tokens = await openTokenStore(join(dir, 'tokens.json'));
    if (!('verify' in tokens)) throw tokens;
    // With GET /metrics (served when MESHWARDEN_METRICS_TOKEN is set), so the document lists it.
    const metrics = { token: 'openapi-metrics-token', contentType: 'text/plain', scrape: async () => '' };
    await using server = await createServer({ mesh: o.mesh, ledger: o.ledger, tokens, log, metrics });
    await server.app.ready();
    return `${JSON.stringify(server.app.swagger(), null, 2)}\n`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const out = new URL('../docs/openapi.json', import.meta.url).pathname;
  writeFileSync(out, await generateOpenApi());
  process.stderr.write('wrote docs/openapi.json\n');
}
