import { useEffect, useRef, useState } from 'preact/hooks';
import type { HoldAnswer } from '../api/client.js';
import { useApi } from '../api/context.js';
import type { Hold, Why } from '../api/types.js';
import type { AnsweredHold } from './AnsweredElsewhere.js';
import type { HoldCardWatch } from './HoldCard.js';

/** Answers said above the queue at once, the newest kept. */
const KEPT = 8;
/** Reads of the queue a vanished hold's lineage is asked again for its answer before giving up. */
const LOOKS = 5;

/** The held queue as `GET /holds` answers it: a cluster may leave some partitions out. */
export type HeldQueue = { holds: Hold[]; unowned?: unknown[]; unlisted?: unknown[] };

/** What the signed-in console keeps of answers to holds, whichever view is open. */
export type Answers = {
  readonly gone: AnsweredHold[];
  readonly watch: HoldCardWatch;
  dismiss(id: string): void;
  /** Held is no longer shown: its open reason forms are gone with it. */
  forgetDrafts(): void;
};

/**
 * This pilot's own answers, confirmed, and holds answered by someone else while this pilot was
 * answering them: refused by the warden (MW_PILOT_NOT_HELD, with who answered first), or gone
 * from the queue while a reason form was open, once its lineage shows who released it (a hold
 * missing from one read, as a cluster's may be, is not an answer). Each is said until dismissed,
 * kept by the signed-in shell, so leaving Held and coming back loses none.
 */
export function useAnswers(queue: HeldQueue | undefined): Answers {
  const api = useApi();
  const [gone, setGone] = useState<AnsweredHold[]>([]);
  /** Holds with an open reason form: their titles, by id. */
  const drafts = useRef(new Map<string, string>());
  /** Answers sent and not yet replied to: the hold leaves the queue before the reply comes. */
  const sending = useRef(new Set<string>());
  /** Drafted holds gone from the queue, their lineage not yet showing who released them. */
  const vanished = useRef(new Map<string, { title: string; looks: number }>());
  // Newest last, at most a handful: a pilot clearing a queue need not dismiss every answer.
  const add = (g: AnsweredHold) => setGone((now) => [...now.filter((x) => x.id !== g.id), g].slice(-KEPT));

  useEffect(() => {
    // A read that left partitions out (a node slow to answer, a hand-over) proves nothing.
    if (queue === undefined || (queue.unowned?.length ?? 0) > 0 || (queue.unlisted?.length ?? 0) > 0) return;
    const here = new Set(queue.holds.map((h) => h.id));
    for (const [id, title] of drafts.current) {
      if (here.has(id) || sending.current.has(id)) continue;
      drafts.current.delete(id);
      vanished.current.set(id, { title, looks: 0 });
    }
    for (const [id, v] of vanished.current) {
      if (here.has(id)) {
        vanished.current.delete(id); // back in the queue: it was never answered
        continue;
      }
      v.looks++;
      answerOf(api.get<Why>(`/messages/${encodeURIComponent(id)}/why`), id).then(
        (answered) => {
          if (!vanished.current.has(id)) return;
          if (answered !== undefined) {
            vanished.current.delete(id);
            add({ id, title: v.title, answered });
          } else if (v.looks >= LOOKS) {
            vanished.current.delete(id);
            add({ id, title: v.title });
          }
        },
        () => {},
      );
    }
  }, [queue]);

  const watch: HoldCardWatch = {
    drafting: (hold, title, open) => {
      if (open) drafts.current.set(hold.id, title);
      else drafts.current.delete(hold.id);
    },
    sending: (hold, on) => {
      if (on) sending.current.add(hold.id);
      else sending.current.delete(hold.id);
    },
    refused: (hold, title, tried, error) => {
      // Any other refusal (a viewer's token, a closing warden) leaves the hold where it was.
      if (error.code !== 'MW_PILOT_NOT_HELD') return;
      drafts.current.delete(hold.id);
      add({
        id: hold.id,
        title,
        tried,
        ...(error.answered === undefined ? {} : { answered: error.answered }),
      });
    },
    answered: (hold, title, tried, reply) => {
      const refused = reply.verdict?.reason;
      add({
        id: hold.id,
        title,
        tried,
        mine: { outcome: reply.outcome, ...(refused === undefined ? {} : { refused }) },
      });
    },
  };
  const dismiss = (id: string) => setGone((now) => now.filter((g) => g.id !== id));
  const forgetDrafts = () => {
    drafts.current.clear();
    vanished.current.clear();
  };
  return { gone, watch, dismiss, forgetDrafts };
}

/**
 * The answer its lineage records for message `id`: who released its hold, how it ended and when,
 * and the refusal when an approval was checked again and refused (so it is never read as a rejection).
 */
async function answerOf(why: Promise<Why>, id: string): Promise<HoldAnswer | undefined> {
  const link = (await why).chain.find((l) => l.id === id);
  const released = link?.outcomes.findLast((o) => o.kind === 'hold.released');
  if (released === undefined || (released.outcome !== 'deliver' && released.outcome !== 'deny'))
    return undefined;
  const refused =
    released.verdict !== undefined && released.verdict.decision !== 'deliver'
      ? { refused: released.verdict.reason }
      : {};
  return { by: released.agent ?? 'timeout', outcome: released.outcome, at: released.at, ...refused };
}
