import { describe, expect, it } from 'vitest';
import { retentionConsole } from './retention-console.js';
import { until } from './up-process.js';

// Issue 14, second pass: what a pilot (not a programmer) tripped on. Each `it` fails before its fix.
describe('a console a pilot can read', () => {
  const c = retentionConsole('console-pilot');
  const { testid, holds } = c;

  it('the overview shows what waits now (the Held badge’s number) apart from the first verdicts since start', async () => {
    await c.page.goto(`${c.up.url}/#/mesh`);
    const waiting = c.page.locator('[data-counter="waiting"] .counter-value');
    const now = (await holds()).length;
    expect(now).toBeGreaterThan(0);
    await expect.poll(() => waiting.textContent()).toBe(String(now));
    expect(await testid('held-count').textContent()).toBe(String(now));
    // Answering a hold lowers "waiting" while the first-verdict total stays.
    const heldBefore = await c.page.locator('[data-counter="held"] .counter-value').textContent();
    const first = (await holds())[0]!;
    const rejected = await c.call('POST', `/holds/${encodeURIComponent(first.id)}/reject`, {
      reason: 'not this one',
    });
    expect(rejected.status).toBe(200);
    await expect.poll(() => waiting.textContent(), { timeout: 10_000 }).toBe(String(now - 1));
    expect(await c.page.locator('[data-counter="held"] .counter-value').textContent()).toBe(heldBefore);
    expect(await testid('counters-note').textContent()).toMatch(/not in Denied/);
    expect(await c.page.locator('[data-testid="counters"] h3').allTextContents()).toContain(
      'Since the mesh started: the gate’s first verdict',
    );
    expect(await testid('counters-cluster-note').count()).toBe(0);
    // The rejection is counted where answers are, and the API says the same.
    const rejectedNow = c.page.locator('[data-counter="rejected"] .counter-value');
    await expect.poll(() => rejectedNow.textContent(), { timeout: 10_000 }).toBe('1');
    const counts = (await c.call('GET', '/stats')).body.counts;
    expect(counts.answered).toEqual({ approved: 0, rejected: 1, timedOut: 0 });
  });

  it('a lineage names the freeze that held its message, after the unfreeze and approval', async () => {
    const subject = 'account:5570';
    const frozen = await c.call('POST', '/freeze', {
      subject,
      reason: 'customer disputes all charges',
    });
    expect(frozen.status).toBe(200);
    const sent = await c.call('POST', '/messages', {
      type: 'ticket.opened.v1',
      subject,
      data: { text: 'please refund' },
    });
    expect(sent.status).toBe(202);
    await until(async () => (await holds()).some((h) => h.subject === subject), 'the freeze hold');
    const hold = (await holds()).find((h) => h.subject === subject)!;
    // While frozen, the card says who froze it, in words, in the present tense.
    await c.page.goto(`${c.up.url}/#/held`);
    const card = c.page.locator(`[data-testid="hold-card"][data-subject="${subject}"]`);
    const detail = card.getByTestId('hold-detail');
    await card.waitFor();
    await expect.poll(() => detail.getAttribute('data-tense')).toBe('now');
    expect(await detail.textContent()).toContain('frozen by pilot admin');
    expect(await detail.textContent()).not.toMatch(/opened at|\d{4}-\d\d-\d\dT/);
    expect(await card.getByTestId('rule-words').textContent()).toContain('Pilot freeze');
    expect((await c.call('POST', '/unfreeze', { subject, reason: 'settled' })).status).toBe(200);
    // Unfrozen, it still waits: the card says what was true when it was held.
    await expect.poll(() => detail.getAttribute('data-tense'), { timeout: 10_000 }).toBe('then');
    expect(await detail.textContent()).toMatch(/was held because account:5570 was frozen by pilot admin/);
    const approved = await c.call('POST', `/holds/${encodeURIComponent(hold.id)}/approve`, {
      reason: 'checked',
    });
    expect(approved.status).toBe(200);

    const why = (await c.call('GET', `/messages/${encodeURIComponent(hold.id)}/why`)).body;
    const actions = why.actions as { action: string; reason: string; inForce?: boolean }[];
    expect(actions.map((a) => [a.action, a.inForce === true])).toEqual([
      ['freeze', true],
      ['unfreeze', false],
    ]);
    expect(actions[0]!.reason).toBe('customer disputes all charges');

    await c.page.goto(`${c.up.url}/#/message/${encodeURIComponent(hold.id)}`);
    const freeze = c.page.locator('[data-testid="pilot-action"][data-action="freeze"]');
    await freeze.waitFor();
    expect(await freeze.getAttribute('data-in-force')).toBe('true');
    expect(await freeze.textContent()).toContain('customer disputes all charges');
    // Answered: the verdict's sentence is what was true then, not "is frozen … waits for a pilot".
    const held = c.page.locator(
      `[data-testid="chain-row"][data-message-id="${hold.id}"] [data-testid="verdict-detail"]`,
    );
    expect(await held.getAttribute('data-tense')).toBe('then');
    expect(await held.textContent()).not.toMatch(/is frozen|waits for a pilot/);
    // "Then" lists what followed in time order: the approval before the handling it let happen.
    const row = c.page.locator(`[data-testid="chain-row"][data-message-id="${hold.id}"]`);
    await expect
      .poll(
        async () =>
          row
            .locator('[data-testid="chain-outcome"]')
            .evaluateAll((els) => els.map((e) => e.getAttribute('data-kind'))),
        { timeout: 15_000 },
      )
      .toEqual(['hold.released', 'delivered']);
  });

  it('the breakers page confirms a freeze, says who froze it and why, and how Unfreeze and Reset differ', async () => {
    await c.page.goto(`${c.up.url}/#/breakers`);
    // A typo (no `account:`) freezes nothing real: no message was ever about it, so the form asks first.
    await testid('freeze-subject-input').fill('6606');
    await testid('freeze-reason-input').fill('card reported stolen');
    await testid('freeze-button').click();
    await expect.poll(() => testid('freeze-unheard').getAttribute('data-subject')).toBe('6606');
    expect((await c.call('GET', '/breakers')).body.frozen).not.toContain('6606');
    // An account with no message yet (a card reported stolen before it is used) is frozen on purpose.
    await testid('freeze-subject-input').fill('account:6606');
    await testid('freeze-button').click();
    await expect.poll(() => testid('freeze-unheard').getAttribute('data-subject')).toBe('account:6606');
    await testid('freeze-button').click();
    await expect.poll(() => testid('freeze-done').getAttribute('data-subject')).toBe('account:6606');
    expect(await testid('freeze-unheard').count()).toBe(0);
    const frozen = c.page.locator('[data-testid="frozen-subject"][data-subject="account:6606"]');
    await frozen.waitFor();
    const by = frozen.getByTestId('frozen-by');
    expect(await by.textContent()).toContain('pilot admin');
    expect(await frozen.getByTestId('freeze-reason').textContent()).toContain('card reported stolen');
    expect(await testid('unfreeze-hint').textContent()).toMatch(/Unfreeze.+Reset/s);
    const row = c.page.locator('[data-testid="breaker-row"][data-key="account:6606"]');
    expect(await row.textContent()).toContain('card reported stolen');
    // Search agrees: no message about it yet, and it is frozen now.
    await c.page.goto(`${c.up.url}/#/search?q=account%3A6606`);
    await expect.poll(() => testid('search-frozen').getAttribute('data-subject')).toBe('account:6606');
    expect(await testid('search-hint').count()).toBe(0);
  });

  it('the overview says what is frozen; a live feed row links to its lineage, which shows its data as text', async () => {
    await c.page.goto(`${c.up.url}/#/mesh`);
    const frozen = testid('mesh-frozen');
    await expect.poll(() => frozen.getAttribute('data-frozen'), { timeout: 10_000 }).not.toBe('0');
    expect(await frozen.textContent()).toContain('account:6606');
    expect(await testid('mesh-frozen-link').getAttribute('href')).toBe('#/breakers');
    await c.browser.shot('pilot-overview');

    await c.page.goto(`${c.up.url}/#/live`);
    await testid('live-view').waitFor();
    // The feed shows only what arrives after it connects.
    await c.page.locator('[data-testid="feed-state"].feed-live').waitFor();
    const text = '<b id="injected">25 EUR</b>';
    const sent = await c.call('POST', '/messages', {
      type: 'ticket.opened.v1',
      subject: 'account:9911',
      data: { text },
    });
    expect(sent.status).toBe(202);
    const id = sent.body.id as string;
    const link = c.page.locator(
      `[data-testid="feed-row"][data-message-id="${id}"] [data-testid="feed-lineage-link"]`,
    );
    await link.first().waitFor();
    await link.first().click();
    await c.page.locator(`[data-testid="lineage-view"][data-message-id="${id}"]`).waitFor();
    const field = c.page.locator('[data-testid="data-field"][data-field="text"] dd');
    await field.waitFor();
    expect(await field.textContent()).toBe(text);
    expect(await c.page.locator('#injected').count()).toBe(0);
    await c.browser.shot('pilot-lineage-data');
  });

  it('a bad address says there is no such page; a message not found is asked for once, not polled', async () => {
    await c.page.goto(`${c.up.url}/#/nonsense`);
    await testid('notfound-view').waitFor();
    expect(await testid('mesh-view').count()).toBe(0);
    await testid('notfound-home').click();
    await testid('mesh-view').waitFor();

    const asked: string[] = [];
    const listen = (r: { url(): string }) => {
      if (r.url().includes('/messages/not-an-id/why')) asked.push(r.url());
    };
    c.page.on('request', listen);
    await c.page.goto(`${c.up.url}/#/message/not-an-id`);
    await testid('api-error').first().waitFor();
    // Longer than one poll interval (5 s): no second request follows the 404.
    await c.page.waitForTimeout(6000);
    c.page.off('request', listen);
    expect(asked).toHaveLength(1);
  });

  it('the ledger names which message a hold’s answer is about, and keeps its page in the address', async () => {
    const policy = (await c.call('GET', '/policy')).body;
    const answers: { type?: string; subject?: string }[] = [];
    for (let p = 0; p < (policy.partitions ?? 1); p++) {
      const listed = (await c.call('GET', `/ledger/entries?partition=${p}&limit=200`)).body;
      answers.push(...listed.entries.filter((e: { kind: string }) => e.kind === 'hold.released'));
    }
    expect(answers.length).toBeGreaterThanOrEqual(2);
    for (const a of answers) {
      expect(a.type).toMatch(/\./);
      expect(a.subject).toMatch(/^account:/);
    }

    await c.page.goto(`${c.up.url}/#/ledger`);
    const list = testid('ledger-entry-list');
    await c.page.locator('[data-testid="ledger-entry"]').first().waitFor();
    await testid('ledger-older').click();
    await expect.poll(() => list.getAttribute('data-before')).not.toBeNull();
    expect(new URL(c.page.url()).hash).toMatch(/^#\/ledger\?pages=\d+$/);
    await c.page.goBack();
    await expect.poll(() => list.getAttribute('data-before')).toBeNull();
    expect(new URL(c.page.url()).hash).toBe('#/ledger');
  });

  it('says who is signed in, offers a viewer no answer it would be refused, and takes a pasted token address', async () => {
    const viewer = (await c.call('POST', '/tokens', { name: 'vic', role: 'viewer' })).body.token as string;
    const session = testid('session');
    await expect.poll(() => session.getAttribute('data-role')).toBe('admin');
    // An address with another token, pasted into this tab: signed in with it, the token out of the address.
    await c.page.goto(`${c.up.url}/#token=${encodeURIComponent(viewer)}`);
    await expect.poll(() => session.getAttribute('data-name')).toBe('vic');
    expect(await session.getAttribute('data-role')).toBe('viewer');
    expect(c.page.url()).not.toContain('token');
    await testid('nav-held').click();
    await testid('viewer-notice').waitFor();
    const card = c.page.locator('[data-testid="hold-card"]').first();
    expect(await card.getByTestId('approve-button').isDisabled()).toBe(true);
    expect(await card.getByTestId('reject-button').isDisabled()).toBe(true);
    await c.shot('held-viewer');
    await testid('nav-ledger').click();
    expect(await testid('verify-button').isDisabled()).toBe(true);
    await c.page.goto(`${c.up.url}/#token=${encodeURIComponent(c.admin)}`);
    await expect.poll(() => session.getAttribute('data-role')).toBe('admin');
    await testid('mesh-view').waitFor();
  });
});
