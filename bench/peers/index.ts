// The peers, run with the same three trivial steps and 2,000 pipelines in flight. None of them
// guards anything or logs durably; the table says what each one does.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

export type PeerResult = {
  readonly name: string;
  /** What the peer does per pipeline, for the table. */
  readonly does: string;
  readonly pipelinesPerSecond: number;
  readonly p50ms?: number;
  readonly p99ms?: number;
  readonly note?: string;
  readonly error?: string;
};

type PeerRun = { pipelinesPerSecond: number; p50ms: number; p99ms: number; note?: string };

const child = fileURLToPath(new URL('./child.ts', import.meta.url));

/** One peer, one fresh process: a peer must not inherit another's heap or warm JIT. */
async function inChild(file: string, pipelines: number, inFlight: number): Promise<PeerRun> {
  const { stdout } = await run(process.execPath, [child, file, String(pipelines), String(inFlight)], {
    maxBuffer: 1 << 20,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as PeerRun;
}

function errorLine(err: unknown): string {
  return String((err as { stderr?: string }).stderr?.trim().split('\n').at(-1) ?? err).slice(0, 120);
}

const PEERS: readonly { name: string; file: string; does: string }[] = [
  { name: 'plain async calls', file: './plain.ts', does: 'three awaited function calls: the floor' },
  { name: 'LangGraph JS', file: './langgraph.ts', does: 'StateGraph, 3 nodes; no guarding, no durable log' },
  { name: 'Mastra', file: './mastra.ts', does: 'workflow, 3 steps; no guarding, no durable log' },
  {
    name: 'OpenAI Agents SDK',
    file: './openai-agents.ts',
    does: '3 agents, handoffs, fake model; no guarding',
  },
  {
    name: 'MS Agent Governance SDK',
    file: './agt.ts',
    does: 'policy evaluation + in-memory audit per message',
  },
];

/** Runs every peer; a peer that fails is reported, not fatal. */
export async function runPeers(pipelines: number, progress: (line: string) => void): Promise<PeerResult[]> {
  const results: PeerResult[] = [];
  for (const peer of PEERS) {
    progress(`peer: ${peer.name}, ${pipelines.toLocaleString('en')} pipelines …`);
    try {
      const r = await inChild(peer.file, pipelines, 2_000);
      results.push({ name: peer.name, does: r.note ?? peer.does, ...r });
    } catch (err) {
      results.push({
        name: peer.name,
        does: peer.does,
        pipelinesPerSecond: Number.NaN,
        error: errorLine(err),
      });
    }
  }
  return results;
}
