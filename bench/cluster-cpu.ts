// Where a cluster bench's CPU goes: user + system seconds of the nodes, the feeder, nats-server and
// every postgres process, read from /proc (Linux), so the split of the 2 shared cores is printed.
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';

const TICKS = 100; // USER_HZ on Linux

function cpuSecondsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command (which may hold spaces) start past its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS;
  } catch {
    return 0;
  }
}

function pidsNamed(names: readonly string[]): Map<string, number[]> {
  const found = new Map<string, number[]>(names.map((n) => [n, []]));
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const comm = readFileSync(`/proc/${entry}/comm`, 'utf8').trim();
      found.get(comm)?.push(Number(entry));
    } catch {}
  }
  return found;
}

export type CpuSplit = { nodes: number; feeder: number; nats: number; postgres: number; wallSeconds: number };

/** CPU seconds per process of `names`, by pid: a process that starts later counts from zero. */
function perPid(names: readonly string[]): Map<number, number> {
  const found = new Map<number, number>();
  for (const pids of pidsNamed(names).values()) for (const pid of pids) found.set(pid, cpuSecondsOf(pid));
  return found;
}

/** What the processes alive at the end used since `first` (those that ended meanwhile are lost). */
function usedSince(first: Map<number, number>, last: Map<number, number>): number {
  let sum = 0;
  for (const [pid, cpu] of last) sum += cpu - (first.get(pid) ?? 0);
  return sum;
}

/**
 * Starts counting; `end()` gives the CPU seconds each part used meanwhile, and the wall time.
 * PostgreSQL's processes in `notPostgres` (the bench's own probe) are left out.
 */
export function cpuMeter(
  nodePids: () => readonly number[],
  notPostgres: readonly number[] = [],
): { end(): CpuSplit } {
  const postgres = () => {
    const found = perPid(['postgres']);
    for (const pid of notPostgres) found.delete(pid);
    return found;
  };
  const nodes = () => new Map(nodePids().map((pid) => [pid, cpuSecondsOf(pid)]));
  const first = {
    nodes: nodes(),
    feeder: cpuSecondsOf(process.pid),
    nats: perPid(['nats-server']),
    postgres: postgres(),
    at: performance.now(),
  };
  return {
    end() {
      const r = (n: number) => Math.round(n * 10) / 10;
      return {
        nodes: r(usedSince(first.nodes, nodes())),
        feeder: r(cpuSecondsOf(process.pid) - first.feeder),
        nats: r(usedSince(first.nats, perPid(['nats-server']))),
        postgres: r(usedSince(first.postgres, postgres())),
        wallSeconds: r((performance.now() - first.at) / 1_000),
      };
    },
  };
}

export function loadAverage(): string {
  return loadavg()
    .map((n) => n.toFixed(2))
    .join(' ');
}

/**
 * The hops/s this machine would give if all its cores did nothing but this work, at the CPU a hop
 * measured (every part: nodes, NATS, PostgreSQL, the feeder): how far any change to pipelining or
 * threads could take it. Short of a target, only cutting a hop's CPU or more cores reach it.
 */
export function cpuCeiling(split: CpuSplit, hops: number): number {
  const used = split.nodes + split.feeder + split.nats + split.postgres;
  return used > 0 ? Math.round((hops / used) * availableParallelism()) : 0;
}
