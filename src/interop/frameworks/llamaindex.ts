import { type AgentDefinition, defineAgent, type Envelope } from '../../runtime/index.js';
import { interopError } from '../errors.js';
import { type Emission, emitAll } from './emissions.js';

/** A LlamaIndex.TS workflow event type (`workflowEvent<Data>()`), as far as the adapter uses it. */
export type WorkflowEventLike<Data> = {
  with(data: Data): unknown;
  include(event: unknown): event is { readonly data: Data };
};

/**
 * The part of a LlamaIndex.TS workflow (`createWorkflow()`) the adapter uses. Structural, so
 * meshwarden does not depend on @llamaindex/workflow.
 */
export type WorkflowLike = {
  createContext(): { sendEvent(...events: never[]): void; readonly stream: AsyncIterable<unknown> };
};

/**
 * A mesh agent that runs a LlamaIndex.TS workflow per admitted message: `input` turns the envelope
 * into the start event's data, and `output` turns the stop event's data into what to emit. A
 * workflow whose stream ends without a stop event fails the delivery (retried, then dead-lettered).
 */
export function llamaIndexAgent<Start, Stop>(opts: {
  readonly workflow: WorkflowLike;
  readonly start: WorkflowEventLike<Start>;
  readonly stop: WorkflowEventLike<Stop>;
  readonly input: (msg: Envelope) => Start;
  readonly output: (result: Stop, msg: Envelope) => readonly Emission[];
}): AgentDefinition {
  return defineAgent({
    async handle(msg, ctx) {
      const context = opts.workflow.createContext();
      context.sendEvent(opts.start.with(opts.input(msg)) as never);
      for await (const event of context.stream) {
        if (opts.stop.include(event)) {
          emitAll(ctx, opts.output(event.data, msg));
          return;
        }
      }
      throw interopError('MW_INTEROP_WORKFLOW_NO_STOP', { who: `agent ${ctx.agent}`, msgId: msg.id });
    },
  });
}
