// Bundles the console into console/dist: app.js (+ map) from src/main.tsx, app.css from the styles it
// imports, and index.html.
// Run with `node console/build.ts` (Node strips the types); works from any working directory.
import { copyFileSync, mkdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { build } from 'esbuild';

const here = import.meta.dirname;
const src = join(here, 'src');
const dist = join(here, 'dist');

mkdirSync(dist, { recursive: true });
try {
  const result = await build({
    entryPoints: [join(src, 'main.tsx')],
    outfile: join(dist, 'app.js'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: true,
    sourcemap: true,
    metafile: true,
    logLevel: 'silent',
  });
  copyFileSync(join(src, 'index.html'), join(dist, 'index.html'));
  // metafile keys are relative to the working directory, which may be anything.
  const app = Object.entries(result.metafile.outputs).find(([path]) => path.endsWith('app.js'));
  const size = app === undefined ? '' : ` (app.js ${(app[1].bytes / 1024).toFixed(1)} kB)`;
  console.log(`console: built ${relative(process.cwd(), dist) || '.'}${size}`);
} catch (err) {
  // esbuild's failure carries every error with file:line:column; print them, not a stack.
  const errors = (
    err as { errors?: { text: string; location?: { file: string; line: number; column: number } }[] }
  ).errors;
  if (errors === undefined) throw err;
  for (const e of errors) {
    const at = e.location ? `${e.location.file}:${e.location.line}:${e.location.column}: ` : '';
    console.error(`console: ${at}${e.text}`);
  }
  process.exitCode = 1;
}
