#!/usr/bin/env node
// The `meshwarden` command's entry. It imports nothing at load time, so that an older Node reaches
// the version check below instead of dying on `import 'node:sqlite'` (ERR_UNKNOWN_BUILTIN_MODULE)
// somewhere in the CLI's import graph; program.js (the commands) is loaded only once the Node is new enough.
import { nodeTooOld, oldNodeAdvice } from './node-version.js';

const version = process.versions.node;
if (nodeTooOld(version)) {
  const error = { code: 'MW_CLI_NODE_TOO_OLD', message: oldNodeAdvice(version) };
  process.stderr.write(`error ${error.code}: ${error.message}\n`);
  // The CLI contract: with --json, stdout carries one JSON document, errors included.
  if (process.argv.includes('--json'))
    process.stdout.write(`${JSON.stringify({ ok: false, error }, null, 2)}\n`);
  process.exitCode = 2;
} else {
  await import('./program.js');
}
