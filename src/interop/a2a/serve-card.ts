import { AgentCard } from '@a2a-js/sdk';
import { duplicateInterfacesForLegacy } from '@a2a-js/sdk/compat/v0_3';
import type { AgentSpec, Mesh } from '../../runtime/index.js';

/** What a name serves, read from the policy in force (a reload shows at once). */
export type Served =
  | { readonly kind: 'ingress'; readonly name: string; readonly emits: readonly string[] }
  | {
      readonly kind: 'agent';
      readonly spec: AgentSpec;
      /** The ingress its callers send as. */
      readonly via: string;
      /** What they may send: the types `via` emits that the agent consumes. */
      readonly accepts: readonly string[];
    };

/** The ingress, or the exposed agent, `name` names in the policy in force; undefined for neither. */
export function servedAs(mesh: Mesh, name: string): Served | undefined {
  const ingress = mesh.policy.ingress.get(name);
  if (ingress !== undefined) return { kind: 'ingress', name, emits: ingress.emits };
  const spec = mesh.policy.agents.get(name);
  const via = spec?.expose === undefined ? undefined : mesh.policy.ingress.get(spec.expose.via);
  if (spec === undefined || via === undefined) return undefined;
  return { kind: 'agent', spec, via: via.name, accepts: via.emits.filter((t) => spec.consumes.includes(t)) };
}

/** The A2A card: JSON-RPC at `base` and HTTP+JSON at `base/rest`, for A2A 1.0 and 0.3 clients. */
export function cardOf(mesh: Mesh, served: Served, base: string): AgentCard {
  const v1 = [
    { url: base, protocolBinding: 'JSONRPC', protocolVersion: '1.0', tenant: '' },
    { url: `${base}/rest`, protocolBinding: 'HTTP+JSON', protocolVersion: '1.0', tenant: '' },
  ];
  const common = {
    // The same endpoints speak 0.3 to 0.3 clients; the SDK serves them a 0.3 card that names them.
    supportedInterfaces: duplicateInterfacesForLegacy(v1, ['JSONRPC', 'HTTP+JSON']),
    capabilities: { streaming: false, pushNotifications: false },
    // Every endpoint but the card takes the API's bearer token (role partner, or pilot and up).
    securitySchemes: {
      bearer: {
        httpAuthSecurityScheme: {
          scheme: 'Bearer',
          description:
            'A Meshwarden API token: role partner for outside callers, pilot and up for the company.',
        },
      },
    },
    securityRequirements: [{ schemes: { bearer: { list: [] } } }],
    defaultInputModes: ['application/json', 'text/plain'],
    defaultOutputModes: ['application/json'],
  };
  if (served.kind === 'ingress') {
    return AgentCard.fromJSON({
      ...common,
      name: `${mesh.policy.mesh}/${served.name}`,
      description: `Sends messages into mesh ${mesh.policy.mesh} through its ${served.name} ingress; each passes the warden's gate, and the answer is the verdict.`,
      version: '1',
      skills: served.emits.map((type) => ({
        id: type,
        name: type,
        description: `A ${type} message: a data part, with metadata.type "${type}" and metadata.subject the entity.`,
        tags: ['meshwarden', served.name],
      })),
    });
  }
  const { spec } = served;
  const answers = spec.emits.length === 0 ? 'nothing it emits' : spec.emits.join(', ');
  return AgentCard.fromJSON({
    ...common,
    name: `${mesh.policy.mesh}/${spec.name}`,
    description: `Agent ${spec.name} of mesh ${mesh.policy.mesh}, behind the warden: what you send enters through the ${served.via} ingress and passes the gate; the task follows it to the agent's answer (${answers}), as far as the gate admits it.`,
    version: spec.version,
    skills: served.accepts.map((type) => ({
      id: type,
      name: type,
      description: `Send a ${type} message (a data part, metadata.subject the entity); ${spec.name} answers with ${answers}.`,
      tags: ['meshwarden', spec.name],
    })),
  });
}
