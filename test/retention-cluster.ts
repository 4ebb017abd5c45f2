// The retention example as a distributed mesh of its own, for the CLI's cluster tests.
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { onTestFinished } from 'vitest';
import { streamNameOf } from '../src/runtime/jetstream-names.js';
import { dropLeaseBucket, NATS, uniqueMesh } from '../src/runtime/lease-test-kit.js';
import { REPO, tempDir } from './run-cli.js';

/**
 * The retention example in a temp dir, as a mesh of its own name with `cluster: { partitions }`;
 * its stream and lease bucket are removed when the test ends.
 */
export function retentionCluster(partitions: number): { dir: string; file: string; mesh: string } {
  const dir = tempDir('cluster-run');
  cpSync(join(REPO, 'examples', 'retention'), dir, { recursive: true });
  const mesh = uniqueMesh();
  const file = join(dir, 'mesh.yaml');
  const text = readFileSync(file, 'utf8').replace(/^mesh: retention$/m, `mesh: ${mesh}`);
  writeFileSync(file, `${text}\ncluster: { partitions: ${partitions} }\n`);
  onTestFinished(async () => {
    await dropLeaseBucket(mesh);
    const nc = await connect({ servers: NATS });
    await (await jetstreamManager(nc)).streams.delete(streamNameOf(mesh)).catch(() => {});
    await nc.close();
  });
  return { dir, file, mesh };
}
