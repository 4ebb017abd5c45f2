import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Breaker, ChainLink, Outcome } from '../console/src/api/types.js';
import { tokenIn } from '../console/src/auth/pasted-token.js';
import { ruleSentence } from '../console/src/breakers/rule-sentence.js';
import { detailWords } from '../console/src/shell/detail-words.js';
import { freezesOf, frozenWhat } from '../console/src/shell/freezes.js';
import { finalVerdict, inTimeOrder, outcomeWords } from '../console/src/shell/outcome-words.js';
import { verdictTense } from '../console/src/shell/verdict-tense.js';
import { agentName, reasonWords } from '../console/src/shell/words.js';
import { REPO } from './run-cli.js';

// The console's plain words (issue 14): pure functions, so a table each.
describe('plain words in the console', () => {
  it.each([
    ['mesh://retention/sentiment@1.4.0', 'sentiment 1.4.0'],
    ['churn@2.0.1', 'churn 2.0.1'],
    ['agent:churn', 'churn'],
    ['mesh://retention/inbox', 'inbox'],
    ['ingress:inbox', 'inbox (way in)'],
    ['effect:credit.issue', 'credit.issue (side effect)'],
    ['pilot:ana', 'pilot ana'],
    ['partner:acme', 'partner caller acme'],
    ['', '—'],
    [null, '—'],
  ])('names %s as %s', (raw, name) => {
    expect(agentName(raw)).toBe(name);
  });

  it.each([
    ['loop.repeated_hop', undefined, "Loop guard: the same step repeated in this case's history"],
    ['approval.required', 'approval', 'Approval rule: waits for a pilot to approve it'],
    ['gate.admitted', 'gate', 'Passed every check'],
    ['ingress.body_too_large', 'ingress', 'Way in: a request body that could not be taken'],
    ['budget.something_new', 'budget', 'Budget'],
  ])('says %s (stage %s) as %s', (reason, stage, words) => {
    expect(reasonWords(reason, stage)).toBe(words);
  });

  it('has words for every stop the gate can give', () => {
    const dir = join(REPO, 'src', 'gate', 'stages');
    const codes = new Set<string>();
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))) {
      const text = readFileSync(join(dir, file), 'utf8');
      for (const m of text.matchAll(
        /'((?:envelope|authorization|contract|loop|rate-limit|budget|breaker|approval)\.[a-z_]+)'/g,
      ))
        codes.add(m[1]!);
    }
    expect(codes.size).toBeGreaterThan(20);
    // A code without words falls back to its stage's name alone.
    const missing = [...codes].filter((c) => !reasonWords(c).includes(': '));
    expect(missing).toEqual([]);
  });

  const released = (o: Partial<Outcome>): Outcome => ({
    kind: 'hold.released',
    agent: 'pilot:ana',
    at: 'x',
    ...o,
  });
  const alerted = (outcome: string, attempts: number, message?: string): Outcome => ({
    kind: 'alert.sent',
    agent: null,
    at: 'x',
    alert: {
      route: 'freezes',
      sink: 'oncall',
      event: 'breaker.opened',
      severity: 'critical',
      outcome,
      attempts,
      ...(message === undefined ? {} : { error: { code: 'MW_INTEROP_ALERT_SEND', message } }),
    },
  });
  it.each([
    [released({ outcome: 'deliver' }), 'approved by pilot ana'],
    [released({ outcome: 'deny' }), 'rejected by pilot ana'],
    [released({ outcome: 'deny', agent: null }), 'denied on timeout'],
    [released({ outcome: 'deliver', agent: null }), 'let through on timeout'],
    [
      // The runtime writes 'deny' when the re-check after an approval refuses (hold-release.ts).
      released({ outcome: 'deny', verdict: { decision: 'deny', reason: 'budget.exceeded', detail: '' } }),
      'approved by pilot ana, then refused: Budget: over its budget',
    ],
    [
      released({
        outcome: 'deny',
        agent: null,
        verdict: { decision: 'deny', reason: 'budget.exceeded', detail: '' },
      }),
      'let through on timeout, then refused: Budget: over its budget',
    ],
    [{ kind: 'effect.executed', agent: null, at: 'x' }, 'executed'],
    [{ kind: 'delivered', agent: 'churn@2.0.1', at: 'x' }, 'handled by churn 2.0.1'],
    [alerted('sent', 1), 'on-call told (oncall, breaker opened)'],
    [alerted('failed', 4), 'on-call could not be told (oncall, breaker opened; 4 tries)'],
    [
      alerted('failed', 1, 'the sink answered HTTP 400'),
      'on-call could not be told (oncall, breaker opened; 1 try): the sink answered HTTP 400',
    ],
    [alerted('overflow', 0), 'on-call not told: the alert queue was full (oncall, breaker opened)'],
  ])('says outcome %o as %s', (outcome, words) => {
    expect(outcomeWords(outcome)).toBe(words);
  });

  it.each([
    ['hold', [], 'hold'],
    ['hold', [released({ outcome: 'deliver' })], 'deliver'],
    ['hold', [released({ outcome: 'deny' })], 'deny'],
    ['deliver', [], 'deliver'],
  ] as const)('a %s with outcomes %o now stands as %s', (verdict, outcomes, now) => {
    expect(finalVerdict({ verdict, outcomes } as unknown as ChainLink)).toBe(now);
  });

  it('says what a breaker of the policy does', () => {
    expect(
      ruleSentence({
        id: 'credit-burst',
        scope: 'entity',
        count: 'credit.issue',
        over: 2,
        windowMs: 3_600_000,
        action: 'freeze',
      }),
    ).toBe(
      'Opens when more than 2 credit.issue are let through for one subject within 1 h; it then freezes that subject: everything for it waits for a pilot, until a pilot resets it.',
    );
    expect(
      ruleSentence({
        id: 'mailer-down',
        scope: 'mesh',
        count: 'effect:email.send',
        failures: 'failures',
        over: 5,
        windowMs: 600_000,
        action: 'deny',
        cooldownMs: 300_000,
      }),
    ).toBe(
      'Opens when effect:email.send fails more than 5 times in the whole mesh within 10 min; it then refuses everything for the whole mesh, for 5 min, or until a pilot resets it.',
    );
  });

  it('says that with several partitions an agent-, edge- or mesh-wide breaker trips at each partition’s share', () => {
    const rule = {
      id: 'burst',
      count: 'credit.issue',
      over: 8,
      windowMs: 3_600_000,
      action: 'freeze',
    } as const;
    expect(ruleSentence({ ...rule, scope: 'agent' }, 4)).toBe(
      'Opens when more than 2 credit.issue are let through from one agent in one partition (each of the 4 partitions counts on its own, up to its share: 2 of 8) within 1 h; it then freezes that agent in that partition: everything for it waits for a pilot, until a pilot resets it.',
    );
    expect(ruleSentence({ ...rule, scope: 'mesh' }, 4)).toBe(
      'Opens when more than 2 credit.issue are let through in one partition (each of the 4 partitions counts on its own, up to its share: 2 of 8) within 1 h; it then freezes the whole mesh in that partition: everything for it waits for a pilot, until a pilot resets it.',
    );
    // A subject lives in one partition: its breaker is exact however many there are.
    expect(ruleSentence({ ...rule, scope: 'entity' }, 4)).toBe(ruleSentence({ ...rule, scope: 'entity' }, 1));
    expect(ruleSentence({ ...rule, scope: 'entity' }, 4)).toContain('more than 8 credit.issue');
  });

  const freeze = (id: string, key: string, action = 'freeze'): Breaker => ({
    id,
    key,
    action,
    state: 'open',
    openedAt: 'x',
    closesAt: null,
    by: 'gate',
  });
  const credit = { subject: 'account:3316', source: 'mesh://retention/discount@1.1.0' };
  it.each([
    [freeze('loop', 'account:3316'), true, 'account:3316'],
    [freeze('pilot', 'account:8841'), false, 'account:8841'],
    [freeze('agent-burst', 'discount'), true, 'agent discount'],
    [freeze('agent-burst', 'churn'), false, 'agent churn'],
    [freeze('edge-burst', 'discount->credit.issue'), true, 'the path discount->credit.issue'],
    [freeze('edge-burst', 'churn->discount'), false, 'the path churn->discount'],
    [freeze('mesh-burst', '*'), true, 'the whole mesh'],
    [freeze('mesh-deny', '*', 'deny'), false, 'the whole mesh'],
  ])(
    'a held credit from discount for account:3316 under breaker %o: frozen %s, "%s"',
    (b, applies, words) => {
      expect(freezesOf(credit, [b])).toEqual(applies ? [b] : []);
      expect(frozenWhat(b, credit.subject)).toBe(words);
    },
  );

  // Issue 14, second pass: hold reasons in words, and in the past tense once the hold is answered.
  const AT = '2026-12-03T17:52:32.182Z';
  it.each([
    [
      `pilot: account:5570 is frozen (opened at ${AT} by pilot:admin); the message waits for a pilot.`,
      'now',
      /^account:5570 is frozen by pilot admin, since .+; the message waits for a pilot\.$/,
    ],
    [
      `pilot: account:5570 is frozen (opened at ${AT} by pilot:admin); the message waits for a pilot.`,
      'then',
      /^It was held because account:5570 was frozen by pilot admin, since .+\.$/,
    ],
    [
      `loop: account:8841 is frozen (opened at ${AT} by loop); the message waits for a pilot.`,
      'now',
      /^account:8841 is frozen by the loop guard, since /,
    ],
    [
      `card-storm: account:7702 is frozen (opened at ${AT} by card-storm); the message waits for a pilot.`,
      'then',
      /^It was held because account:7702 was frozen by breaker card-storm, since /,
    ],
    [
      'big-credit: data.amount > 100 holds, so a pilot must approve; without a decision in 4h it is denied.',
      'now',
      /without a decision in 4h it is denied\.$/,
    ],
    [
      'big-credit: data.amount > 100 holds, so a pilot must approve; without a decision in 4h it is denied.',
      'then',
      /^It was held because big-credit: data\.amount > 100 held, so a pilot had to approve\.$/,
    ],
    [
      `x: the breaker for account:1 is open (opened at ${AT} by x); the message is denied.`,
      'now',
      /^It was denied because breaker x was open for account:1 \(opened by breaker x, /,
    ],
    [
      'ticket.opened.v1 from ingress inbox for account:1 passed every guard.',
      'now',
      /^ticket\.opened\.v1 from inbox \(way in\) for account:1 passed every check\.$/,
    ],
    [
      'ticket.scored.v1 from sentiment for account:1 passed every guard.',
      'now',
      /^ticket\.scored\.v1 from sentiment for account:1 passed every check\.$/,
    ],
    [
      'credit-burst: 3 credit.issue in 1h for account:1203, over 2; the breaker is open and account:1203 is frozen until a pilot resets it.',
      'then',
      /^It was held because credit-burst: 3 credit\.issue in 1h for account:1203, over 2, so the breaker opened and account:1203 was frozen\.$/,
    ],
    [
      'credit-burst: 3 credit.issue in 1h for account:1203, over 2; the breaker is open and account:1203 is frozen until a pilot resets it.',
      'now',
      /is frozen until a pilot resets it\.$/,
    ],
    [
      'Loop guard: inbox → ticket.opened.v1 for account:8841 already happened 2 times in this chain, more than the 1 allowed; account:8841 is frozen until a pilot releases it.',
      'then',
      // What was true then; it does not claim the freeze was lifted (an approval does not lift it).
      /2 times in this case, more than the 1 allowed; so account:8841 was frozen\.$/,
    ],
    [
      'Loop guard: ticket.scored.v1 for account:8841 is hop 9 of its chain, past the limit of 8 hops; account:8841 is frozen until a pilot releases it.',
      'now',
      // The console's words: a case of steps, not a chain of hops.
      /^Loop guard: ticket\.scored\.v1 for account:8841 is step 9 of its case, past the limit of 8 steps; /,
    ],
    ['something the console does not know', 'then', /^something the console does not know$/],
  ] as const)('retells %s (%s)', (detail, tense, words) => {
    const text = detailWords(detail, tense);
    expect(text).toMatch(words);
    expect(text).not.toContain(AT);
    expect(text).not.toContain('opened at');
  });

  it.each([
    ['breaker.frozen', 'pilot', false, 'Pilot freeze: its subject is frozen'],
    ['breaker.frozen', 'loop', false, 'Loop guard: its subject is frozen'],
    ['breaker.frozen', 'card-storm', false, 'Breaker card-storm: its subject is frozen'],
    ['breaker.frozen', 'pilot', true, 'Pilot freeze: its subject was frozen'],
    ['approval.required', null, true, 'Approval rule: waited for a pilot to approve it'],
  ] as const)('titles %s by %s (past %s) as %s', (reason, rule, past, words) => {
    expect(reasonWords(reason, reason.split('.')[0], rule, past)).toBe(words);
  });

  it('lists outcomes in time order, an answer before what it let happen at the same instant', () => {
    const o = (kind: string, at: string) => ({ kind, at });
    const listed = [
      o('delivered', '2026-12-03T10:00:05.000Z'),
      o('hold.released', '2026-12-03T10:00:02.000Z'),
      o('alert.sent', '2026-12-03T10:00:02.000Z'),
      o('effect.executed', '2026-12-03T10:00:01.000Z'),
    ];
    expect(inTimeOrder(listed).map((x) => x.kind)).toEqual([
      'effect.executed',
      'hold.released',
      'alert.sent',
      'delivered',
    ]);
  });

  describe('the tense of a held message’s sentence', () => {
    const link = (o: Partial<ChainLink>): ChainLink =>
      ({
        reason: 'breaker.frozen',
        stage: 'breaker',
        rule: 'pilot',
        subject: 'account:5570',
        source: 'mesh://retention/inbox',
        outcomes: [],
        verdict: 'hold',
        ...o,
      }) as ChainLink;
    const pilotFreeze: Breaker = {
      id: 'pilot',
      key: 'account:5570',
      state: 'open',
      action: 'freeze',
      openedAt: 'x',
      closesAt: null,
      by: 'pilot:ana',
    };
    it.each([
      ['its freeze still open', link({}), [pilotFreeze], 'now'],
      ['its freeze gone (unfrozen)', link({}), [], 'then'],
      ['the breakers not read yet', link({}), undefined, 'now'],
      [
        'its hold answered',
        link({ outcomes: [{ kind: 'hold.released', agent: 'pilot:ana', at: 'x' }] }),
        [pilotFreeze],
        'then',
      ],
      [
        'a breaker it tripped, reset since',
        link({ reason: 'breaker.tripped', rule: 'credit-burst' }),
        [],
        'then',
      ],
      [
        'an approval hold, not a freeze',
        link({ reason: 'approval.required', stage: 'approval', rule: 'big' }),
        [],
        'now',
      ],
      [
        'a denial by a breaker, which froze nothing',
        link({ reason: 'breaker.tripped', rule: 'burst', verdict: 'deny' }),
        [],
        'now',
      ],
    ] as const)('%s: %s', (_, l, open, tense) => {
      expect(verdictTense(l, open)).toBe(tense);
    });
  });

  it.each([
    ['mw_abc-123', 'mw_abc-123'],
    ['  mw_abc-123 ', 'mw_abc-123'],
    ['http://127.0.0.1:7070/#token=mw_abc-123', 'mw_abc-123'],
    ['Bearer mw_abc-123', 'mw_abc-123'],
  ])('signs in with the token in what was pasted: %s', (pasted, token) => {
    expect(tokenIn(pasted)).toBe(token);
  });
});
