// A LangGraph.js StateGraph as a mesh agent. Its model node calls a deterministic fake chat model, so
// the example runs without a network; put a real chat model there and nothing else changes.
import { HumanMessage } from '@langchain/core/messages';
import { FakeListChatModel } from '@langchain/core/utils/testing';
import { Annotation, END, START, StateGraph } from '@langchain/langgraph';
import { langGraphAgent } from 'meshwarden';

const Triage = Annotation.Root({ text: Annotation<string>(), priority: Annotation<string>() });

/** Stands in for an LLM: "urgent" when the ticket is about money or an outage, "routine" otherwise. */
function fakeModel(text: string): FakeListChatModel {
  return new FakeListChatModel({
    responses: [/refund|charged twice|outage|down/i.test(text) ? 'urgent' : 'routine'],
  });
}

const graph = new StateGraph(Triage)
  .addNode('classify', async (state: typeof Triage.State) => {
    const answer = await fakeModel(state.text).invoke([
      new HumanMessage(`Triage this ticket: ${state.text}`),
    ]);
    return { priority: String(answer.content).trim() };
  })
  .addEdge(START, 'classify')
  .addEdge('classify', END)
  .compile();

export default langGraphAgent({
  graph,
  input: (msg) => ({ text: (msg.data as { text: string }).text, priority: '' }),
  output: (state) => [
    { type: 'ticket.triaged.v1', data: { priority: state.priority }, model: 'fake-list-chat-model' },
  ],
});
