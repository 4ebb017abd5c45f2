import { Annotation, StateGraph } from '@langchain/langgraph';
import { createWorkflow, workflowEvent } from '@llamaindex/workflow';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { AgentContext, Envelope } from '../../runtime/index.js';
import { langGraphAgent } from './langgraph.js';
import { llamaIndexAgent } from './llamaindex.js';

/** The context a runtime try gives a handler, with the try's abort signal in the test's hand. */
function tryContext(signal: AbortSignal): AgentContext {
  return {
    agent: 'triage',
    version: '1.0.0',
    attempt: 1,
    log: pino({ level: 'silent' }),
    signal,
    emit: () => '',
    effect: () => '',
    forward: () => '',
    note: () => {},
  };
}

const msg = { id: 'm1', correlationid: 'c1', data: { text: 'help' } } as unknown as Envelope;
const timeout = Object.assign(new Error('agent triage did not finish in 20 ms'), {
  code: 'MW_RUNTIME_TIMEOUT',
});

describe('framework adapters stop a run whose try timed out', () => {
  it('LangGraph: the graph gets the signal, and its waiting node is aborted', async () => {
    let nodeSaw: unknown;
    let started: () => void = () => {};
    const nodeStarted = new Promise<void>((resolve) => {
      started = resolve;
    });
    const State = Annotation.Root({ text: Annotation<string>() });
    const graph = new StateGraph(State)
      .addNode('model', (_state, config) => {
        // A model call that only ends when its run is aborted.
        started();
        return new Promise<{ text: string }>((_, reject) =>
          config.signal?.addEventListener('abort', () => {
            nodeSaw = config.signal?.reason;
            reject(config.signal?.reason);
          }),
        );
      })
      .addEdge('__start__', 'model')
      .compile();
    const agent = langGraphAgent({ graph, input: () => ({ text: 'help' }), output: () => [] });
    const controller = new AbortController();
    const running = agent.handle(msg, tryContext(controller.signal));
    await nodeStarted;
    controller.abort(timeout);
    await expect(running).rejects.toThrow();
    expect(nodeSaw).toBeDefined(); // LangGraph hands the node its own signal, aborted with the run's
  });

  it('LlamaIndex: the adapter stops reading a workflow that never stops, with the timeout', async () => {
    const start = workflowEvent<{ text: string }>();
    const stop = workflowEvent<{ priority: string }>();
    const workflow = createWorkflow();
    workflow.handle([start], () => new Promise<never>(() => {})); // never answers
    const agent = llamaIndexAgent({
      workflow,
      start,
      stop,
      input: () => ({ text: 'help' }),
      output: () => [],
    });
    const controller = new AbortController();
    const running = agent.handle(msg, tryContext(controller.signal));
    controller.abort(timeout);
    await expect(running).rejects.toBe(timeout);
  });
});
