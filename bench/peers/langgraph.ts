// LangGraph JS: a StateGraph of three nodes (START → one → two → three → END), compiled once
// without a checkpointer (no persistence, no I/O); one `graph.invoke` per pipeline.
// Measured after WARMUP_MS of untimed pipelines (see drive.ts); run(…, 0) measures cold.
import { Annotation, END, START, StateGraph } from '@langchain/langgraph';
import { drive, type PeerResult, selfCheck, WARMUP_MS } from './drive.ts';

const State = Annotation.Root({ value: Annotation<number>() });

const graph = new StateGraph(State)
  .addNode('one', (s: typeof State.State) => ({ value: s.value + 1 }))
  .addNode('two', (s: typeof State.State) => ({ value: s.value * 2 }))
  .addNode('three', () => ({}))
  .addEdge(START, 'one')
  .addEdge('one', 'two')
  .addEdge('two', 'three')
  .addEdge('three', END)
  .compile();

export async function run(pipelines: number, inFlight: number, warmupMs = WARMUP_MS): Promise<PeerResult> {
  return drive(pipelines, inFlight, async (i) => (await graph.invoke({ value: i })).value, warmupMs);
}

if (import.meta.main) await selfCheck('langgraph', run);
