import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO, runCliAt, tempDir } from './run-cli.js';
import { call, startUp } from './up-process.js';

const npm = (args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env) =>
  execFileSync('npm', args, { cwd, stdio: 'pipe', encoding: 'utf8', env });

/** What a user makes in a clone: `npm pack` (dist is built by npm test). Returns the tarball's path. */
function pack(into: string): string {
  const name = npm(['pack', '--ignore-scripts', '--pack-destination', into, REPO], into)
    .trim()
    .split('\n')
    .at(-1)!;
  return join(into, name);
}

/**
 * A Node older than the CLI needs: the machine's own (Debian's, 20 here) when it is older than 22, or
 * else Node 20 installed from the npm registry (the `node` package), the only network CI has.
 */
function oldNode(): string {
  const system = '/usr/bin/node';
  if (existsSync(system)) {
    const major = Number(
      execFileSync(system, ['-p', 'process.versions.node'], { encoding: 'utf8' }).split('.')[0],
    );
    if (major < 22) return system;
  }
  const dir = tempDir('node20');
  writeFileSync(join(dir, 'package.json'), '{"private": true}');
  npm(['install', '--no-audit', '--no-fund', 'node@20'], dir);
  return join(dir, 'node_modules', 'node', 'bin', 'node');
}

describe('an npm-installed copy', () => {
  let tarball: string;
  beforeAll(() => {
    tarball = pack(tempDir('pack'));
  });

  it('runs a scaffolded mesh whose .ts agents import meshwarden', async () => {
    const project = tempDir('installed');
    // What a user does: npm init, npm install the package.
    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify({ name: 'user-project', private: true, type: 'commonjs' }),
    );
    npm(['install', '--no-audit', '--no-fund', tarball], project);
    const bin = join(project, 'node_modules', 'meshwarden', 'dist', 'cli', 'main.js');

    const init = await runCliAt(bin, ['init', 'mesh'], { cwd: project });
    expect(init.code, init.stderr).toBe(0);
    const run = await runCliAt(
      bin,
      ['run', 'mesh/mesh.yaml', '--input', 'mesh/messages.jsonl', '--data', 'mesh/.mw', '--json'],
      {
        cwd: project,
      },
    );
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).effects).toMatchObject({ executed: 1, held: 1 });
    const demo = await runCliAt(bin, ['demo', 'retention', '--json'], { cwd: project });
    expect(demo.code, demo.stderr).toBe(0);
    expect(JSON.parse(demo.stdout).frozen).toEqual(['account:8841']);

    // up serves the API and the built console from the installed package.
    const up = await startUp(['mesh/mesh.yaml', '--data', 'mesh/.up'], { bin, cwd: project });
    try {
      const page = await fetch(`${up.url}/`);
      expect(page.headers.get('content-type')).toContain('text/html');
      expect(await (await fetch(`${up.url}/app.js`)).text()).not.toBe('');
      const held = await call(up, up.token, 'GET', '/holds');
      expect(held.status).toBe(200);
    } finally {
      expect(await up.stop()).toBe(0);
    }
  });

  it('works in an empty folder with the commands the README gives', () => {
    const project = tempDir('empty');
    // npm install ./meshwarden-<v>.tgz && npx meshwarden init && npx meshwarden run
    npm(['install', '--no-audit', '--no-fund', tarball], project);
    const npx = (args: string[]) =>
      execFileSync('npx', ['--no-install', 'meshwarden', ...args], {
        cwd: project,
        encoding: 'utf8',
        stdio: 'pipe',
      });
    const init = JSON.parse(npx(['init', '--json']));
    expect(init.package).toEqual({ installed: true });
    const manifest = JSON.parse(readFileSync(join(project, 'package.json'), 'utf8'));
    expect(manifest).toMatchObject({ type: 'module', dependencies: { meshwarden: expect.any(String) } });
    // Without --input, run feeds the scaffolded messages.jsonl.
    const summary = JSON.parse(npx(['run', '--json']));
    expect(summary.messages.admitted).toBeGreaterThanOrEqual(3);
    expect(summary.effects).toMatchObject({ executed: 1, held: 1 });
    // The docs the installed README links to, and the scaffolded mesh.yaml names, come with it.
    const installed = join(project, 'node_modules', 'meshwarden');
    const readme = readFileSync(join(installed, 'README.md'), 'utf8');
    const linked = [...readme.matchAll(/\]\((docs\/[^)#]+)/g)].map((m) => m[1]!);
    expect(linked).toContain('docs/policy.md');
    expect(linked.filter((doc) => !existsSync(join(installed, doc)))).toEqual([]);
    // And every file a shipped doc links to (relative links, not web addresses).
    const broken = readdirSync(join(installed, 'docs'))
      .filter((name) => name.endsWith('.md'))
      .flatMap((name) =>
        [...readFileSync(join(installed, 'docs', name), 'utf8').matchAll(/\]\(([^)#\s]+)/g)]
          .map((m) => m[1]!)
          .filter((to) => !/^[a-z]+:/.test(to))
          .filter((to) => !existsSync(join(installed, 'docs', to)))
          .map((to) => `${name} -> ${to}`),
      );
    expect(broken).toEqual([]);
  });

  it('tells a user on a Node older than 22.18 what to do, instead of failing on node:sqlite', async () => {
    const project = tempDir('old-node');
    npm(['install', '--no-audit', '--no-fund', tarball], project);
    const bin = join(project, 'node_modules', 'meshwarden', 'dist', 'cli', 'main.js');
    const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(oldNode(), [bin, 'run', '--json'], { cwd: project }, (_err, stdout, stderr) =>
        resolve({ code: child.exitCode, stdout, stderr }),
      );
    });
    expect(out.stderr).not.toContain('ERR_UNKNOWN_BUILTIN_MODULE');
    expect(out.stderr).toContain('MW_CLI_NODE_TOO_OLD');
    expect(out.code).toBe(2);
    expect(JSON.parse(out.stdout)).toMatchObject({ ok: false, error: { code: 'MW_CLI_NODE_TOO_OLD' } });
  });
});
