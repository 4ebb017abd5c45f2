// Pilot commands where no mesh answers: a closed port, a URL that is not one, a server that is not a
// mesh. Each is a typed error naming the address, without a stack trace.
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { type CliResult, runCli } from './run-cli.js';

const pilot = (args: readonly string[]): Promise<CliResult> =>
  runCli([...args, '--token', 'mw_anything'], {
    env: { MESHWARDEN_URL: undefined, MESHWARDEN_TOKEN: undefined },
  });
const json = (r: CliResult) => JSON.parse(r.stdout);

describe('pilot commands where no mesh answers', () => {
  it('names the address when there is no mesh there, without a stack trace', async () => {
    const closed = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const port = (closed.address() as AddressInfo).port;
    closed.close();
    await once(closed, 'close');
    const gone = await pilot(['approvals', 'list', '--url', `http://127.0.0.1:${port}`, '--json']);
    expect(gone.code).toBe(1);
    expect(json(gone).error.code).toBe('MW_CLI_UNREACHABLE');
    expect(gone.stderr).toContain(`127.0.0.1:${port}`);
    expect(gone.stderr).not.toMatch(/^\s+at /m);

    const bad = await pilot(['breakers', 'list', '--url', 'localhost', '--json']);
    expect(bad.code).toBe(2);
    expect(json(bad).error.code).toBe('MW_CLI_BAD_URL');

    await using other = createServer((_, res) => res.writeHead(404).end('not here'));
    other.listen(0, '127.0.0.1');
    await once(other, 'listening');
    const otherUrl = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
    const wrong = await pilot(['breakers', 'list', '--url', otherUrl, '--json']);
    expect(wrong.code).toBe(1);
    expect(json(wrong).error.code).toBe('MW_CLI_BAD_REPLY');
  });
});
