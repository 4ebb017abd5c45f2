import { makeError } from '../../runtime/index.js';

/**
 * What can go wrong with an `a2a:` agent beyond what any remote agent can do (unreachable, too slow,
 * too big a reply, circuit open: those codes come from ../errors.ts and mean the same here).
 */
export const a2aError = makeError({
  MW_INTEROP_A2A_CARD: '{who}: the agent card at {url} cannot be used: {problem}',
  MW_INTEROP_A2A_FAILED: '{who} at {url} failed: {problem}',
  MW_INTEROP_A2A_INPUT_REQUIRED: '{who} at {url} paused task {task} in state {state} and asks: {question}',
  MW_INTEROP_A2A_BAD_REPLY: '{who} at {url} answered with something the mesh cannot carry: {problem}',
  // Serving: what an A2A caller of the mesh is told.
  MW_INTEROP_A2A_SERVE: 'the mesh could not take the message: {cause}',
  MW_INTEROP_A2A_CONTINUE:
    'task {task} cannot take another message: each message to the mesh starts a task of its own (leave taskId empty)',
  MW_INTEROP_A2A_TENANT: 'tenant "{tenant}" is not served here: the mesh is one tenant (leave tenant empty)',
});
