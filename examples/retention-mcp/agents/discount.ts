import { defineAgent } from 'meshwarden';
import { ACCOUNTS } from '../crm.ts';

export default defineAgent({
  handle(msg, ctx) {
    const probability = Number((msg.data as { probability?: unknown }).probability ?? 0);
    if (probability < 0.7) return;
    const account = ACCOUNTS[msg.subject];
    if (account === undefined) return;
    const amount = account.tier === 'enterprise' ? 60 : 25;
    ctx.effect('credit.issue', { amount, currency: 'EUR', reason: `churn risk ${probability}` });
    ctx.effect('email.send', {
      to: account.contact,
      subject: 'A credit for your trouble',
      body: `Sorry for the trouble with your account. We have added a credit of ${amount} EUR.`,
    });
  },
});
