// `run --cluster` beside an `up --cluster` node, on the real NATS and PostgreSQL: the retention
// example run as a cluster prints the summary embedded `run` prints.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { tempPostgresSchemas } from '../src/ledger/postgres-test-kit.js';
import { NATS, uniqueMesh } from '../src/runtime/lease-test-kit.js';
import { retentionCluster } from './retention-cluster.js';
import { runCli } from './run-cli.js';
import { startUp } from './up-process.js';

const freshSchema = tempPostgresSchemas();

describe('run --cluster', () => {
  it('joins as a node beside up, waits for the whole mesh, and sums what every node decided', async () => {
    const { dir, file } = retentionCluster(4);
    const ledger = freshSchema().location;
    const cluster = ['--cluster', NATS, '--ledger', ledger];
    const node = await startUp([file, ...cluster, '--node', 'up-1', '--data', join(dir, 'up')]);
    onTestFinished(async () => {
      await node.stop();
    });
    const input = join(dir, 'tickets.jsonl');
    const run = await runCli([
      'run',
      file,
      '--input',
      input,
      ...cluster,
      '--data',
      join(dir, 'run'),
      '--json',
    ]);
    expect(run.stderr).toContain('waiting until the whole mesh is quiet');
    expect(run.code).toBe(0);
    const summary = JSON.parse(run.stdout);
    // What embedded `run` prints for this input (test/retention.test.ts and the README).
    expect(summary.messages).toMatchObject({ admitted: 21, delivered: 21, held: 1, quarantined: 3 });
    expect(summary.effects).toMatchObject({ executed: 11, held: 1 });
    expect(summary.frozen).toEqual(['account:8841']);
    // Every partition's head as stored, the ones up-1 owns included: together they count every entry.
    const heads = summary.ledger.heads as { size: number }[];
    expect(heads.reduce((n, h) => n + h.size, 0)).toBe(summary.ledger.entries);

    // Every chain verifies, and lists its owners in turn: up-1 first, the run's node among them.
    const verified = await runCli([
      'audit',
      'verify',
      '--ledger',
      ledger,
      '--data',
      join(dir, 'run'),
      '--json',
    ]);
    expect(verified.code).toBe(0);
    expect(JSON.parse(verified.stdout).ok).toBe(true);
    const exported = await runCli(['audit', 'export', '--ledger', ledger, '--data', join(dir, 'run')]);
    const owners = exported.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
      .filter((e) => e.kind === 'partition.owned')
      .map((e) => e.data.node as string);
    expect(owners.filter((n) => n === 'up-1').length).toBeGreaterThanOrEqual(4);
    expect(owners.some((n) => n.includes('-run-'))).toBe(true);

    // The ledger is this mesh's while its node runs: an embedded run on it, and a node of another
    // mesh name, are refused before they write a thing.
    const embedded = await runCli([
      'run',
      file,
      '--input',
      input,
      '--ledger',
      ledger,
      '--data',
      join(dir, 'e'),
    ]);
    expect(embedded.code).toBe(1);
    expect(embedded.stderr).toContain('error MW_LEDGER_CLUSTERED:');
    const other = join(dir, 'other.yaml');
    const otherMesh = uniqueMesh();
    writeFileSync(other, readFileSync(file, 'utf8').replace(/^mesh: .*$/m, `mesh: ${otherMesh}`));
    const intruder = await runCli(['run', other, '--input', input, ...cluster, '--data', join(dir, 'o')]);
    expect(intruder.code).toBe(1);
    expect(intruder.stderr).toContain('error MW_LEDGER_OTHER_MESH:');
    // Refused, it leaves nothing on NATS: no stream for its mesh name (nor a lease bucket: it never joined).
    const gone = await runCli(['cluster', 'remove', otherMesh, '--cluster', NATS, '--json']);
    expect(JSON.parse(gone.stdout)).toMatchObject({ ok: false, error: { code: 'MW_RUNTIME_MESH_UNKNOWN' } });

    // A quiet node leaves at once, and says it stopped cleanly only because nothing was left unsettled.
    expect(await node.stop()).toBe(0);
    expect(node.stderr()).toContain('stopped cleanly: node up-1 handed its partitions off');
  });

  it('refuses --node without --cluster, and a --cluster URL that is not NATS, as usage errors', async () => {
    const { dir, file } = retentionCluster(4);
    const alone = await runCli(['run', file, '--node', 'a', '--data', join(dir, 'run')]);
    expect(alone.code).toBe(2);
    expect(alone.stderr).toContain('--node names a node of a cluster: it needs --cluster');
    const http = await runCli(['up', file, '--cluster', 'http://127.0.0.1:4222', '--data', join(dir, 'up')]);
    expect(http.code).toBe(2);
    expect(http.stderr).toContain('--cluster takes a NATS URL');
  });

  it('fails in one line when NATS cannot be reached, and leaves no data directory nor schema of its own behind', async () => {
    const { dir, file } = retentionCluster(4);
    const data = join(dir, 'never');
    const ledger = freshSchema();
    const cluster = ['--cluster', 'nats://127.0.0.1:1', '--ledger', ledger.location];
    const run = await runCli(['run', file, ...cluster, '--data', data]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('MW_RUNTIME_BUS_CONNECT');
    expect(existsSync(data)).toBe(false);
    // NATS is reached before the shared ledger is opened: nothing was made in PostgreSQL.
    const schemas = await ledger.query('SELECT 1 FROM information_schema.schemata WHERE schema_name = $1', [
      ledger.schema,
    ]);
    expect(schemas.rows).toEqual([]);
  });

  it('refuses a cluster without a PostgreSQL ledger, in one line', async () => {
    const { dir, file } = retentionCluster(4);
    const run = await runCli(['run', file, '--cluster', NATS, '--data', join(dir, 'run')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('MW_RUNTIME_NOT_CLUSTERED');
    expect(run.stderr).not.toContain('    at ');
  });
});
