import { defineAgent } from 'meshwarden';

// A deliberately naive scorer: apologies read as negative, which is how this mesh loops.
const NEGATIVE = [
  'angry',
  'cancel',
  'crash',
  'terrible',
  'wrong',
  'broken',
  'frustrat',
  'sorry',
  'trouble',
  'outage',
];
const POSITIVE = ['love', 'great', 'thanks', 'thank you', 'happy', 'works'];

export default defineAgent({
  handle(msg, ctx) {
    const text = String((msg.data as { text?: unknown }).text ?? '').toLowerCase();
    const negative = NEGATIVE.filter((w) => text.includes(w));
    const positive = POSITIVE.filter((w) => text.includes(w));
    const total = negative.length + positive.length;
    const score = total === 0 ? 0 : (positive.length - negative.length) / total;
    ctx.emit('ticket.scored.v1', { score, signals: [...negative, ...positive] });
  },
});
