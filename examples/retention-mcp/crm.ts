// The example's customer records. Account 8841's contact address was entered as the support
// inbox by mistake: every e-mail to that account lands back in support as a new ticket.
export const SUPPORT_INBOX = 'support@acme.example';

export const ACCOUNTS: Readonly<Record<string, { contact: string; tier: 'standard' | 'enterprise' }>> = {
  'account:8841': { contact: SUPPORT_INBOX, tier: 'standard' },
  'account:1203': { contact: 'ops@globex.example', tier: 'standard' },
  'account:5570': { contact: 'it@initech.example', tier: 'standard' },
  'account:3316': { contact: 'cfo@umbrella.example', tier: 'enterprise' },
  'account:7702': { contact: 'admin@hooli.example', tier: 'standard' },
};
