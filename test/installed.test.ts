import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO, runCliAt, tempDir } from './run-cli.js';
import { call, startUp } from './up-process.js';

describe('an npm-installed copy', () => {
  it('runs a scaffolded mesh whose .ts agents import meshwarden', async () => {
    const project = tempDir('installed');
    // What a user does: pack (dist is built by npm test), npm init, npm install the package.
    const npm = (args: string[], cwd: string) =>
      execFileSync('npm', args, { cwd, stdio: 'pipe', encoding: 'utf8' });
    const tarball = npm(['pack', '--ignore-scripts', '--pack-destination', project, REPO], project)
      .trim()
      .split('\n')
      .at(-1)!;
    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify({ name: 'user-project', private: true, type: 'commonjs' }),
    );
    npm(['install', '--no-audit', '--no-fund', join(project, tarball)], project);
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
});
