import {
  duplicateKeyAt,
  isMeshwardenError,
  type JsonValue,
  nonFiniteAt,
  nonFiniteText,
} from '../../runtime/index.js';
import { type ApiClient, reportFailure } from '../api-client.js';
import { cliError, EXIT } from '../errors.js';
import { inlineText, type Output } from '../output.js';

export type SendOptions = {
  readonly type: string;
  readonly subject: string;
  /** The payload as JSON text, as typed on the command line. */
  readonly data: string;
  readonly to?: string | undefined;
  readonly ingress?: string | undefined;
};

/** The reply of `POST /messages`: the new message's id and the gate's verdict on it. */
type Sent = {
  id: string;
  verdict: {
    decision: 'deliver' | 'deny' | 'hold' | 'quarantine';
    stage: string;
    rule?: string;
    reason: string;
    detail?: string;
  };
};

/**
 * `send`: injects a root message through an ingress; it passes the gate like any other. Exit 0 when
 * the gate admitted or held it, 1 when it was denied or quarantined (the checked thing failed).
 */
export async function send(api: ApiClient, opts: SendOptions, out: Output): Promise<number> {
  let data: JsonValue;
  try {
    data = JSON.parse(opts.data) as JsonValue;
  } catch (cause) {
    return reportFailure(cliError('MW_CLI_BAD_DATA', { cause: (cause as Error).message }, { cause }), out);
  }
  // JSON.parse gives Infinity for 1e400, which would go out as null: not what was typed.
  const found = nonFiniteAt(data);
  if (found !== undefined)
    return reportFailure(cliError('MW_CLI_BAD_DATA', { cause: nonFiniteText(found) }), out);
  // JSON.parse keeps a repeated name's last value: the first would go nowhere, unsaid.
  const twice = duplicateKeyAt(opts.data);
  if (twice !== undefined)
    return reportFailure(cliError('MW_CLI_BAD_DATA', { cause: `it gives the member ${twice} twice` }), out);
  const reply = await api.post<Sent>('/messages', {
    type: opts.type,
    subject: opts.subject,
    data,
    ...(opts.ingress === undefined ? {} : { ingress: opts.ingress }),
    ...(opts.to === undefined ? {} : { to: opts.to }),
  });
  if (isMeshwardenError(reply)) return reportFailure(reply, out);
  const v = reply.verdict;
  const passed = v.decision === 'deliver' || v.decision === 'hold';
  if (out.json) {
    out.document(reply);
  } else {
    const where = `${v.stage}${v.rule === undefined ? '' : `/${v.rule}`}`;
    out.line(inlineText(`sent ${reply.id}: ${v.decision.toUpperCase()} at ${where} (${v.reason})`));
    if (v.detail) out.line(`  ${inlineText(v.detail)}`);
    if (v.decision === 'hold') out.line('it waits for a pilot: meshwarden approvals list');
    // The hint reads the ledger of the mesh it was sent to, not whatever ledger is in this directory.
    out.line(`meshwarden impact ${reply.id} ${api.reach}   # what happens to it`);
    out.line(`meshwarden why ${reply.id} ${api.reach}   # why it was decided so`);
  }
  return passed ? EXIT.ok : EXIT.failed;
}
