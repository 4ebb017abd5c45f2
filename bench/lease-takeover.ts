// node bench/lease-takeover.ts [runs=5] [--servers nats://…]: takeover time after a SIGKILL, for
// the partition leases (src/runtime/partition-leases.ts), after `npm run build`. Each run starts a
// node in a child process and one here, on a mesh of their own with 16 partitions and the default
// lease times (5 s leases, renewed every 500 ms, given up 1.5 s early), waits until they split the
// partitions, SIGKILLs the child, and times from the kill to the survivor's onAcquire of the last of
// the dead node's partitions. Also prints the margin: how long after the dead node would have
// stopped by itself (its last reported validUntil) the survivor took each partition. Not part of
// `npm run bench`, which needs no server.
import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { leaseBucketOf } from '../dist/runtime/lease-names.js';
import { joinPartitionLeases, type OwnedLease } from '../dist/runtime/partition-leases.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { servers: { type: 'string' }, child: { type: 'string' } },
});
const servers = values.servers ?? process.env.MW_BENCH_NATS ?? 'nats://127.0.0.1:4222';
const PARTITIONS = 16;

if (values.child !== undefined) await runChild(values.child);
else await main(Number(positionals[0] ?? 5));

/** The node to kill: reports what it owns every 20 ms. */
async function runChild(mesh: string): Promise<void> {
  const leases = await joinPartitionLeases({
    servers,
    mesh,
    node: 'doomed',
    partitions: PARTITIONS,
    onAcquire: () => {},
    onLose: () => {},
  });
  setInterval(() => process.send?.(leases.owned()), 20);
}

async function main(runs: number): Promise<void> {
  const takeovers: number[] = [];
  const margins: number[] = [];
  for (let run = 0; run < runs; run++) {
    const { takeoverMs, marginMs } = await oneRun();
    takeovers.push(takeoverMs);
    margins.push(marginMs);
    console.log(`run ${run + 1}: takeover ${takeoverMs} ms, smallest margin ${marginMs} ms`);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(
    `takeover after SIGKILL: median ${median(takeovers)} ms (min ${Math.min(...takeovers)}, max ${Math.max(...takeovers)}) over ${runs} runs; smallest margin ${Math.min(...margins)} ms`,
  );
}

async function oneRun(): Promise<{ takeoverMs: number; marginMs: number }> {
  const mesh = `bench-lease-${randomUUID().slice(0, 8)}`;
  const child = fork(new URL(import.meta.url).pathname, ['--child', mesh, '--servers', servers], {
    stdio: 'inherit',
  });
  let childOwns: readonly OwnedLease[] = [];
  child.on('message', (owned) => {
    childOwns = owned as OwnedLease[];
  });
  const acquiredAt = new Map<number, number>();
  try {
    while (childOwns.length < PARTITIONS) await sleep(20);
    await using survivor = await joinPartitionLeases({
      servers,
      mesh,
      node: 'survivor',
      partitions: PARTITIONS,
      onAcquire: (partition) => acquiredAt.set(partition, Date.now()),
      onLose: () => {},
    });
    while (survivor.owned().length < PARTITIONS / 2 || childOwns.length > PARTITIONS / 2) await sleep(20);
    const theirs = childOwns;
    const killedAt = Date.now();
    child.kill('SIGKILL');
    while (!theirs.every((lease) => acquiredAt.has(lease.partition))) await sleep(5);
    const takeoverMs = Math.max(...theirs.map((lease) => acquiredAt.get(lease.partition)! - killedAt));
    const marginMs = Math.round(
      Math.min(...theirs.map((lease) => acquiredAt.get(lease.partition)! - lease.validUntil)),
    );
    return { takeoverMs, marginMs };
  } finally {
    child.kill('SIGKILL');
    const nc = await connect({ servers });
    await (await jetstreamManager(nc)).streams.delete(`KV_${leaseBucketOf(mesh)}`).catch(() => {});
    await nc.close();
  }
}
