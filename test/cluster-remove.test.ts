import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { describe, expect, it, onTestFinished } from 'vitest';
import { tempPostgresSchemas } from '../src/ledger/postgres-test-kit.js';
import { partitionSubject, streamNameOf } from '../src/runtime/jetstream-names.js';
import { leaseBucketOf } from '../src/runtime/lease-names.js';
import { NATS } from '../src/runtime/lease-test-kit.js';
import { retentionCluster } from './retention-cluster.js';
import { runCli } from './run-cli.js';
import { startUp } from './up-process.js';

const freshSchema = tempPostgresSchemas();

/** Which of the mesh's two NATS streams exist now. */
async function streamsOf(mesh: string): Promise<string[]> {
  const nc = await connect({ servers: NATS });
  try {
    const jsm = await jetstreamManager(nc);
    const names = [streamNameOf(mesh), `KV_${leaseBucketOf(mesh)}`];
    const found = await Promise.all(
      names.map((n) =>
        jsm.streams.info(n).then(
          () => n,
          () => undefined,
        ),
      ),
    );
    return found.filter((n) => n !== undefined);
  } finally {
    await nc.close();
  }
}

describe('cluster remove', () => {
  it('refuses a live mesh and one with work not done, removes a stopped one, and leaves its ledger', async () => {
    const { dir, file, mesh } = retentionCluster(2);
    const ledger = freshSchema().location;
    const schema = new URL(ledger).searchParams.get('schema')!;
    const database = new URL(ledger).pathname.slice(1);
    const node = await startUp([
      file,
      '--cluster',
      NATS,
      '--ledger',
      ledger,
      '--node',
      'n1',
      '--data',
      join(dir, 'n1'),
    ]);
    onTestFinished(async () => {
      await node.stop();
    });
    const remove = (...more: string[]) =>
      runCli(['cluster', 'remove', mesh, '--cluster', NATS, '--json', ...more]);
    /** A refusal: exit 1 and its code, in --json's document. */
    const refused = async (run: Promise<{ code: number | null; stdout: string }>) => {
      const r = await run;
      expect(r.code).toBe(1);
      return (JSON.parse(r.stdout) as { ok: false; error: { code: string; message: string } }).error;
    };

    const live = await refused(remove());
    expect(live.code).toBe('MW_RUNTIME_MESH_LIVE');
    expect(live.message).toContain('(n1)');
    expect(await node.stop()).toBe(0);

    // Work put on its stream after the node left: removing would discard it, so only with --force.
    const nc = await connect({ servers: NATS });
    await jetstream(nc).publish(partitionSubject(mesh, 0), '{"kind":"root"}');
    await nc.close();
    expect((await refused(remove())).code).toBe('MW_RUNTIME_MESH_BACKLOG');
    expect(await streamsOf(mesh)).toHaveLength(2);

    const forced = await remove('--force');
    expect(forced.code, forced.stderr).toBe(0);
    expect(JSON.parse(forced.stdout)).toEqual({
      ok: true,
      mesh,
      stream: streamNameOf(mesh),
      bucket: leaseBucketOf(mesh),
      discarded: 1,
      // The ledger its stream recorded, left in PostgreSQL for the operator to keep or drop.
      ledger: { name: `postgres:${database}/${schema}`, database, schema },
    });
    expect(await streamsOf(mesh)).toEqual([]);
    // Its ledger stays: audit verify still reads every chain.
    const verified = await runCli([
      'audit',
      'verify',
      '--ledger',
      ledger,
      '--data',
      join(dir, 'n1'),
      '--json',
    ]);
    expect(JSON.parse(verified.stdout)).toMatchObject({ ok: true });

    expect((await refused(remove())).code).toBe('MW_RUNTIME_MESH_UNKNOWN');
    // No NATS there: said within the connect timeout, its credentials not repeated.
    const away = await refused(
      runCli(['cluster', 'remove', mesh, '--cluster', 'nats://ops:s3cret@127.0.0.1:1', '--json']),
    );
    expect(away.code).toBe('MW_RUNTIME_BUS_CONNECT');
    expect(away.message).not.toContain('s3cret');
    // Usage errors, exit 2: another protocol's URL, a name no mesh file can give.
    for (const args of [
      [mesh, '--cluster', 'http://127.0.0.1:4222'],
      ['no/such mesh', '--cluster', NATS],
    ]) {
      const usage = await runCli(['cluster', 'remove', ...args]);
      expect(usage.code, usage.stderr).toBe(2);
    }
  });
});
