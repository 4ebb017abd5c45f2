import { describe, expect, it } from 'vitest';
import { retentionConsole } from './retention-console.js';
import { until } from './up-process.js';

// Issue 14, what two pilots and a viewer tripped on: answers to holds said in words (your own, and
// those made elsewhere), the step limit, unknown senders, and searches that find nothing.
describe('a console that says who answered what', () => {
  const c = retentionConsole('console-answers');
  const { testid, holds, shot } = c;

  it('a sender the mesh does not know is said so, not called a way in', async () => {
    await c.page.goto(`${c.up.url}/#/search?q=account%3A1203`);
    const unknown = c.page.locator(
      '[data-testid="search-results"] [data-testid="agent-name"][data-unknown="true"]',
    );
    await unknown.first().waitFor();
    expect(await unknown.first().getAttribute('title')).toContain('fax');
  });

  it('a search that finds nothing says what to try: a subject’s kind, an agent’s version, a whole id', async () => {
    for (const [q, kind] of [
      ['5570', 'subject'],
      ['discount@9.9.9', 'agent'],
    ]) {
      await c.page.goto(`${c.up.url}/#/search?q=${encodeURIComponent(q!)}`);
      await testid('search-hint').waitFor();
      expect(await testid('search-summary').getAttribute('data-results')).toBe('0');
      expect((await c.call('GET', `/search?q=${encodeURIComponent(q!)}`)).body.kind).toBe(kind);
    }
  });

  it('a hold another pilot answered first is said, and stays said: never read as your own answer', async () => {
    // Two held messages on a subject a pilot froze: one answered elsewhere while this pilot writes
    // a reason, one answered elsewhere just before this pilot confirms.
    expect((await c.call('POST', '/freeze', { subject: 'account:7001', reason: 'drill' })).status).toBe(200);
    for (const text of ['first', 'second'])
      await c.call('POST', '/messages', {
        type: 'ticket.opened.v1',
        subject: 'account:7001',
        data: { text },
      });
    const mine = async () => (await holds()).filter((h) => h.subject === 'account:7001');
    await until(async () => (await mine()).length === 2, 'two holds on account:7001');
    const [drafted, raced] = await mine();
    await c.page.goto(`${c.up.url}/#/held`);
    const card = (id: string) => c.page.locator(`[data-testid="hold-card"][data-hold-id="${id}"]`);

    // 1. The reason form is open when someone else rejects it: the card goes, a notice stays.
    await card(drafted!.id).getByTestId('reject-button').click();
    await card(drafted!.id).getByTestId('reason-input').fill('duplicate ticket');
    await c.call('POST', `/holds/${drafted!.id}/approve`, { reason: 'elsewhere' });
    await card(drafted!.id).waitFor({ state: 'detached' });
    const notice = (id: string) => c.page.locator(`[data-testid="answered-elsewhere"][data-hold-id="${id}"]`);
    await notice(drafted!.id).waitFor();
    // Who answered it is read from its lineage: approved, by a pilot.
    await expect.poll(() => notice(drafted!.id).getAttribute('data-by')).toMatch(/^pilot:/);
    expect(await notice(drafted!.id).getAttribute('data-outcome')).toBe('deliver');

    // 2. Confirmed after someone else answered (the queue not read again in between): the warden
    // refuses, and says who answered first and how.
    await c.page.route('**/api/v1/holds', (route) => route.abort());
    await card(raced!.id).getByTestId('approve-button').click();
    await card(raced!.id).getByTestId('reason-input').fill('ok');
    await c.call('POST', `/holds/${raced!.id}/reject`, { reason: 'elsewhere' });
    await card(raced!.id).getByTestId('confirm-button').click();
    await notice(raced!.id).waitFor();
    // The banner says it; the card shows no second, contradicting, error under it.
    expect(await card(raced!.id).getByTestId('api-error').count()).toBe(0);
    expect(await notice(raced!.id).getAttribute('data-outcome')).toBe('deny');
    expect(await notice(raced!.id).getAttribute('data-by')).toMatch(/^pilot:/);
    await c.page.unroute('**/api/v1/holds');
    await card(raced!.id).waitFor({ state: 'detached' });
    await shot('held-answered-elsewhere');

    // Both outlive later reads of the queue, and a visit to another view, until dismissed.
    await c.page.waitForTimeout(2_500);
    await testid('nav-mesh').click();
    await testid('mesh-view').waitFor();
    await testid('nav-held').click();
    await testid('held-view').waitFor();
    expect(await c.page.getByTestId('answered-elsewhere').count()).toBe(2);
    await notice(drafted!.id).getByTestId('answered-dismiss').click();
    await notice(drafted!.id).waitFor({ state: 'detached' });
    expect(await c.page.getByTestId('answered-elsewhere').count()).toBe(1);

    // Your own answer is confirmed in words too, apart from the others'.
    const next = c.page.locator('[data-testid="hold-card"][data-subject="account:7001"]').first();
    const nextId = await next.getAttribute('data-hold-id');
    await next.getByTestId('approve-button').click();
    await next.getByTestId('reason-input').fill('drill');
    await next.getByTestId('confirm-button').click();
    const yours = c.page.locator(`[data-testid="answered-by-you"][data-hold-id="${nextId}"]`);
    await yours.waitFor();
    expect(await yours.getAttribute('data-outcome')).toBe('deliver');
    expect(await c.page.getByTestId('answered-elsewhere').count()).toBe(1);
    await c.call('POST', '/unfreeze', { subject: 'account:7001', reason: 'drill over' });
    // The ledger names what froze those held messages, as Held does: the pilot's freeze.
    await c.page.goto(`${c.up.url}/#/ledger`);
    await c.page
      .locator('[data-testid="ledger-entry"] [data-testid="rule-words"][data-rule="pilot"]')
      .first()
      .waitFor();
  });

  it('approving a step of a case past its step limit says the next step will be held and frozen again', async () => {
    // 8841's loop hold approved: its next step is past the step limit.
    const first = (await holds()).find((h) => h.subject === 'account:8841');
    const maxHops = (await c.call('GET', '/policy')).body.guards.loop.maxHops as number;
    // The retention example's loop hold is at the limit: step 8 of 8.
    expect(first?.hop).toBe(maxHops);
    if (first !== undefined) {
      // The last step the limit allows warns before it is approved, not only the step after it.
      await c.page.goto(`${c.up.url}/#/held`);
      const last = c.page.locator(`[data-testid="hold-card"][data-hold-id="${first.id}"]`);
      await last.getByTestId('approve-button').click();
      await last.locator('[data-testid="step-limit-warning"][data-kind="last"]').waitFor();
      await last.getByTestId('cancel-button').click();
    }
    if (first !== undefined) await c.call('POST', `/holds/${first.id}/approve`, { reason: 'let it go once' });
    await until(
      async () =>
        (await c.call('GET', '/holds')).body.holds.some(
          (h: { reason: string }) => h.reason === 'loop.too_many_hops',
        ),
      'a hold past the step limit',
    );
    const past = (await c.call('GET', '/holds')).body.holds.find(
      (h: { reason: string }) => h.reason === 'loop.too_many_hops',
    );
    await c.page.goto(`${c.up.url}/#/held`);
    const card = c.page.locator(`[data-testid="hold-card"][data-hold-id="${past.id}"]`);
    await card.getByTestId('approve-button').click();
    await card.locator('[data-testid="step-limit-warning"][data-kind="past"]').waitFor();
    await card.getByTestId('cancel-button').click();
  });
});
