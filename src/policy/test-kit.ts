/** Test helpers: compile mesh text in memory, without files. Used only by tests. */
import { compilePolicy } from './compile.js';
import { contractFiles } from './files.js';
import type { PolicyLoadResult } from './issues.js';
import { parseMesh } from './source.js';
import type { Policy } from './types.js';

/** Compiles mesh lines as `/mesh/mesh.yaml`: every contract is `{"type":"object"}` unless given (undefined: missing). */
export function compileLines(
  lines: readonly string[],
  contracts: Readonly<Record<string, string | undefined>> = {},
): PolicyLoadResult {
  const mesh = parseMesh({ file: 'mesh.yaml', path: '/mesh/mesh.yaml', text: lines.join('\n') });
  const texts = new Map<string, string>();
  for (const { type } of contractFiles(mesh)) {
    const text = type in contracts ? contracts[type] : '{ "type": "object" }';
    if (text !== undefined) texts.set(type, text);
  }
  return compilePolicy(mesh, texts);
}

/** The compiled policy; fails the test with the issues when there are any. */
export function policyOf(
  lines: readonly string[],
  contracts?: Readonly<Record<string, string | undefined>>,
): Policy {
  const result = compileLines(lines, contracts);
  if (!result.ok)
    throw new Error(result.issues.map((i) => `${i.line}:${i.col} ${i.code} ${i.message}`).join('\n'));
  return result.policy;
}

/** A small valid mesh, lines 1-8: agents a and b, effect pay.send, ingress in. */
export const BASE: readonly string[] = [
  'mesh: m',
  'agents:',
  '  a: { version: 1.0.0, module: ./a.ts, consumes: [x.v1], emits: [y.v1] }',
  '  b: { version: 1.0.0, url: "https://b.example.com/agent", consumes: [y.v1], effects: [pay.send] }',
  'effects:',
  '  pay.send: { module: ./pay.ts }',
  'ingress:',
  '  in: { emits: [x.v1] }',
];
