import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Envelope } from '../envelope/index.js';
import { formatPolicyIssue } from './issues.js';
import { loadPolicy } from './load.js';

// Paths relative to the working directory, as a user types them: issues must keep them that way.
const fixture = (name: string) =>
  relative(process.cwd(), fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url)));

describe('loadPolicy: the retention mesh of DESIGN.md', async () => {
  const file = fixture('retention/mesh.yaml');
  const result = await loadPolicy(file);
  if (!result.ok) throw new Error(result.issues.map(formatPolicyIssue).join('\n'));
  const { policy } = result;
  const dir = fileURLToPath(new URL('./fixtures/retention/', import.meta.url));

  it('loads without warnings', () => {
    expect(result.warnings).toEqual([]);
    expect(policy.mesh).toBe('retention');
    expect(policy.file).toBe(`${dir}mesh.yaml`);
  });

  it.each([
    ['sentiment', '1.4.0', 'agents/sentiment.js'],
    ['churn', '2.0.1', 'agents/churn.js'],
    ['discount', '1.1.0', 'agents/discount.js'],
  ])('agent %s@%s runs %s', (name, version, module) => {
    expect(policy.agents.get(name)).toMatchObject({ version, module: `${dir}${module}` });
  });

  it.each([
    ['ticket.opened.v1', ['sentiment']],
    ['ticket.scored.v1', ['churn']],
    ['churn.assessed.v1', ['discount']],
  ])('routes %s to %j', (type, agents) => {
    expect(policy.consumers.get(type)).toEqual(agents);
  });

  it('compiles a contract for every message type and effect', () => {
    expect([...policy.contracts.keys()].sort()).toEqual([
      'churn.assessed.v1',
      'credit.issue',
      'email.send',
      'ticket.opened.v1',
      'ticket.scored.v1',
    ]);
    expect(policy.contracts.get('credit.issue')?.validate({ amount: 'ten' })[0]).toMatchObject({
      code: 'MW_CONTRACT_VIOLATION',
      path: ['amount'],
    });
    expect(policy.effects.get('email.send')?.module).toBe(`${dir}effects/email.js`);
  });

  it('compiles the guards', () => {
    expect(policy.limits).toEqual([
      { id: 'per-account', scope: 'entity', intervalMs: 2000, burst: 30, rate: '30/min' },
    ]);
    expect(policy.budgets[0]).toMatchObject({
      type: 'credit.issue',
      fieldPath: ['amount'],
      max: 100,
      windowMs: 86_400_000,
    });
    expect(policy.breakers[0]).toMatchObject({
      count: 'credit.issue',
      over: 2,
      windowMs: 3_600_000,
      action: 'freeze',
    });
    const credit = (amount: number, type = 'credit.issue') =>
      ({ type, data: { amount } }) as unknown as Envelope;
    const [approval] = policy.approvals;
    expect([
      approval?.test(credit(60)),
      approval?.test(credit(50)),
      approval?.test(credit(60, 'email.send')),
    ]).toEqual([true, false, false]);
  });

  it('has a stable digest', async () => {
    const again = await loadPolicy(file);
    expect(again.ok && again.policy.digest).toBe(policy.digest);
  });
});

describe('loadPolicy: a mesh file with one of every mistake', async () => {
  const file = fixture('broken/mesh.yaml');
  const contracts = fixture('broken/contracts');
  const result = await loadPolicy(file);
  const issues = result.ok ? [] : result.issues;

  it('reports every mistake, and nothing else', () => {
    expect(issues.map((i) => `${i.file}:${i.line}:${i.col} ${i.code}`)).toEqual(
      EXPECTED.map(([code, f, line, col]) => `${f ?? file}:${line}:${col} ${code}`),
    );
  });

  // [code, file (the mesh file when undefined), line, col]
  const EXPECTED: [string, string | undefined, number, number][] = [
    ['MW_POLICY_UNKNOWN_KEY', undefined, 9, 5],
    ['MW_POLICY_TYPE', undefined, 11, 14],
    ['MW_POLICY_MISSING_MODULE', undefined, 12, 13],
    ['MW_POLICY_UNKNOWN_REFERENCE', undefined, 13, 34],
    ['MW_POLICY_MISSING_CONTRACT', undefined, 13, 34],
    ['MW_POLICY_AGENT_TRANSPORT', undefined, 15, 3],
    ['MW_POLICY_UNKNOWN_REFERENCE', undefined, 18, 29],
    ['MW_POLICY_AGENT_TRANSPORT', undefined, 19, 3],
    ['MW_POLICY_MISSING_CONTRACT', undefined, 24, 13],
    ['MW_POLICY_BAD_DURATION', undefined, 32, 50],
    ['MW_POLICY_BAD_RATE', undefined, 34, 45],
    ['MW_POLICY_BAD_VALUE', undefined, 35, 29],
    ['MW_POLICY_UNKNOWN_REFERENCE', undefined, 36, 62],
    ['MW_POLICY_BAD_POINTER', undefined, 38, 75],
    ['MW_POLICY_DUPLICATE_ID', undefined, 39, 11],
    ['MW_POLICY_RESERVED_ID', undefined, 41, 11],
    ['MW_POLICY_MISSING_KEY', undefined, 42, 33],
    ['MW_POLICY_UNKNOWN_REFERENCE', undefined, 42, 48],
    ['MW_POLICY_BAD_CEL', undefined, 44, 47],
    ['MW_POLICY_BAD_DURATION', undefined, 45, 65],
    ['MW_POLICY_UNKNOWN_KEY', undefined, 46, 1],
    ['MW_POLICY_CONTRACT_SCHEMA', `${contracts}/credit.issue.json`, 4, 35],
    ['MW_POLICY_CONTRACT_SCHEMA', `${contracts}/email.send.json`, 5, 21],
    ['MW_POLICY_CONTRACT_SCHEMA', `${contracts}/email.send.json`, 6, 46],
  ];

  it.each(EXPECTED)('%s at %s:%d:%d', (code, f, line, col) => {
    expect(issues).toContainEqual(expect.objectContaining({ code, file: f ?? file, line, col }));
  });

  it('formats each issue as file:line:col: sentence', () => {
    expect(formatPolicyIssue(issues[0]!)).toMatch(
      new RegExp(`^${file.replaceAll('.', '\\.')}:9:5: ${issues[0]!.code}: \\S`),
    );
  });
});

describe('loadPolicy: a mesh file that cannot be read', () => {
  it('reports it at line 1, column 1, named as given', async () => {
    const file = fixture('nowhere/mesh.yaml');
    const result = await loadPolicy(file);
    expect(result.ok ? [] : result.issues.map((i) => [i.code, i.file, i.line, i.col])).toEqual([
      ['MW_POLICY_READ', file, 1, 1],
    ]);
  });
});
