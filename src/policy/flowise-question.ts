import { type Checker, labelOf, type Obj } from './check.js';
import type { Path } from './source.js';

/**
 * A flow must be asked something (flowise/transport.ts refuses each message otherwise): a request
 * with neither `question` nor `form`, or a question written blank, would dead-letter every message.
 */
export function checkQuestion(check: Checker, request: Obj, at: Path): void {
  const { question } = request;
  if (question === undefined && request.form === undefined)
    check.report(
      'MW_POLICY_MAPPING',
      {
        where: labelOf(at),
        problem:
          "asks the flow nothing: write question, like question: '{{ data.text }}' (or form, for an agentflow started by a form)",
      },
      at,
      'key',
    );
  else if (typeof question === 'string' && !question.includes('{{') && question.trim() === '')
    check.report(
      'MW_POLICY_MAPPING',
      { where: labelOf([...at, 'question']), problem: "is blank: ask something, like '{{ data.text }}'" },
      [...at, 'question'],
    );
  // A map is most often an unquoted {{ }}, said where it is read (unquoted); any other value is no text.
  else if (
    question === null ||
    Array.isArray(question) ||
    (question !== undefined && typeof question !== 'string' && typeof question !== 'object')
  )
    check.report(
      'MW_POLICY_MAPPING',
      {
        where: labelOf([...at, 'question']),
        problem: `is ${question === null ? 'empty' : Array.isArray(question) ? 'a list' : `a ${typeof question}`}, and a flow is asked text: write it in quotes, or as '{{ data.text }}'`,
      },
      [...at, 'question'],
    );
}
