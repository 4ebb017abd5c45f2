import { type Issue, pointerOf } from '../../contracts/index.js';
import { type IdentifiedContext, type Stage, verdict } from '../context.js';
import { moreProblems } from '../format.js';
import type { VerdictIssue } from '../types.js';

/** Stage 3, contract. Stops: quarantine `contract.invalid_payload`, `contract.validator_error`. */
export const contractStage: Stage<IdentifiedContext> = {
  name: 'contract',
  run(ctx) {
    const env = ctx.envelope;
    const contract = ctx.policy.contracts.get(env.type);
    if (contract === undefined) return undefined;
    let found: readonly Issue[];
    try {
      found = contract.validate(env.data);
    } catch {
      // Validators never throw by contract; if one does, the payload is kept for review, not lost.
      return verdict(
        'quarantine',
        'contract',
        'contract.validator_error',
        `The validator of ${env.type} failed on this payload, so it is kept for review.`,
        env.type,
      );
    }
    if (found.length === 0) return undefined;
    const issues: VerdictIssue[] = found.map((i) =>
      i.keyword === undefined
        ? { pointer: pointerOf(i.path), message: i.message }
        : { pointer: pointerOf(i.path), message: i.message, keyword: i.keyword },
    );
    const first = issues[0]!;
    return {
      ...verdict(
        'quarantine',
        'contract',
        'contract.invalid_payload',
        `The payload does not match the ${env.type} contract: at "${first.pointer || '/'}", ${first.message}${moreProblems(issues.length)}.`,
        env.type,
      ),
      issues,
    };
  },
};
