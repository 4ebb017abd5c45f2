// A LlamaIndex.TS workflow as a mesh agent. Its classify step calls a deterministic fake model, so the
// example runs without a network; put a real LLM call there and nothing else changes.
import { createWorkflow, workflowEvent } from '@llamaindex/workflow';
import { llamaIndexAgent } from 'meshwarden';

const ticket = workflowEvent<{ text: string }>();
const triaged = workflowEvent<{ priority: 'urgent' | 'routine' }>();

/** Stands in for an LLM: "urgent" when the ticket is about money or an outage, "routine" otherwise. */
async function fakeModel(prompt: string): Promise<string> {
  return /refund|charged twice|outage|down/i.test(prompt) ? 'urgent' : 'routine';
}

const workflow = createWorkflow();
workflow.handle([ticket], async (_context, event) => {
  const answer = await fakeModel(`Triage this ticket: ${event.data.text}`);
  return triaged.with({ priority: answer === 'urgent' ? 'urgent' : 'routine' });
});

export default llamaIndexAgent({
  workflow,
  start: ticket,
  stop: triaged,
  input: (msg) => ({ text: (msg.data as { text: string }).text }),
  output: (result) => [{ type: 'ticket.triaged.v1', data: result, model: 'fake-model' }],
});
