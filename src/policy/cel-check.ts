import type { ASTNode } from '@marcbachmann/cel-js';
import { createCelEnvironment, reasonOf } from './cel.js';
import { declareMsg, type MsgShape } from './cel-types.js';

/** One way a predicate fails at run time, found before it runs. */
export type CelTypeFinding = {
  /** 0-based offset into the predicate. */
  readonly offset: number;
  readonly reason: string;
  /** How to fix it: a clause starting with `; `, or empty. */
  readonly hint: string;
  /** The message types it fails for. */
  readonly types: readonly string[];
};

export type CelTypeReport = {
  /** Strings compared with `msg.type` that are no type of this mesh: such a comparison is never true. */
  readonly unknownTypes: readonly { readonly name: string; readonly offset: number }[];
  /** It fails for every type it can see: every message it looks at would be held as a predicate error. */
  readonly error?: CelTypeFinding;
  /** It fails for some of the types it can see, not all. */
  readonly warning?: CelTypeFinding;
  /** The types that can reach the end of it (for the warning's advice). */
  readonly seen: readonly string[];
};

const parser = createCelEnvironment().registerVariable('msg', 'map');
const base = createCelEnvironment();

/**
 * Type-checks a predicate (already known to parse) against each message type it can see, `msg.data`
 * typed from that type's contract (`schemas`: every message type and effect of the mesh). The types
 * it can see are all of them, less those for which its comparisons with `msg.type` make it false
 * whatever else holds: `msg.type == "credit.issue" && …` sees only credit.issue. Those comparisons
 * are also folded into the text checked for each type (`true`/`false`, same length, so offsets
 * stay true), so that `msg.type == "a" && msg.data.x > 1 || msg.type == "b" && msg.data.y > 1`
 * checks `x` against a alone and `y` against b alone.
 *
 * Only mistakes that are certain failures at run time count: an operator or function no overload of
 * which takes the operands' (primitive) types, a field a closed object cannot have, a result that is
 * not a boolean. Anything else the typed checker dislikes (a contract-typed object where CEL expects
 * a map, say) is left alone: it works on the map the runtime passes.
 */
export function checkPredicateTypes(source: string, schemas: ReadonlyMap<string, unknown>): CelTypeReport {
  let ast: ASTNode;
  try {
    ast = parser.parse(source).ast;
  } catch {
    return { unknownTypes: [], seen: [] }; // compilePredicate reports it
  }
  const names = new Set<string>();
  const guarded = new Set<string>();
  const compared: { name: string; offset: number }[] = [];
  walk(ast, (node) => {
    if (node.op === '.' || node.op === '.?') names.add(node.args[1]);
    if (
      (node.op === '[]' || node.op === '[?]') &&
      node.args[1].op === 'value' &&
      typeof node.args[1].args === 'string'
    )
      names.add(node.args[1].args);
    for (const lit of typeLiterals(node)) compared.push(lit);
    const tested = node.op === 'call' && node.args[0] === 'has' ? node.args[1][0] : undefined;
    if (tested?.op === '.') guarded.add(tested.args[1]);
    const key = node.op === 'in' ? stringValue(node.args[0]) : undefined;
    if (key !== undefined) guarded.add(key);
  });
  const unknownTypes = compared.filter((c) => !schemas.has(c.name));
  const seen = [...schemas.keys()].filter((type) => constant(ast, type) !== false);
  const failures: CelTypeFinding[] = [];
  for (const type of seen) {
    const text = fold(source, ast, type);
    const env = base.clone();
    let shape: MsgShape;
    try {
      shape = declareMsg(env, schemas.get(type), names, guarded);
    } catch {
      continue; // a contract the declaration cannot express: nothing to check against
    }
    const finding = findingOf(env.check(text), source, type, shape);
    if (finding !== undefined) failures.push(finding);
  }
  if (failures.length === 0) return { unknownTypes, seen };
  const first = failures[0]!;
  const finding = { ...first, types: failures.map((f) => f.types[0]!) };
  return failures.length === seen.length
    ? { unknownTypes, seen, error: finding }
    : { unknownTypes, seen, warning: finding };
}

type Checked = ReturnType<ReturnType<typeof createCelEnvironment>['check']>;

const PRIMITIVE = new Set(['int', 'uint', 'double', 'string', 'bool', 'bytes', 'null_type']);

function findingOf(
  checked: Checked,
  source: string,
  type: string,
  shape: MsgShape,
): CelTypeFinding | undefined {
  if (checked.valid) {
    if (checked.type === 'bool' || checked.type === 'dyn') return undefined;
    const reason = `it gives a ${String(checked.type)}, not true or false`;
    return { offset: 0, reason, hint: '; compare it, like msg.data.amount > 50', types: [type] };
  }
  const err = checked.error as
    | (Error & { code?: string; node?: ASTNode; range?: { start: number } })
    | undefined;
  if (err === undefined) return undefined;
  const reason = reasonOf(err);
  const offset = err.range?.start ?? 0;
  if (err.code === 'no_such_key')
    return { offset, reason, hint: keyHint(err.node, type, shape), types: [type] };
  if (err.code === 'invalid_logical_operand' || err.code === 'invalid_condition_type') {
    const got = /got '([^']*)'/.exec(reason)?.[1] ?? '';
    if (!PRIMITIVE.has(got)) return undefined;
    return { offset, reason, hint: '; compare it, like msg.data.amount > 50', types: [type] };
  }
  if (err.code === 'no_such_overload' && /^no such overload: [!-](\S+)$/.test(reason)) {
    const operand = /^no such overload: [!-](\S+)$/.exec(reason)![1]!;
    return PRIMITIVE.has(operand) ? { offset, reason, hint: '', types: [type] } : undefined;
  }
  if (err.code === 'no_such_overload') {
    const m = /^no such overload: (\S+) (\S+) (\S+)$/.exec(reason);
    if (m === null || m[2] === '==' || m[2] === '!=' || !PRIMITIVE.has(m[1]!) || !PRIMITIVE.has(m[3]!))
      return undefined;
    return { offset, reason, hint: operatorHint(err.node, m[1]!, m[2]!, m[3]!, source), types: [type] };
  }
  if (err.code === 'no_matching_overload') {
    const call = /'([^']*)'/.exec(reason)?.[1] ?? '';
    const open = call.indexOf('(');
    const head = call.slice(0, open);
    const dot = head.lastIndexOf('.');
    const types = [...(dot < 0 ? [] : [head.slice(0, dot)]), ...call.slice(open + 1, -1).split(',')].map(
      (t) => t.trim(),
    );
    if (open < 0 || !types.filter((t) => t !== '').every((t) => PRIMITIVE.has(t))) return undefined;
    const hint = types.includes('double')
      ? '; a JSON number is a double in CEL: int(...) makes it a whole number'
      : '';
    return { offset, reason, hint, types: [type] };
  }
  return undefined;
}

/** `msg.data.n % 50` → `int(msg.data.n) % 50`; other mixes get the conversions to choose from. */
function operatorHint(
  node: ASTNode | undefined,
  left: string,
  op: string,
  right: string,
  source: string,
): string {
  const numeric = (t: string) => t === 'int' || t === 'double' || t === 'uint';
  if (node === undefined || !Array.isArray(node.args) || node.args.length !== 2) return '';
  const [l, r] = node.args as [ASTNode, ASTNode];
  const text = (n: ASTNode, t: string) => {
    const s = source.slice(n.range.start, n.range.end);
    return t === 'double' && op === '%' ? `int(${s})` : s;
  };
  if (op === '%' && numeric(left) && numeric(right))
    return `; JSON numbers are doubles in CEL, and % takes whole numbers: write ${text(l, left)} % ${text(r, right)}`;
  if (numeric(left) && numeric(right)) return '; convert one side with int(...) or double(...)';
  return `; a ${left} and a ${right} do not mix: convert one side with int(...), double(...) or string(...), or compare with a value of the same kind`;
}

function keyHint(node: ASTNode | undefined, type: string, shape: MsgShape): string {
  const owner = (node?.args as unknown[] | undefined)?.[0] as { checkedType?: { name?: string } } | undefined;
  const fields = shape.closed.get(owner?.checkedType?.name ?? '');
  if (fields === undefined) return '';
  const allowed = fields.length === 0 ? 'no fields' : `only ${fields.join(', ')}`;
  return `; the contract of ${type} has additionalProperties: false and allows ${allowed}`;
}

/** Visits every node of a parsed expression, macros' arguments included. */
function walk(node: unknown, visit: (node: ASTNode) => void): void {
  if (Array.isArray(node)) {
    for (const n of node) walk(n, visit);
    return;
  }
  if (node === null || typeof node !== 'object' || !('op' in node) || !('args' in node)) return;
  visit(node as ASTNode);
  walk((node as { args: unknown }).args, visit);
}

function isMsgType(node: ASTNode): boolean {
  return (
    node.op === '.' && node.args[1] === 'type' && node.args[0].op === 'id' && node.args[0].args === 'msg'
  );
}

function stringValue(node: ASTNode): string | undefined {
  return node.op === 'value' && typeof node.args === 'string' ? node.args : undefined;
}

/** `msg.type == "x"`, `"x" != msg.type`, `msg.type in ["x", "y"]`: the compared names, with where. */
function typeLiterals(node: ASTNode): { name: string; offset: number }[] {
  if ((node.op === '==' || node.op === '!=') && (isMsgType(node.args[0]) || isMsgType(node.args[1]))) {
    const lit = isMsgType(node.args[0]) ? node.args[1] : node.args[0];
    const name = stringValue(lit);
    return name === undefined ? [] : [{ name, offset: lit.range.start }];
  }
  if (node.op === 'in' && isMsgType(node.args[0]) && node.args[1].op === 'list') {
    return node.args[1].args.flatMap((n) => {
      const name = stringValue(n);
      return name === undefined ? [] : [{ name, offset: n.range.start }];
    });
  }
  return [];
}

/** The value of a boolean expression for messages of `type`, when its `msg.type` comparisons settle it. */
function constant(node: ASTNode, type: string): boolean | undefined {
  switch (node.op) {
    case '==':
    case '!=': {
      const lits = typeLiterals(node);
      if (lits.length !== 1) return undefined;
      return (lits[0]!.name === type) === (node.op === '==');
    }
    case 'in': {
      const lits = typeLiterals(node);
      const all = node.args[1].op === 'list' && lits.length === node.args[1].args.length;
      return all && lits.length > 0 ? lits.some((l) => l.name === type) : undefined;
    }
    case '&&': {
      const [a, b] = node.args.map((n) => constant(n, type));
      return a === false || b === false ? false : a === true && b === true ? true : undefined;
    }
    case '||': {
      const [a, b] = node.args.map((n) => constant(n, type));
      return a === true || b === true ? true : a === false && b === false ? false : undefined;
    }
    case '!_': {
      const a = constant(node.args, type);
      return a === undefined ? undefined : !a;
    }
    case '?:': {
      const c = constant(node.args[0], type);
      return c === undefined ? undefined : constant(node.args[c ? 1 : 2], type);
    }
    default:
      return undefined;
  }
}

/** The source with every sub-expression `constant` settles for `type` written as true or false, padded. */
function fold(source: string, ast: ASTNode, type: string): string {
  const chars = source.split(''); // UTF-16 units, as cel-js counts offsets
  const blank = (node: ASTNode, value: boolean) => {
    const { start, end } = node.range;
    const word = String(value).padEnd(end - start, ' ');
    for (let i = start; i < end; i++) chars[i] = word[i - start]!;
  };
  const visit = (node: ASTNode) => {
    const value = constant(node, type);
    if (value !== undefined && node.range.end - node.range.start >= 5) {
      blank(node, value);
      return;
    }
    if (node.op === '&&' || node.op === '||') for (const n of node.args) visit(n);
    else if (node.op === '!_') visit(node.args);
    else if (node.op === '?:') {
      const [test, yes, no] = node.args;
      const settled = constant(test, type);
      if (settled === undefined) for (const n of node.args) visit(n);
      else {
        visit(test);
        // The branch never taken for this type is not checked against it.
        const dead = settled ? no : yes;
        if (dead.range.end - dead.range.start >= 5) blank(dead, false);
        visit(settled ? yes : no);
      }
    }
  };
  visit(ast);
  return chars.join('');
}
