// Peer: OpenAI Agents SDK JS (@openai/agents). Three agents chained by handoffs (one → two → three),
// each driven by a deterministic fake `Model` served by a fake `ModelProvider`: no network, no LLM,
// tracing disabled. The trivial steps live in the models (one adds 1, two doubles, three answers
// with the value), as an LLM's output would. No guarding and no durable log: the SDK keeps the run's
// items in memory only.
import {
  Agent,
  type AgentInputItem,
  type Model,
  type ModelProvider,
  type ModelRequest,
  type ModelResponse,
  Runner,
  type StreamEvent,
  setTracingDisabled,
  Usage,
} from '@openai/agents';
import { drive, type PeerResult, selfCheck } from './drive.ts';

/** The value carried by the last item of the conversation: the user's JSON or a handoff's arguments. */
function lastValue(input: string | AgentInputItem[]): number {
  if (typeof input === 'string') return (JSON.parse(input) as { value: number }).value;
  for (let i = input.length - 1; i >= 0; i--) {
    const item = input[i]!;
    if (item.type === 'function_call') return (JSON.parse(item.arguments) as { value: number }).value;
    if (item.type === 'message' && item.role === 'user' && typeof item.content === 'string') {
      return (JSON.parse(item.content) as { value: number }).value;
    }
  }
  throw new Error('fake model: no value in the input');
}

/**
 * A model that answers without thinking: it applies `step` to the incoming value and, if the agent
 * has a handoff, calls it with the new value; otherwise it answers with the value as text.
 */
class FakeModel implements Model {
  private calls = 0;
  private readonly name: string;
  private readonly step: (value: number) => number;
  constructor(name: string, step: (value: number) => number) {
    this.name = name;
    this.step = step;
  }

  async getResponse(request: ModelRequest): Promise<ModelResponse> {
    const value = this.step(lastValue(request.input));
    const handoff = request.handoffs[0];
    const usage = new Usage({ requests: 1, inputTokens: 0, outputTokens: 0, totalTokens: 0 });
    if (handoff) {
      const callId = `${this.name}-${++this.calls}`;
      return {
        usage,
        output: [
          {
            type: 'function_call',
            name: handoff.toolName,
            callId,
            id: callId,
            status: 'completed',
            arguments: JSON.stringify({ value }),
          },
        ],
      };
    }
    return {
      usage,
      output: [
        {
          type: 'message',
          role: 'assistant',
          status: 'completed',
          content: [{ type: 'output_text', text: JSON.stringify({ value }) }],
        },
      ],
    };
  }

  // biome-ignore lint/correctness/useYield: streaming is not used by this benchmark.
  async *getStreamedResponse(): AsyncIterable<StreamEvent> {
    throw new Error('fake model: streaming is not used');
  }
}

class FakeProvider implements ModelProvider {
  private readonly models = new Map<string, Model>([
    ['fake-one', new FakeModel('one', (v) => v + 1)],
    ['fake-two', new FakeModel('two', (v) => v * 2)],
    ['fake-three', new FakeModel('three', (v) => v)],
  ]);
  getModel(name?: string): Model {
    const model = this.models.get(name ?? '');
    if (!model) throw new Error(`fake provider: no model ${name}`);
    return model;
  }
}

export async function run(pipelines: number, inFlight: number): Promise<PeerResult> {
  setTracingDisabled(true);
  const three = new Agent({ name: 'three', instructions: 'Answer with the value.', model: 'fake-three' });
  const two = new Agent({
    name: 'two',
    instructions: 'Double the value, then hand off to three.',
    model: 'fake-two',
    handoffs: [three],
  });
  const one = new Agent({
    name: 'one',
    instructions: 'Add 1 to the value, then hand off to two.',
    model: 'fake-one',
    handoffs: [two],
  });
  const runner = new Runner({ modelProvider: new FakeProvider(), tracingDisabled: true });

  return drive(pipelines, inFlight, async (i) => {
    const result = await runner.run(one, JSON.stringify({ value: i }));
    if (result.lastAgent !== three || typeof result.finalOutput !== 'string') {
      throw new Error(`pipeline ${i}: ended at ${result.lastAgent?.name} with ${String(result.finalOutput)}`);
    }
    return (JSON.parse(result.finalOutput) as { value: number }).value;
  });
}

if (import.meta.main) await selfCheck('openai-agents', run);
