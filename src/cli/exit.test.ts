import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

describe('exitOnInterruptWhileOpening', () => {
  // A process of its own, which the helper exits: it signals itself while "opening". The build's
  // modules (as the CLI's tests run dist/): Node strips the sources' types but keeps their `.js` imports.
  const run = (signal: 'SIGINT' | 'SIGTERM', opts: { json?: boolean; done?: boolean } = {}) => {
    const at = (file: string) => JSON.stringify(new URL(`../../dist/cli/${file}`, import.meta.url).href);
    const script = `
      const { exitOnInterruptWhileOpening } = await import(${at('exit.js')});
      const { createOutput } = await import(${at('output.js')});
      const opening = exitOnInterruptWhileOpening(createOutput(${opts.json === true}));
      ${opts.done === true ? 'opening.done(); process.once("SIGINT", () => process.exit(0));' : ''}
      process.kill(process.pid, '${signal}');
      setTimeout(() => process.exit(7), 10_000);
    `;
    return spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  };

  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)('fails with MW_CLI_INTERRUPTED on %s and exits %i', (signal, code) => {
    const r = run(signal);
    expect(r.status).toBe(code);
    expect(r.stderr).toMatch(/^error MW_CLI_INTERRUPTED: /);
    expect(r.stdout).toBe('');
  });

  it('gives --json its one document', () => {
    const r = run('SIGINT', { json: true });
    expect(r.status).toBe(130);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, error: { code: 'MW_CLI_INTERRUPTED' } });
  });

  it('leaves the signal to the command once the open is done', () => {
    const r = run('SIGINT', { done: true });
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
  });
});
