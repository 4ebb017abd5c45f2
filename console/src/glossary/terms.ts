// The words the console uses, for a pilot who is not a programmer. `term` is the anchor (#/glossary).

export type Term = { term: string; word: string; code?: string; text: string };

export const TERMS: Term[] = [
  {
    term: 'warden',
    word: 'Warden',
    text: 'Meshwarden itself: it stands between the agents, checks every message and side effect before it happens, and writes down every decision.',
  },
  {
    term: 'agent',
    word: 'Agent',
    text: 'A small program that does one job (score a ticket, decide a discount). Shown by name and version, e.g. “sentiment 1.4.0”.',
  },
  {
    term: 'way-in',
    word: 'Way in (ingress)',
    code: 'ingress',
    text: 'Where messages from outside enter the mesh, such as a support inbox.',
  },
  {
    term: 'side-effect',
    word: 'Side effect',
    code: 'effect',
    text: 'Something that leaves the mesh and changes the world: a credit issued, an e-mail sent. The warden checks each one like a message.',
  },
  {
    term: 'subject',
    word: 'Subject',
    text: 'What a message is about, such as a customer account (“account:8841”). Limits, budgets and freezes count per subject.',
  },
  {
    term: 'case',
    word: 'Case',
    code: 'correlationid',
    text: 'Everything that followed from one message that came in from outside: the messages and side effects it led to, step by step.',
  },
  {
    term: 'lineage',
    word: 'Lineage',
    text: 'A message’s history: what caused it, step by step back to the message that came in, and what it caused in turn.',
  },
  {
    term: 'step',
    word: 'Step (hop)',
    code: 'hop',
    text: 'How far a message is from the start of its case: the message that came in is step 0, what it caused step 1, and so on.',
  },
  {
    term: 'gate',
    word: 'Gate',
    text: 'The part of the warden that checks every message and side effect, one check after another, and gives the verdict. Its first verdict is what the Mesh counters count.',
  },
  {
    term: 'guard',
    word: 'Guard',
    code: 'guards',
    text: 'What the gate’s log lines and the policy file call its checks; the console says “check”. The loop guard is the check that stops messages going round in circles. A message that passes every check is delivered.',
  },
  {
    term: 'verdict',
    word: 'Verdict',
    text: 'What the warden decided about a message: delivered, held, denied or quarantined.',
  },
  {
    term: 'delivered',
    word: 'Delivered',
    code: 'deliver',
    text: 'Passed every check and was handed on (or the side effect was carried out).',
  },
  {
    term: 'hold',
    word: 'Held',
    code: 'hold',
    text: 'Waiting for a pilot to approve or reject it, in “Held”. Some holds end by themselves after a while (the card says how).',
  },
  {
    term: 'denied',
    word: 'Denied',
    code: 'deny',
    text: 'Refused: it goes no further. The reason is written down.',
  },
  {
    term: 'quarantine',
    word: 'Quarantined',
    code: 'quarantine',
    text: 'Malformed or untrusted input, set aside and kept for review; nothing acts on it.',
  },
  {
    term: 'freeze',
    word: 'Freeze (frozen)',
    text: 'Everything about one subject is held for a pilot, until a pilot unfreezes it. The loop guard, a breaker or a pilot can freeze a subject.',
  },
  {
    term: 'breaker',
    word: 'Breaker',
    text: 'A rule that counts (say, credits per account per hour) and “opens” when the count goes over its limit: it then freezes or refuses everything for what it counts, until a pilot resets it or its cool-down ends. Breakers & frozen lists this mesh’s breakers.',
  },
  {
    term: 'reset-unfreeze',
    word: 'Reset or Unfreeze',
    text: 'Two ways to end a freeze. Unfreeze lifts every freeze on a subject at once (the loop guard’s, a breaker’s, a pilot’s). Reset closes one breaker and clears its count, so it starts counting afresh. Neither lets through what is already held: answer those in Held.',
  },
  {
    term: 'cool-down',
    word: 'Cool-down',
    text: 'How long a breaker with one stays open before it closes by itself. A breaker without a cool-down stays open until a pilot resets it.',
  },
  {
    term: 'timed-out',
    word: 'Timed out',
    text: 'An approval hold no pilot answered in time: its rule says what then happens (let through, or denied), and the ledger records it as answered by the timeout.',
  },
  {
    term: 'token',
    word: 'Token and role',
    text: 'What you sign in with. Its role says what you may do: a viewer sees everything, a pilot also answers holds and freezes, resets and replays, an admin also manages tokens and reloads the policy. The bar at the top shows your name and role.',
  },
  {
    term: 'pilot-freeze',
    word: 'Pilot freeze',
    text: 'A freeze a pilot set by hand (Breakers & frozen, “Freeze a subject”), with a reason. It stays until a pilot unfreezes the subject.',
  },
  {
    term: 'step-limit',
    word: 'Step limit',
    text: 'The most steps a case may take (the loop guard’s limit). A step past it is held and its subject frozen; approving lets that one step through, and the next step past the limit is held again.',
  },
  {
    term: 'what-if',
    word: 'What if (replay)',
    text: 'Runs a changed policy over the traffic the ledger recorded, without changing anything, and shows what it would have decided differently.',
  },
  {
    term: 'loop',
    word: 'Loop guard',
    code: 'loop',
    text: 'Stops messages going round in circles, such as a confirmation e-mail that comes back as a new ticket: when the same step repeats in a case’s history, or a case grows too long, it freezes the subject.',
  },
  {
    term: 'echo',
    word: 'Echo',
    text: 'A message from outside that is really the mesh’s own side effect coming back (an e-mail we sent, arriving as a ticket). The warden links it to that side effect, so the loop guard sees the loop.',
  },
  {
    term: 'approval',
    word: 'Approval rule',
    code: 'approval',
    text: 'A condition (such as “a credit over 50”) that holds a message for a pilot to approve.',
  },
  {
    term: 'rate-limit',
    word: 'Rate limit',
    code: 'rate-limit',
    text: 'At most so many messages in a given time, per agent, path or subject.',
  },
  {
    term: 'budget',
    word: 'Budget',
    code: 'budget',
    text: 'At most so much of an amount in a given time, such as 100 EUR of credit per account per day.',
  },
  {
    term: 'checks',
    word: 'The checks, in order',
    code: 'stage',
    text: 'Identity (is the sender known?), permission (may it send this?), content (does it match its contract?), loop guard, rate limits, budgets, breakers, approval rules. The first that stops a message decides its verdict.',
  },
  {
    term: 'envelope',
    word: 'Identity check',
    code: 'envelope',
    text: 'The first check: the message is well formed, not too large, from a sender the mesh knows at the version it runs, signed when it must be, and not a duplicate.',
  },
  {
    term: 'authorization',
    word: 'Permission check',
    code: 'authorization',
    text: 'The sender may send this kind of message (or ask for this side effect), and whoever it is addressed to may take it.',
  },
  {
    term: 'contract-check',
    word: 'Content check',
    code: 'contract',
    text: 'The message’s content matches its contract.',
  },
  {
    term: 'contract',
    word: 'Contract',
    text: 'The agreed shape of a kind of message (which fields, which types). A message that does not match is quarantined.',
  },
  {
    term: 'dead-letter',
    word: 'Dead letter',
    text: 'A message an agent or side effect kept failing on; the warden gave up after its last try and kept it for review.',
  },
  {
    term: 'ledger',
    word: 'Ledger',
    text: 'The record of every decision and pilot action, each entry chained to the one before by its hash, so any change afterwards is found by “Verify now”.',
  },
  {
    term: 'head',
    word: 'Head',
    text: 'The hash of the ledger’s latest entry. Each entry’s hash covers the one before it, so the head stands for the whole ledger: change any entry and the head no longer matches.',
  },
  {
    term: 'checkpoint',
    word: 'Checkpoint',
    text: 'The ledger’s head at one moment, signed by the warden’s key and kept: proof, for anyone who checks later, of what the ledger held then.',
  },
  {
    term: 'partition',
    word: 'Partition',
    text: 'A share of the subjects; each has a ledger chain of its own. A small mesh has one.',
  },
  {
    term: 'pilot',
    word: 'Pilot',
    text: 'A person who watches the mesh and answers it: approves, rejects, freezes, unfreezes, resets. Every action is written to the ledger with the pilot’s name and reason.',
  },
  {
    term: 'drift',
    word: 'Drift',
    text: 'A new version of an agent behaving differently from the one before it: its output’s values spread differently, it sends more or fewer messages, or they get other verdicts, even though every message still fits its contract.',
  },
  {
    term: 'baseline',
    word: 'Baseline',
    text: 'What a version’s output is compared with to see drift: usually everything the version before it sent; a drift monitor can name a version or a recent time window instead.',
  },
  {
    term: 'psi',
    word: 'PSI (population stability index)',
    code: 'psi',
    text: 'A score of how far two distributions differ: 0 when they are the same, below 0.1 no real change, 0.1 to 0.25 a moderate shift, above 0.25 a large one. The warden says a field drifted at 0.2 unless told otherwise.',
  },
  {
    term: 'drift-monitor',
    word: 'Drift monitor',
    code: 'drift',
    text: 'A rule in the policy that watches an agent’s output while the mesh runs and, when it drifts, raises an alarm and can open a breaker on the agent (freeze or deny) until a pilot resets it.',
  },
];
