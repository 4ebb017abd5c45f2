import { existsSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO, runCli, tempDir } from './run-cli.js';

const mesh = join(REPO, 'examples', 'retention', 'mesh.yaml');

describe('up on a port another process holds', () => {
  it('fails with MW_CLI_LISTEN before it opens the mesh: no ledger read, none made', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    try {
      const port = (holder.address() as AddressInfo).port;
      const data = join(tempDir('up-port'), 'data');
      const result = await runCli(['up', mesh, '--data', data, '--port', String(port), '--json']);
      expect(result.code, result.stderr).toBe(1);
      expect(JSON.parse(result.stdout)).toMatchObject({
        ok: false,
        error: { code: 'MW_CLI_LISTEN' },
      });
      // Refused before the mesh opened: the data directory's ledger was never made.
      expect(existsSync(join(data, 'ledger.db'))).toBe(false);
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });
});
