import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, type CliResult, parseEntries, REPO, runCli, tempDir } from './run-cli.js';

type Hold = { id: string; type: string; subject: string; stage: string; rule: string | null };
type Breaker = { id: string; key: string; action: string; by: string };

const CREDIT_HOLD = { type: 'credit.issue', subject: 'account:3316', stage: 'approval', rule: 'big-credit' };

describe('pilot commands against a running mesh', () => {
  const data = join(tempDir('pilot'), 'data');
  let up: ChildProcess;
  let exited: Promise<number | null>;
  let url: string;
  let token: string;

  const api = async (path: string, init: RequestInit = {}, as = token): Promise<unknown> => {
    const res = await fetch(`${url}/api/v1${path}`, {
      ...init,
      headers: { authorization: `Bearer ${as}`, 'content-type': 'application/json' },
    });
    return res.json();
  };
  /** Runs a pilot command against this mesh with the admin token, unless the args name others. */
  const pilot = (args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> =>
    runCli(
      [
        ...args,
        ...(args.includes('--url') ? [] : ['--url', url]),
        ...(args.includes('--token') ? [] : ['--token', token]),
      ],
      {
        env: { MESHWARDEN_URL: undefined, MESHWARDEN_TOKEN: undefined, ...env },
      },
    );
  const json = (r: CliResult) => JSON.parse(r.stdout);
  const holds = async () => ((await api('/holds')) as { holds: Hold[] }).holds;
  const breakers = async () => (await api('/breakers')) as { breakers: Breaker[]; frozen: string[] };

  beforeAll(async () => {
    up = spawn(
      process.execPath,
      [
        BIN,
        'up',
        'examples/retention/mesh.yaml',
        '--port',
        '0',
        '--data',
        data,
        '--input',
        'examples/retention/tickets.jsonl',
        '--json',
      ],
      { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    exited = once(up, 'exit').then(([code]) => code as number | null);
    let stdout = '';
    let stderr = '';
    up.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const started = await new Promise<{ url: string; token: string }>((resolve, reject) => {
      up.stdout!.on('data', (d: Buffer) => {
        stdout += d.toString();
        try {
          resolve(JSON.parse(stdout));
        } catch {
          // the document is not complete yet
        }
      });
      void exited.then((code) => reject(new Error(`up exited with ${code}: ${stderr}`)));
    });
    url = started.url;
    token = started.token;
    // The retention run settles with the 60 EUR credit held and account:8841 frozen by the loop guard.
    for (let i = 0; i < 300; i++) {
      const held = await holds();
      const { frozen } = await breakers();
      if (held.some((h) => h.rule === 'big-credit') && frozen.includes('account:8841')) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`the retention run did not settle: ${stderr}`);
  });

  afterAll(async () => {
    if (up === undefined) return;
    up.kill('SIGINT');
    expect(await exited).toBe(0);
  });

  it('lists what waits for a pilot, as a table and as JSON', async () => {
    const text = await pilot(['approvals', 'list']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain('account:3316');
    expect(text.stdout).toContain('approval/big-credit');
    expect(text.stdout).toContain('waits for a pilot');

    const doc = await pilot(['approvals', 'list', '--json']);
    expect(doc.code).toBe(0);
    expect(json(doc).holds).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ ...CREDIT_HOLD, onTimeout: 'deny', timeoutAt: expect.any(String) }),
        expect.objectContaining({ subject: 'account:8841', stage: 'loop', timeoutAt: null }),
      ]),
    );
  });

  it('approves a held credit with a reason, and why shows the release from the ledger', async () => {
    const credit = (await holds()).find((h) => h.rule === 'big-credit')!;
    const noReason = await pilot(['approvals', 'approve', credit.id, '--json']);
    expect(noReason.code).toBe(2);
    expect(json(noReason).error.code).toBe('MW_CLI_MISSING_OPTION');
    expect(noReason.stderr).toContain('see meshwarden approvals approve --help');

    const r = await pilot(['approvals', 'approve', credit.id, '--reason', 'checked with finance', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(json(r)).toEqual({ id: credit.id, outcome: 'deliver', by: 'pilot:admin' });
    const listed = json(await pilot(['approvals', 'list', '--json'])).holds as Hold[];
    expect(listed.map((h) => h.id)).not.toContain(credit.id);

    // SQLite in WAL mode lets `why` read the ledger while up writes it.
    const why = await runCli(['why', credit.id, '--data', data, '--json']);
    expect(why.code, why.stderr).toBe(0);
    expect(json(why).chain.at(-1).outcomes).toContainEqual(
      expect.objectContaining({
        kind: 'hold.released',
        agent: 'pilot:admin',
        outcome: 'deliver',
        reason: 'checked with finance',
      }),
    );

    const again = await pilot(['approvals', 'reject', credit.id, '--reason', 'twice', '--json']);
    expect(again.code).toBe(1);
    expect(json(again).error.code).toBe('MW_PILOT_NOT_HELD');
    // In text, the pilot who came second is told who answered first, as the API tells it.
    const text = await pilot(['approvals', 'reject', credit.id, '--reason', 'twice']);
    expect(text.code).toBe(1);
    expect(text.stderr.split('\n')[1]).toMatch(/^already answered: let through by pilot:admin at /);
  });

  it('refuses to release an unknown id', async () => {
    const r = await pilot(['approvals', 'reject', '01a20000-0000-7000-8000-000000000000', '--reason', 'x']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('MW_PILOT_NOT_HELD');
    expect(r.stderr).not.toContain('already answered');
  });

  it('lists open breakers and frozen subjects', async () => {
    const text = await pilot(['breakers', 'list']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain('account:8841');
    const doc = json(await pilot(['breakers', 'list', '--json']));
    expect(doc.breakers).toContainEqual(
      expect.objectContaining({ id: 'loop', key: 'account:8841', action: 'freeze' }),
    );
    expect(doc.frozen).toContain('account:8841');
  });

  it('freezes a subject, holds what comes for it, and unfreezes it', async () => {
    const frozen = await pilot(['freeze', 'account:5570', '--reason', 'suspicious refunds', '--json']);
    expect(frozen.code, frozen.stderr).toBe(0);
    expect(json(frozen)).toEqual({ subject: 'account:5570', frozen: true });
    const twice = await pilot(['freeze', 'account:5570', '--reason', 'again', '--json']);
    expect(twice.code).toBe(1);
    expect(json(twice).error.code).toBe('MW_PILOT_ALREADY_FROZEN');
    expect((await breakers()).breakers).toContainEqual(
      expect.objectContaining({ id: 'pilot', key: 'account:5570', by: 'pilot:admin' }),
    );

    const sent = await pilot([
      'send',
      '--type',
      'ticket.opened.v1',
      '--subject',
      'account:5570',
      '--data',
      '{"text": "Love it, thanks!"}',
      '--json',
    ]);
    expect(sent.code, sent.stderr).toBe(0);
    expect(json(sent).verdict.decision).toBe('hold');

    const thawed = await pilot(['unfreeze', 'account:5570', '--reason', 'checked', '--json']);
    expect(thawed.code, thawed.stderr).toBe(0);
    expect(json(thawed)).toEqual({ subject: 'account:5570', frozen: false, closed: ['pilot'] });
    expect((await breakers()).frozen).not.toContain('account:5570');
  });

  it('unfreezes the account the loop guard froze; its held message stays held', async () => {
    const r = await pilot(['unfreeze', 'account:8841', '--reason', 'mailer loop fixed', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(json(r).closed).toContain('loop');
    expect((await breakers()).frozen).not.toContain('account:8841');
    expect((await holds()).map((h) => h.subject)).toContain('account:8841');
    // Its sentence said it is frozen, which is true no more: the list says the freeze is gone.
    const held = (await holds()).find((h) => h.subject === 'account:8841')!;
    const listed = await pilot(['approvals', 'list']);
    expect(listed.stdout).toMatch(new RegExp(`^${held.id}: .*That freeze is gone now`, 'm'));
    const again = await pilot(['unfreeze', 'account:8841', '--reason', 'again', '--json']);
    expect(again.code).toBe(1);
    expect(json(again).error.code).toBe('MW_PILOT_NOT_FROZEN');
    // It is the last step the loop guard's limit allows: approving it says what comes next.
    const approved = await pilot(['approvals', 'approve', held.id, '--reason', 'let it go once']);
    expect(approved.code, approved.stderr).toBe(0);
    expect(approved.stderr).toContain('the last its step limit (8) allows');
  });

  it('resets a breaker, asking for the key only when it is open for several', async () => {
    for (const subject of ['account:6001', 'account:6002']) {
      const frozen = await pilot(['freeze', subject, '--reason', 'test']);
      expect(frozen.code).toBe(0);
      // Nothing was ever about it: frozen all the same, and said (a typo freezes nothing real).
      expect(frozen.stderr).toContain(`no message in the ledger is about ${subject} yet`);
    }
    const ambiguous = await pilot(['breakers', 'reset', 'pilot', '--reason', 'x', '--json']);
    expect(ambiguous.code).toBe(2);
    expect(json(ambiguous).error.code).toBe('MW_CLI_BREAKER_AMBIGUOUS');
    const unknown = await pilot(['breakers', 'reset', 'no-such-breaker', '--reason', 'x', '--json']);
    expect(unknown.code).toBe(2);
    expect(json(unknown).error.code).toBe('MW_CLI_BREAKER_NOT_OPEN');
    const notOpen = await pilot(['breakers', 'reset', 'pilot', 'account:1', '--reason', 'x', '--json']);
    expect(notOpen.code).toBe(1);
    expect(json(notOpen).error.code).toBe('MW_PILOT_NO_BREAKER');

    const named = await pilot(['breakers', 'reset', 'pilot', 'account:6001', '--reason', 'ok', '--json']);
    expect(named.code, named.stderr).toBe(0);
    expect(json(named)).toEqual({ id: 'pilot', key: 'account:6001', closed: true });
    const only = await pilot(['breakers', 'reset', 'pilot', '--reason', 'ok', '--json']);
    expect(only.code, only.stderr).toBe(0);
    expect(json(only)).toEqual({ id: 'pilot', key: 'account:6002', closed: true });
  });

  it('sends a message and exits by its verdict', async () => {
    const args = ['send', '--type', 'ticket.opened.v1', '--subject', 'account:4242', '--json'];
    const ok = await pilot([...args, '--data', '{"text": "Great support, thank you"}']);
    expect(ok.code, ok.stderr).toBe(0);
    const sent = json(ok) as { id: string; verdict: { decision: string } };
    expect(sent.verdict.decision).toBe('deliver');
    const why = await runCli(['why', sent.id, '--data', data, '--json']);
    expect(why.code, why.stderr).toBe(0);
    expect(json(why).chain[0]).toMatchObject({ id: sent.id, subject: 'account:4242' });

    const quarantined = await pilot([...args, '--data', '{"body": "no text field"}']);
    expect(quarantined.code).toBe(1);
    expect(json(quarantined).verdict).toMatchObject({
      decision: 'quarantine',
      reason: 'contract.invalid_payload',
    });
    const denied = await pilot([...args, '--to', 'nobody', '--data', '{"text": "hi"}']);
    expect(denied.code).toBe(1);
    expect(json(denied).verdict.decision).toBe('deny');

    const badJson = await pilot([...args, '--data', '{"text": ']);
    expect(badJson.code).toBe(2);
    expect(json(badJson).error.code).toBe('MW_CLI_BAD_DATA');
    // 1e400 parses as Infinity, which would be sent as null.
    const outOfRange = await pilot([...args, '--data', '{"score": 1e400}']);
    expect(json(outOfRange).error.code).toBe('MW_CLI_BAD_DATA');
    // A name given twice: JSON.parse would send the last and drop the first.
    const twice = await pilot([...args, '--data', '{"text": "a", "text": "b"}']);
    expect(twice.code).toBe(2);
    expect(json(twice).error.code).toBe('MW_CLI_BAD_DATA');
    const noType = await pilot(['send', '--subject', 'account:1', '--data', '{}', '--json']);
    expect(noType.code).toBe(2);
    expect(json(noType).error.code).toBe('MW_CLI_MISSING_OPTION');
    const unknownType = await pilot(['send', '--type', 'x.v1', '--subject', 'a:1', '--data', '{}', '--json']);
    expect(unknownType.code).toBe(2);
    expect(json(unknownType).error).toMatchObject({ code: 'MW_API_BAD_REQUEST', location: '/ingress' });
  });

  it("send's hints reach the ledger of the mesh it sent to, from any directory", async () => {
    const noEnv = { MESHWARDEN_URL: undefined, MESHWARDEN_TOKEN: undefined };
    const elsewhere = tempDir('elsewhere');
    const send = [
      'send',
      '--type',
      'ticket.opened.v1',
      '--subject',
      'account:4243',
      '--data',
      '{"text": "Hi"}',
    ];
    /** The hinted command's arguments, with the token filled in where the hint leaves its place. */
    const hinted = (stdout: string, command: string) =>
      stdout
        .split('\n')
        .find((l) => l.startsWith(`meshwarden ${command} `))!
        .split('#')[0]!
        .replace('<your token>', token)
        .trim()
        .split(/\s+/)
        .slice(1);

    // A token typed as --token: the hint names the mesh and leaves the token's place.
    const typed = await pilot(send);
    expect(typed.code, typed.stderr).toBe(0);
    const id = /^sent (\S+):/m.exec(typed.stdout)![1]!;
    expect(typed.stdout).toContain(`meshwarden why ${id} --url ${url} --token <your token>`);
    expect(typed.stdout).not.toContain(token);
    const why = await runCli(hinted(typed.stdout, 'why'), { cwd: elsewhere, env: noEnv });
    expect(why.code, why.stderr).toBe(0);
    expect(why.stdout).toContain(`why ${id}: ticket.opened.v1 about account:4243`);
    const impact = await runCli(hinted(typed.stdout, 'impact'), { cwd: elsewhere, env: noEnv });
    expect(impact.code, impact.stderr).toBe(0);
    expect(impact.stdout).toMatch(new RegExp(`^impact of ${id}: 1 starting message`));

    // A token in MESHWARDEN_TOKEN: the hint needs only the address, and the same variable serves `why`.
    const env = { MESHWARDEN_URL: undefined, MESHWARDEN_TOKEN: token };
    const fromEnv = await runCli([...send, '--url', url], { env });
    expect(fromEnv.code, fromEnv.stderr).toBe(0);
    const args = hinted(fromEnv.stdout, 'why');
    expect(args).toEqual(['why', expect.any(String), '--url', url]);
    const again = await runCli([...args, '--json'], { cwd: elsewhere, env });
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout).chain[0]).toMatchObject({
      id: args[1],
      subject: 'account:4243',
      partition: 0,
    });

    // From the mesh as from a file: an unknown id is MW_CLI_NOT_FOUND, and --url with --ledger a usage error.
    const unknown = await runCli(['why', '01a2aaaa-0000-7000-8000-000000000000', '--url', url, '--json'], {
      env,
    });
    expect(unknown.code).toBe(1);
    expect(JSON.parse(unknown.stdout).error.code).toBe('MW_CLI_NOT_FOUND');
    // A subject where a message id goes: the hint names its newest messages, from the mesh and from the file.
    for (const from of [
      ['--url', url],
      ['--ledger', join(data, 'ledger.db')],
    ]) {
      const subject = await runCli(['why', 'account:4243', ...from, '--json'], { env });
      expect(subject.code).toBe(1);
      const { error } = JSON.parse(subject.stdout);
      expect(error.code).toBe('MW_CLI_NOT_FOUND');
      // What the hint names is what it says: messages about the subject, each one `why` explains.
      const named = (error.message as string).match(/[0-9a-f]{8}-[0-9a-f-]{27}/g) ?? [];
      expect(named.length).toBeGreaterThan(0);
      const first = await runCli(['why', named[0]!, ...from, '--json'], { env });
      expect(first.code, first.stderr).toBe(0);
      expect(JSON.parse(first.stdout).chain.at(-1)).toMatchObject({ subject: 'account:4243' });
    }
    // An agent version the ledger has no message from: the hint names the versions it has.
    const agent = parseEntries((await runCli(['audit', 'export', '--data', data])).stdout).find((e) =>
      e.agent?.includes('@'),
    )!.agent!;
    const name = agent.slice(0, agent.indexOf('@'));
    const version = await runCli(['impact', `${name}@9.9.9`, '--ledger', join(data, 'ledger.db'), '--json']);
    expect(version.code).toBe(1);
    expect(JSON.parse(version.stdout).error.code).toBe('MW_CLI_NOT_FOUND');
    expect(JSON.parse(version.stdout).error.message).toContain(agent);
    const both = await runCli(['why', id, '--url', url, '--ledger', join(data, 'ledger.db')], { env });
    expect(both.code).toBe(2);
  });

  it('lets a viewer read but not act, and rejects an unknown token', async () => {
    const viewer = (await api('/tokens', { method: 'POST', body: '{"name":"vic","role":"viewer"}' })) as {
      token: string;
    };
    const held = (await holds())[0]!;
    const act = await pilot([
      'approvals',
      'approve',
      held.id,
      '--reason',
      'x',
      '--token',
      viewer.token,
      '--json',
    ]);
    expect(act.code).toBe(1);
    expect(json(act).error.code).toBe('MW_API_FORBIDDEN');
    expect((await pilot(['approvals', 'list', '--token', viewer.token])).code).toBe(0);
    expect((await holds()).map((h) => h.id)).toContain(held.id);

    const stranger = await pilot(['breakers', 'list', '--token', 'mw_not-a-token', '--json']);
    expect(stranger.code).toBe(1);
    expect(json(stranger).error.code).toBe('MW_API_UNAUTHENTICATED');
  });

  it('takes the address and token from the environment, and says when the token is missing', async () => {
    const env = { MESHWARDEN_URL: `${url}/api/v1/`, MESHWARDEN_TOKEN: token };
    const r = await runCli(['breakers', 'list', '--json'], { env });
    expect(r.code, r.stderr).toBe(0);
    const missing = await runCli(['approvals', 'list', '--json'], { env: { ...env, MESHWARDEN_TOKEN: '' } });
    expect(missing.code).toBe(2);
    expect(json(missing).error.code).toBe('MW_CLI_NO_TOKEN');
  });
});
