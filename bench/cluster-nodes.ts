// The nodes of a cluster bench: `meshwarden up --cluster` child processes (what users run), what
// they own (the control channel's status), and the mesh's NATS parts removed after.
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { meshToken, streamNameOf } from '../dist/runtime/jetstream-names.js';
import { leaseBucketOf } from '../dist/runtime/lease-names.js';

const cli = new URL('../dist/cli/main.js', import.meta.url).pathname;

export type ClusterNode = {
  readonly name: string;
  readonly child: ChildProcess;
  /** Its stdout and stderr, for a failure's explanation. */
  readonly logFile: string;
  /** Resolves with its exit code or signal. */
  readonly exited: Promise<string>;
};

export type ClusterPlace = {
  readonly meshFile: string;
  readonly servers: string;
  readonly ledger: string;
  readonly dir: string;
  /** Node's own flags for the node processes (`--cpu-prof`, say). */
  readonly execArgv?: readonly string[];
};

/** Starts `up --cluster` as node `name`; resolves once it says it is up. */
export async function startNode(place: ClusterPlace, name: string): Promise<ClusterNode> {
  const logFile = join(place.dir, `${name}.log`);
  const log = createWriteStream(logFile);
  log.on('error', () => {}); // the bench's folder is gone: a failure already reported
  const args = [
    ...(place.execArgv ?? []),
    cli,
    'up',
    place.meshFile,
    '--cluster',
    place.servers,
    '--ledger',
    place.ledger,
    '--node',
    name,
    '--port',
    '0',
    '--data',
    join(place.dir, name),
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env } });
  // A bench that dies (a throw, Ctrl-C) must not leave nodes running on the shared cores.
  const orphaned = () => child.kill('SIGKILL');
  process.once('exit', orphaned);
  const exited = new Promise<string>((resolve) =>
    child.once('exit', (code, signal) => {
      process.off('exit', orphaned);
      resolve(signal ?? String(code));
    }),
  );
  const up = new Promise<void>((resolve, reject) => {
    let seen = '';
    const watch = (chunk: Buffer) => {
      log.write(chunk);
      if (seen === 'up') return;
      seen = (seen + chunk.toString()).slice(-4_096);
      if (seen.includes('Meshwarden is up')) {
        seen = 'up';
        resolve();
      }
    };
    child.stdout!.on('data', watch);
    child.stderr!.on('data', watch);
    void exited.then((how) =>
      reject(new Error(`node ${name} exited (${how}) before it was up: ${logTail(logFile)}`)),
    );
  });
  const node = { name, child, logFile, exited };
  await withTimeout(up, 60_000, `node ${name} was not up within 60 s: ${logTail(logFile)}`);
  return node;
}

/** Ends a node as an operator would (SIGTERM: hand off, drain), or SIGKILL after `graceMs`. */
export async function stopNode(node: ClusterNode, graceMs = 20_000): Promise<void> {
  if (node.child.exitCode !== null || node.child.signalCode !== null) return;
  node.child.kill('SIGTERM');
  const timer = setTimeout(() => node.child.kill('SIGKILL'), graceMs);
  await node.exited;
  clearTimeout(timer);
}

export function logTail(file: string): string {
  try {
    return readFileSync(file, 'utf8').slice(-1_500);
  } catch {
    return '(no log)';
  }
}

type Status = { node: string; owned: number[]; busy: number };

/** Every live node's status over the control channel (`mw.<mesh>.c.status`). */
export async function clusterStatus(nc: NatsConnection, mesh: string, waitMs = 500): Promise<Status[]> {
  const found: Status[] = [];
  const replies = await nc.requestMany(`mw.${meshToken(mesh)}.c.status`, '', {
    strategy: 'timer',
    maxWait: waitMs,
  });
  for await (const reply of replies) {
    const wire = reply.json<{ ok?: Status }>();
    if (wire.ok !== undefined) found.push(wire.ok);
  }
  return found;
}

/**
 * Waits until exactly `names` answer and own every one of `partitions` partitions, each its share
 * (floor or ceil of P/N): the leases settled, so no hand-off runs during a measurement.
 */
export async function waitBalanced(
  nc: NatsConnection,
  mesh: string,
  names: readonly string[],
  partitions: number,
  timeoutMs = 60_000,
): Promise<Status[]> {
  const deadline = Date.now() + timeoutMs;
  const low = Math.floor(partitions / names.length);
  for (;;) {
    const status = await clusterStatus(nc, mesh);
    const owned = status.flatMap((s) => s.owned);
    const balanced =
      status.length === names.length &&
      status.every((s) => names.includes(s.node) && s.owned.length >= low && s.owned.length <= low + 1) &&
      new Set(owned).size === partitions &&
      owned.length === partitions;
    if (balanced) return status;
    if (Date.now() > deadline)
      throw new Error(`the leases did not settle within ${timeoutMs} ms: ${JSON.stringify(status)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Deletes the mesh's stream `MW_<mesh>` and its lease bucket `MW_LEASES_<mesh>` (a KV stream). */
export async function removeMeshStreams(nc: NatsConnection, mesh: string): Promise<void> {
  const jsm = await jetstreamManager(nc);
  for (const stream of [streamNameOf(mesh), `KV_${leaseBucketOf(mesh)}`]) {
    await jsm.streams.delete(stream).catch(() => false);
  }
}

export function withTimeout<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
