// Mastra: a workflow of three steps (createWorkflow + createStep with zod schemas,
// .then(one).then(two).then(three).commit()), created once, not registered with a Mastra instance,
// so there is no storage (no snapshots), no logger transport and no observability exporter.
// Per pipeline: `await workflow.createRun()` and `run.start({ inputData })`.
// Measured after WARMUP_MS of untimed pipelines (see drive.ts); run(…, 0) measures cold.
import { createStep, createWorkflow } from '@mastra/core/workflows';
import { z } from 'zod';
import { drive, type PeerResult, selfCheck, WARMUP_MS } from './drive.ts';

const value = z.object({ value: z.number() });

const one = createStep({
  id: 'one',
  inputSchema: value,
  outputSchema: value,
  execute: async ({ inputData }) => ({ value: inputData.value + 1 }),
});
const two = createStep({
  id: 'two',
  inputSchema: value,
  outputSchema: value,
  execute: async ({ inputData }) => ({ value: inputData.value * 2 }),
});
const three = createStep({
  id: 'three',
  inputSchema: value,
  outputSchema: value,
  execute: async ({ inputData }) => inputData,
});

const workflow = createWorkflow({ id: 'pipeline', inputSchema: value, outputSchema: value })
  .then(one)
  .then(two)
  .then(three)
  .commit();

export async function run(pipelines: number, inFlight: number, warmupMs = WARMUP_MS): Promise<PeerResult> {
  return drive(
    pipelines,
    inFlight,
    async (i) => {
      const r = await workflow.createRun();
      const result = await r.start({ inputData: { value: i } });
      if (result.status !== 'success') throw new Error(`mastra pipeline ${i}: ${result.status}`);
      return result.result.value;
    },
    warmupMs,
  );
}

if (import.meta.main) await selfCheck('mastra', run);
