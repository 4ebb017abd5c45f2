import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO, runCli, tempDir } from './run-cli.js';
import { call, startUp, until } from './up-process.js';

const EXAMPLE = join(REPO, 'examples', 'retention');

/** A copy of the retention example, with `edit` applied to its credit.issue contract. */
function meshWith(edit?: (schema: CreditSchema) => void): { dir: string; mesh: string } {
  const dir = tempDir('compat');
  cpSync(EXAMPLE, dir, { recursive: true });
  if (edit !== undefined) editCredit(dir, edit);
  return { dir, mesh: join(dir, 'mesh.yaml') };
}

type CreditSchema = {
  required: string[];
  properties: Record<string, Record<string, unknown>>;
  [key: string]: unknown;
};

function editCredit(dir: string, edit: (schema: CreditSchema) => void): void {
  const file = join(dir, 'contracts', 'credit.issue.json');
  const schema = JSON.parse(readFileSync(file, 'utf8')) as CreditSchema;
  edit(schema);
  writeFileSync(file, `${JSON.stringify(schema, null, 2)}\n`);
}

/** Renames the effect credit.issue to credit.issue.v2 in a copy's mesh file and contract file name. */
function renameCredit(dir: string): void {
  const mesh = join(dir, 'mesh.yaml');
  writeFileSync(mesh, readFileSync(mesh, 'utf8').replaceAll('credit.issue', 'credit.issue.v2'));
  cpSync(join(dir, 'contracts', 'credit.issue.json'), join(dir, 'contracts', 'credit.issue.v2.json'));
}

/** The 1-based line of the first line of `file` that contains `text`. */
function lineOf(file: string, text: string): number {
  return (
    readFileSync(file, 'utf8')
      .split('\n')
      .findIndex((l) => l.includes(text)) + 1
  );
}

describe('policy check --against: contract compatibility', () => {
  const old = meshWith();

  it('refuses a narrowed range and a newly required field, at file:line:col of the new contract, with the v2 remedy', async () => {
    const next = meshWith((s) => {
      s.properties.amount!.maximum = 40;
      s.required.push('reason');
    });
    const r = await runCli(['policy', 'check', next.mesh, '--against', old.mesh, '--json']);
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout);
    expect(doc.ok).toBe(false);
    const file = join(next.dir, 'contracts', 'credit.issue.json');
    expect(doc.issues.map((i: { code: string; pointer: string }) => [i.code, i.pointer])).toEqual([
      ['MW_CONTRACT_BREAKING', '/required'],
      ['MW_CONTRACT_BREAKING', '/properties/amount/maximum'],
    ]);
    expect(doc.issues[1]).toMatchObject({ file, line: lineOf(file, '"maximum"') });
    expect(doc.issues[1].message).toContain('credit.issue.v2');
    expect(doc.against).toEqual({
      file: old.mesh,
      changed: ['credit.issue'],
      removed: [],
      added: [],
      breaking: 2,
      unproven: 0,
    });

    const text = await runCli(['policy', 'check', next.mesh, '--against', old.mesh]);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain(`${file}:${lineOf(file, '"maximum"')}:`);
  });

  it('lets a widening change and a new optional property through, and a type only one file has', async () => {
    const next = meshWith((s) => {
      s.properties.amount!.maximum = 5000;
      s.properties.channel = { type: 'string' };
    });
    writeFileSync(
      next.mesh,
      readFileSync(next.mesh, 'utf8').replace(
        'emits: [ticket.scored.v1] }',
        'emits: [ticket.scored.v1, ticket.scored.v2] }',
      ),
    );
    writeFileSync(join(next.dir, 'contracts', 'ticket.scored.v2.json'), '{ "type": "object" }\n');
    const r = await runCli(['policy', 'check', next.mesh, '--against', old.mesh, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      ok: true,
      issues: [],
      against: { changed: ['credit.issue'], breaking: 0 },
    });
  });

  it('warns, without refusing, about a change it cannot prove compatible', async () => {
    const next = meshWith((s) => {
      s.oneOf = [{ required: ['reason'] }, { properties: { amount: { maximum: 10 } } }];
    });
    const r = await runCli(['policy', 'check', next.mesh, '--against', old.mesh, '--json']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.warnings.map((w: { code: string; pointer: string }) => [w.code, w.pointer])).toEqual([
      ['MW_CONTRACT_UNPROVEN', '/oneOf'],
    ]);
  });

  it("exits 1 with the old file's own mistakes when --against does not load", async () => {
    const broken = meshWith();
    writeFileSync(broken.mesh, 'mesh: [\n');
    const r = await runCli(['policy', 'check', old.mesh, '--against', broken.mesh, '--json']);
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout);
    // `file` is the checked file; the block says the --against file is the one that does not load.
    expect(doc).toMatchObject({ ok: false, file: old.mesh, warnings: [] });
    expect(doc.issues[0].code).toBe('MW_POLICY_PARSE');
    expect(doc.against).toEqual({ file: broken.mesh, ok: false, issues: doc.issues });
  });

  it('says the contracts were not compared when the checked file does not load, with its warnings', async () => {
    const next = meshWith();
    // An unconsumed type is a warning; a missing contract a mistake.
    writeFileSync(
      next.mesh,
      readFileSync(next.mesh, 'utf8').replace(
        'emits: [ticket.scored.v1] }',
        'emits: [ticket.scored.v1, ticket.scored.v2] }',
      ),
    );
    const r = await runCli(['policy', 'check', next.mesh, '--against', old.mesh, '--json']);
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout);
    expect(doc.issues.map((i: { code: string }) => i.code)).toEqual(['MW_POLICY_MISSING_CONTRACT']);
    expect(doc.warnings.map((i: { code: string }) => i.code)).toEqual(['MW_POLICY_UNCONSUMED']);
    expect(doc.against).toBeUndefined();
    expect(r.stderr).toContain(
      `the contracts were not compared with ${old.mesh}: ${next.mesh} does not load`,
    );
  });
});

describe('policy check --data: recorded payloads against the new contracts', () => {
  let data: string;
  const old = meshWith();
  beforeAll(async () => {
    data = join(tempDir('compat-data'), 'data');
    const run = await runCli(['run', old.mesh, '--input', join(old.dir, 'tickets.jsonl'), '--data', data]);
    expect(run.code).toBe(0);
  });

  it('refuses a contract that rejects recorded, delivered payloads, naming their ids and Ajv pointers', async () => {
    const next = meshWith((s) => {
      s.properties.amount!.maximum = 10;
    });
    for (const against of [[], ['--against', old.mesh]]) {
      const r = await runCli(['policy', 'check', next.mesh, '--data', data, ...against, '--json']);
      expect(r.code).toBe(1);
      const doc = JSON.parse(r.stdout);
      const rejected = doc.data.types['credit.issue'];
      expect(rejected.rejected).toBeGreaterThan(0);
      expect(rejected.first[0]).toMatchObject({
        pointer: '/amount',
        schemaPointer: '/properties/amount/maximum',
      });
      const issue = doc.issues.find((i: { code: string }) => i.code === 'MW_CONTRACT_DATA_BREAKING');
      expect(issue).toMatchObject({ pointer: '/properties/amount/maximum' });
      expect(issue.message).toContain(rejected.first[0].id);
      // Every id it names is a message `why` knows.
      const why = await runCli(['why', rejected.first[0].id, '--data', data, '--json']);
      expect(why.code).toBe(0);
    }
  });

  it('passes the recorded traffic of an unchanged mesh, and with --against reads only changed types', async () => {
    const r = await runCli(['policy', 'check', old.mesh, '--data', data, '--json']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    const checked = Object.values(doc.data.types as Record<string, { checked: number; rejected: number }>);
    expect(checked.reduce((n, t) => n + t.checked, 0)).toBeGreaterThan(0);
    expect(checked.every((t) => t.rejected === 0)).toBe(true);
    const same = await runCli(['policy', 'check', old.mesh, '--data', data, '--against', old.mesh, '--json']);
    expect(JSON.parse(same.stdout).data.types).toEqual({});
  });

  it('warns when the ledger has unanswered holds of a type the new file removes', async () => {
    // The retention run leaves 3316's big credit waiting for approval.
    const next = meshWith();
    renameCredit(next.dir);
    const r = await runCli(['policy', 'check', next.mesh, '--data', data, '--against', old.mesh, '--json']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.warnings).toEqual([
      expect.objectContaining({ code: 'MW_POLICY_HELD_TYPE_REMOVED', file: next.mesh, pointer: '/effects' }),
    ]);
    expect(doc.warnings[0].message).toContain('credit.issue.v2');
    expect(doc.against).toMatchObject({ changed: [], removed: ['credit.issue'], added: ['credit.issue.v2'] });
    expect(doc.data.delivered).toBeGreaterThan(0);
    const text = await runCli(['policy', 'check', next.mesh, '--data', data, '--against', old.mesh]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(
      `contracts since ${old.mesh}: credit.issue removed; credit.issue.v2 added: a new type, nothing to compare`,
    );
    expect(text.stdout).toContain(
      `recorded payloads: no contract changed, so none needed checking (${doc.data.delivered} delivered,`,
    );
    expect(text.stdout).toMatch(
      /warning: .*mesh\.yaml:\d+:\d+: MW_POLICY_HELD_TYPE_REMOVED: effect credit\.issue is not in this policy, but 1 hold of it waits/,
    );
  });

  it('is a usage error without a ledger', async () => {
    const r = await runCli(['policy', 'check', old.mesh, '--data', join(tempDir('compat-none'), 'none')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('MW_CLI_NO_LEDGER');
  });
});

/** A contract 3001 levels deep (1500 pairs of "properties"/"a" around an object), as text. */
const DEEP = `${'{"properties":{"a":'.repeat(1500)}{}${'}}'.repeat(1500)}\n`;
/** The column of the bracket that opens level 129, past MAX_SCHEMA_DEPTH. */
const DEEP_COL = 64 * '{"properties":{"a":'.length + 1;

describe('a contract nested 3000 levels deep', () => {
  it('is a typed issue of policy check --json, with and without --against, at the bracket past the limit', async () => {
    const old = meshWith();
    const next = meshWith();
    const file = join(next.dir, 'contracts', 'credit.issue.json');
    writeFileSync(file, DEEP);
    for (const against of [[], ['--against', old.mesh]]) {
      const r = await runCli(['policy', 'check', next.mesh, ...against, '--json']);
      expect(r.code).toBe(1);
      expect(r.stderr).not.toContain('RangeError');
      const doc = JSON.parse(r.stdout);
      expect(doc.ok).toBe(false);
      expect(doc.issues).toHaveLength(1);
      expect(doc.issues[0]).toMatchObject({
        code: 'MW_POLICY_CONTRACT_TOO_DEEP',
        file,
        line: 1,
        col: DEEP_COL,
        pointer: '/properties/a'.repeat(64),
      });
    }
  });

  it('is refused by a reload with a typed 400, and the policy stays in force', async () => {
    const { dir, mesh } = meshWith();
    const up = await startUp([mesh, '--data', join(dir, 'data')]);
    try {
      const admin = up.token!;
      const before = (await call(up, admin, 'GET', '/policy')).body.digest;
      const file = join(dir, 'contracts', 'credit.issue.json');
      writeFileSync(file, DEEP);
      const refused = await call(up, admin, 'POST', '/policy/reload');
      expect(refused.status).toBe(400);
      expect(refused.body.error.code).toBe('MW_API_POLICY_INVALID');
      expect(refused.body.error.issues).toEqual([
        expect.objectContaining({ code: 'MW_POLICY_CONTRACT_TOO_DEEP', location: `${file}:1:${DEEP_COL}` }),
      ]);
      expect((await call(up, admin, 'GET', '/policy')).body.digest).toBe(before);
    } finally {
      expect(await up.stop()).toBe(0);
    }
  });
});

describe('policy reload through the API', () => {
  it('refuses to drop a type while holds of it wait, names it and the count, and goes through once they are answered', async () => {
    const { dir, mesh } = meshWith();
    const up = await startUp([mesh, '--data', join(dir, 'data'), '--input', join(dir, 'tickets.jsonl')]);
    try {
      const admin = up.token!;
      type Hold = { id: string; rule: string | null };
      const holds = async (): Promise<Hold[]> => (await call(up, admin, 'GET', '/holds')).body.holds;
      const held = await until(
        async () => (await holds()).find((h) => h.rule === 'big-credit'),
        'the big-credit hold',
      );
      const before = (await call(up, admin, 'GET', '/policy')).body.digest;
      renameCredit(dir);
      const refused = await call(up, admin, 'POST', '/policy/reload');
      expect(refused.status).toBe(400);
      expect(refused.body.error.code).toBe('MW_API_POLICY_INVALID');
      expect(refused.body.error.issues).toEqual([
        expect.objectContaining({
          code: 'MW_POLICY_HELD_TYPE_REMOVED',
          location: expect.stringMatching(/mesh\.yaml:\d+:\d+$/),
        }),
      ]);
      expect(refused.body.error.issues[0].message).toContain('credit.issue');
      expect(refused.body.error.issues[0].message).toContain('1 hold of it waits');
      expect((await call(up, admin, 'GET', '/policy')).body.digest).toBe(before);

      const answered = await call(up, admin, 'POST', `/holds/${held.id}/reject`, { reason: 'renaming' });
      expect(answered.status).toBe(200);
      const reloaded = await call(up, admin, 'POST', '/policy/reload');
      expect(reloaded.status).toBe(200);
      expect(reloaded.body.changed).toBe(true);
    } finally {
      expect(await up.stop()).toBe(0);
    }
  });

  it('refuses a breaking contract change with the same issue as policy check, and keeps the policy in force', async () => {
    const { dir, mesh } = meshWith();
    const up = await startUp([mesh, '--data', join(dir, 'data')]);
    try {
      const admin = up.token!;
      const before = (await call(up, admin, 'GET', '/policy')).body.digest;
      const oldCopy = meshWith();
      editCredit(dir, (s) => {
        s.properties.currency = { enum: ['EUR'] };
      });
      const refused = await call(up, admin, 'POST', '/policy/reload');
      expect(refused.status).toBe(400);
      expect(refused.body.error.code).toBe('MW_API_POLICY_INVALID');
      const file = join(dir, 'contracts', 'credit.issue.json');
      const [issue] = refused.body.error.issues;
      expect(issue.code).toBe('MW_CONTRACT_BREAKING');
      expect(issue.location).toMatch(new RegExp(`^${file}:${lineOf(file, '"enum"')}:\\d+$`));
      const check = JSON.parse(
        (await runCli(['policy', 'check', mesh, '--against', oldCopy.mesh, '--json'])).stdout,
      );
      expect(check.issues[0].message).toBe(issue.message);
      expect((await call(up, admin, 'GET', '/policy')).body.digest).toBe(before);

      // Widening is put in force.
      editCredit(dir, (s) => {
        s.properties.currency = { enum: ['EUR', 'USD', 'CHF'] };
      });
      const reloaded = await call(up, admin, 'POST', '/policy/reload');
      expect(reloaded.status).toBe(200);
      expect(reloaded.body.changed).toBe(true);
      expect(reloaded.body.warnings).toBeUndefined();

      // What the check cannot reason about goes into force, with a warning in the reply.
      editCredit(dir, (s) => {
        s.oneOf = [{ required: ['reason'] }, { properties: { amount: { maximum: 10 } } }];
      });
      const unproven = await call(up, admin, 'POST', '/policy/reload');
      expect(unproven.status).toBe(200);
      expect(unproven.body.warnings.map((w: { code: string }) => w.code)).toEqual(['MW_CONTRACT_UNPROVEN']);
      expect(unproven.body.warnings[0].location).toMatch(new RegExp(`^${file}:\\d+:\\d+$`));
    } finally {
      expect(await up.stop()).toBe(0);
    }
  });
});
