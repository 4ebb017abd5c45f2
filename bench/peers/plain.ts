// The floor: three plain async function calls per pipeline, nothing else.
// Measured after WARMUP_MS of untimed pipelines (see drive.ts); run(…, 0) measures cold.
import { drive, type PeerResult, selfCheck, WARMUP_MS } from './drive.ts';

type State = { value: number };

async function one(s: State): Promise<State> {
  return { value: s.value + 1 };
}
async function two(s: State): Promise<State> {
  return { value: s.value * 2 };
}
async function three(s: State): Promise<State> {
  return s;
}

export async function run(pipelines: number, inFlight: number, warmupMs = WARMUP_MS): Promise<PeerResult> {
  return drive(
    pipelines,
    inFlight,
    async (i) => (await three(await two(await one({ value: i })))).value,
    warmupMs,
  );
}

if (import.meta.main) await selfCheck('plain', run);
