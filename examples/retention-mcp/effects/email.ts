import { defineEffect } from 'meshwarden';
import { SUPPORT_INBOX } from '../crm.ts';

export default defineEffect({
  execute(request, ctx) {
    const mail = request.data as { to: string; subject: string; body: string };
    // The outside world: mail to the support inbox becomes a new ticket, with no link to this
    // e-mail. Only the warden's echo detection can tell that it is the same conversation.
    if (mail.to === SUPPORT_INBOX) {
      ctx.ingest('inbox', {
        type: 'ticket.opened.v1',
        subject: request.subject,
        data: { subject: `Re: ${mail.subject}`, text: mail.body, from: 'mailer-daemon@acme.example' },
      });
    }
    return { delivered: true, to: mail.to };
  },
});
