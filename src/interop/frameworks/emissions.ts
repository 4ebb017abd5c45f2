import type { AgentContext, JsonValue } from '../../runtime/index.js';

/** What a framework agent's result says to send on: a message, or an effect request (`effect: true`). */
export type Emission = {
  readonly type: string;
  readonly data: JsonValue;
  readonly subject?: string;
  readonly target?: string;
  /** The model that produced it, when an LLM did. */
  readonly model?: string;
  readonly effect?: boolean;
};

/** Hands a framework's emissions to the mesh, where each is gated once the handler returns. */
export function emitAll(ctx: AgentContext, emissions: readonly Emission[]): void {
  for (const e of emissions) {
    if (e.effect === true) ctx.effect(e.type, e.data, e.subject === undefined ? {} : { subject: e.subject });
    else {
      ctx.emit(e.type, e.data, {
        ...(e.subject === undefined ? {} : { subject: e.subject }),
        ...(e.target === undefined ? {} : { target: e.target }),
        ...(e.model === undefined ? {} : { model: e.model }),
      });
    }
  }
}
