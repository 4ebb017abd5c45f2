import { type AgentDefinition, defineAgent, type Envelope } from '../../runtime/index.js';
import { type Emission, emitAll } from './emissions.js';

/**
 * The part of a compiled LangGraph.js graph the adapter uses. Structural, so meshwarden does not
 * depend on @langchain/langgraph: any `graph.compile()` result fits.
 */
export type InvokableGraph<Input, State> = {
  invoke(
    input: Input,
    config?: { readonly configurable?: Record<string, unknown>; readonly signal?: AbortSignal },
  ): Promise<State>;
};

/**
 * A mesh agent that runs a LangGraph.js graph per admitted message: `input` turns the envelope into
 * the graph's input state, and `output` turns the final state into what to emit. The thread id is the
 * message's correlation (its case), so a graph with a checkpointer keeps one thread per case.
 */
export function langGraphAgent<Input, State>(opts: {
  readonly graph: InvokableGraph<Input, State>;
  readonly input: (msg: Envelope) => Input;
  readonly output: (state: State, msg: Envelope) => readonly Emission[];
}): AgentDefinition {
  return defineAgent({
    async handle(msg, ctx) {
      const state = await opts.graph.invoke(opts.input(msg), {
        configurable: { thread_id: msg.correlationid },
        // A try that times out stops the graph too, instead of letting it run on unheard.
        signal: ctx.signal,
      });
      emitAll(ctx, opts.output(state, msg));
    },
  });
}
