import { useEffect, useRef, useState } from 'preact/hooks';
import type { HoldAnswer } from '../api/client.js';
import { useApi } from '../api/context.js';
import type { Hold, Why } from '../api/types.js';
import type { AnsweredHold } from './AnsweredElsewhere.js';
import type { HoldCardWatch } from './HoldCard.js';

/** Answers said above the queue at once, the newest kept. */
const KEPT = 5;

/** What the signed-in console keeps of answers to holds, whichever view is open. */
export type Answers = {
  readonly gone: AnsweredHold[];
  readonly watch: HoldCardWatch;
  dismiss(id: string): void;
};

/**
 * This pilot's own answers, confirmed, and holds answered by someone else while this pilot was
 * answering them: refused by the warden (MW_PILOT_NOT_HELD, with who answered first), or gone from
 * the queue while a reason form was open (who answered is then read from its lineage). Each is said
 * until dismissed, kept by the signed-in shell, so leaving Held and coming back loses none.
 */
export function useAnswers(list: Hold[] | undefined): Answers {
  const api = useApi();
  const [gone, setGone] = useState<AnsweredHold[]>([]);
  /** Holds with an open reason form: their titles, by id. */
  const drafts = useRef(new Map<string, string>());
  // Newest last, at most a handful: a pilot clearing a queue need not dismiss every answer.
  const add = (g: AnsweredHold) => setGone((now) => [...now.filter((x) => x.id !== g.id), g].slice(-KEPT));
  const learn = (id: string, answered: HoldAnswer) =>
    setGone((now) => now.map((g) => (g.id === id && g.answered === undefined ? { ...g, answered } : g)));
  useEffect(() => {
    if (list === undefined) return;
    const here = new Set(list.map((h) => h.id));
    for (const [id, title] of drafts.current) {
      if (here.has(id)) continue;
      drafts.current.delete(id);
      add({ id, title });
      // Who answered it, and how: its `hold.released` entry, as its lineage shows it.
      answerOf(api.get<Why>(`/messages/${encodeURIComponent(id)}/why`), id).then(
        (answered) => answered !== undefined && learn(id, answered),
        () => {},
      );
    }
  }, [list]);
  const watch: HoldCardWatch = {
    drafting: (hold, title, open) => {
      if (open) drafts.current.set(hold.id, title);
      else drafts.current.delete(hold.id);
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
  return { gone, watch, dismiss };
}

/** The answer its lineage records for message `id`: who released its hold, how and when. */
async function answerOf(why: Promise<Why>, id: string): Promise<HoldAnswer | undefined> {
  const link = (await why).chain.find((l) => l.id === id);
  const released = link?.outcomes.findLast((o) => o.kind === 'hold.released');
  if (released === undefined || (released.outcome !== 'deliver' && released.outcome !== 'deny'))
    return undefined;
  return { by: released.agent ?? 'timeout', outcome: released.outcome, at: released.at };
}
