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
      const events = context.stream[Symbol.asyncIterator]();
      // A try that times out stops waiting on the stream. It cannot stop the workflow (a context has no
      // abort from outside): steps already running finish unheard.
      let onAbort = () => {};
      const aborted = new Promise<never>((_, reject) => {
        onAbort = () => reject(ctx.signal.reason);
        if (ctx.signal.aborted) onAbort();
        else ctx.signal.addEventListener('abort', onAbort, { once: true });
      });
      aborted.catch(() => {}); // raced below; an abort after the loop is nobody's error
      try {
        for (;;) {
          const next = await Promise.race([events.next(), aborted]);
          if (next.done) break;
          if (opts.stop.include(next.value)) {
            emitAll(ctx, opts.output(next.value.data, msg));
            return;
          }
        }
      } finally {
        ctx.signal.removeEventListener('abort', onAbort);
        void events.return?.();
      }
      throw interopError('MW_INTEROP_WORKFLOW_NO_STOP', { who: `agent ${ctx.agent}`, msgId: msg.id });
    },
  });
}
