/**
 * The `$` names an expression may use: JSONata's functions, the ones the expression binds itself
 * (`$x := …`, a lambda's parameters, `@$x` and `#$i` in a path), and `$` and `$$` (the context).
 * Any other is a typo found when the policy is checked, not an error on the first message.
 */
import { closest, ENVELOPE_FIELDS } from '../envelope/index.js';

/**
 * JSONata 2.2.2's functions: the ones its static frame binds (`staticFrame.bind` in jsonata.js)
 * and `$now` and `$millis`, bound per expression. mapping.test.ts checks the list against the
 * installed jsonata, so an upgrade that adds one is noticed.
 */
export const JSONATA_FUNCTIONS: readonly string[] = [
  ...['sum', 'count', 'max', 'min', 'average', 'string', 'substring', 'substringBefore'],
  ...['substringAfter', 'lowercase', 'uppercase', 'length', 'trim', 'pad', 'match', 'contains'],
  ...['replace', 'split', 'join', 'formatNumber', 'formatBase', 'formatInteger', 'parseInteger'],
  ...['number', 'floor', 'ceil', 'round', 'abs', 'sqrt', 'power', 'random', 'boolean', 'not', 'map'],
  ...['zip', 'filter', 'single', 'reduce', 'sift', 'keys', 'lookup', 'append', 'exists', 'spread'],
  ...['merge', 'reverse', 'each', 'error', 'assert', 'type', 'sort', 'shuffle', 'distinct'],
  ...['base64encode', 'base64decode', 'encodeUrlComponent', 'encodeUrl', 'decodeUrlComponent'],
  ...['decodeUrl', 'eval', 'toMillis', 'fromMillis', 'clone', 'now', 'millis'],
];

type Node = Readonly<Record<string, unknown>>;

/** Every name the expression binds anywhere; scope is not followed (a name used outside it gives nothing). */
export function boundNames(ast: unknown): Set<string> {
  const bound = new Set<string>();
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const item of node) visit(item);
      return;
    }
    if (node === null || typeof node !== 'object') return;
    const n = node as Node;
    const lhs = n.lhs as Node | undefined;
    if (n.type === 'bind' && lhs?.type === 'variable' && typeof lhs.value === 'string') bound.add(lhs.value);
    if (n.type === 'lambda' && Array.isArray(n.arguments))
      for (const a of n.arguments as Node[]) if (typeof a.value === 'string') bound.add(a.value);
    if (typeof n.focus === 'string') bound.add(n.focus);
    if (typeof n.index === 'string') bound.add(n.index);
    for (const child of Object.values(n)) if (child !== null && typeof child === 'object') visit(child);
  };
  visit(ast);
  return bound;
}

/**
 * Why `$name` is not known, or undefined when it is. `banned` are known but refused elsewhere;
 * `names` are the context's root names, which are written without `$`.
 */
export function unknownVariable(
  name: string,
  bound: ReadonlySet<string>,
  names: readonly string[],
  banned: readonly string[],
): string | undefined {
  // `$` is the context, `$$` the root: both are JSONata's own.
  if (name === '' || name === '$' || bound.has(name) || JSONATA_FUNCTIONS.includes(name)) return undefined;
  if (names.includes(name)) return `$${name} is not known: root names are written without $: ${name}`;
  const side = otherSide(name, names);
  if (side !== undefined) return `$${name} is not known: ${side}`;
  const usable = [...JSONATA_FUNCTIONS.filter((f) => !banned.includes(f)), ...bound];
  // The nearest of all, a root name first on a tie.
  const near = closest(name, [...names, ...usable]);
  if (near !== undefined && !usable.includes(near))
    return `$${name} is not known; did you mean ${near}? (root names are written without $)`;
  if (near !== undefined) return `$${name} is not known; did you mean $${near}?`;
  return `$${name} is not known: it is not a JSONata function (docs.jsonata.org) and the expression does not bind it ($${name} := …)`;
}

/** The answer's own names: a reply reads them, a request cannot (there is no answer yet). */
const ANSWER_NAMES: readonly string[] = ['text', 'json', 'status', 'answer'];

/**
 * Why a name of the other side of the call is not here, or undefined: a request reads the message
 * handled (`data`), a reply reads the answer (`json`) and the message as `message`.
 */
export function otherSide(name: string, names: readonly string[]): string | undefined {
  const reply = names.includes('message');
  if (!reply && ANSWER_NAMES.includes(name))
    return `${name} is the answer's, read in a reply; a request is made from the message handled, whose content is data`;
  if (reply && ENVELOPE_FIELDS.includes(name))
    return `a reply reads the answer (json, text); the message it answers is message, so write message.${name}`;
  return undefined;
}
