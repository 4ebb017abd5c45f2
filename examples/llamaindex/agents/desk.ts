// The support desk: takes triaged tickets (a real one would open a case in the helpdesk).
import { defineAgent } from 'meshwarden';

export default defineAgent({
  handle(msg, ctx) {
    ctx.log.info(
      { subject: msg.subject, priority: (msg.data as { priority: string }).priority },
      'ticket queued',
    );
  },
});
