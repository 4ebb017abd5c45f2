/**
 * The shape of mesh.yaml as a JSON Schema (2020-12). Values with their own syntax (durations,
 * rates, CEL, pointers) are left open here and checked in code, so their mistakes get their own
 * codes. Keys are a contract: add keys freely, rename none.
 */
import { TYPE_NAME } from '../envelope/index.js';
import { ALERT_EVENTS, ALERT_SEVERITIES, SINK_TYPES } from './alert-types.js';
import { DURABILITIES, HTTP_METHODS } from './types.js';

/** Names of meshes, agents and ingress: they appear in `mesh://<mesh>/<name>@<version>` sources. */
export const NAME = '^[A-Za-z0-9][A-Za-z0-9._-]*$';
/** Message types and effect names, as the envelope requires: dotted lower-case. */
const TYPE = TYPE_NAME.source;
const VERSION = '^[A-Za-z0-9][A-Za-z0-9.+_-]*$';
/** Rule ids follow the name rule too; above all no `|`, which separates the parts of state keys. */
const ID = NAME;

/** What each pattern asks for, in words, for the sentence of a mismatch. */
export const PATTERN_RULES: Readonly<Record<string, string>> = {
  [NAME]: 'use letters, digits, ".", "_" and "-", starting with a letter or digit',
  [TYPE]: 'use dotted lower-case, like ticket.scored.v1 or credit.issue',
  [VERSION]: 'use letters, digits, ".", "+", "_" and "-", like 1.4.0',
};

const SCOPE = { enum: ['agent', 'edge', 'entity', 'mesh'] };
/** A remote part's credential: the name of the environment variable that holds it, never the secret. */
const AUTH = {
  type: 'object',
  additionalProperties: false,
  required: ['env'],
  properties: {
    env: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$' },
    header: { type: 'string', pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$" },
    scheme: { type: 'string', pattern: '^[A-Za-z0-9._~+/-]*$' },
  },
};
const ACTION = { enum: ['freeze', 'deny'] };
/** A secret: the environment variable that holds it, never its value. */
const SECRET = object({ env: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$' } }, ['env']);
const ANY = {};
/** A mapped reply: one emission's type and templates (docs/policy.md); templates are checked in code. */
const REPLY_ITEM = {
  type: 'object',
  additionalProperties: false,
  required: ['type', 'data'],
  properties: {
    type: { type: 'string', pattern: TYPE },
    data: ANY,
    when: { type: 'string' },
    subject: { type: 'string' },
  },
};
/** One reply mapping, or a list of them: properties apply to the object, items to the list. */
const REPLY = { ...REPLY_ITEM, type: ['object', 'array'], minItems: 1, items: REPLY_ITEM };
const typeList = { type: 'array', items: { type: 'string', pattern: TYPE } };
const id = { type: 'string', pattern: ID };
const path = { type: 'string', minLength: 1 };

function object(properties: Record<string, unknown>, required: string[] = []) {
  return { type: 'object', additionalProperties: false, required, properties };
}

function mapOf(keyPattern: string, value: unknown) {
  return { type: 'object', propertyNames: { pattern: keyPattern }, additionalProperties: value };
}

export const MESH_SCHEMA = object(
  {
    mesh: { type: 'string', pattern: NAME },
    agents: mapOf(
      NAME,
      object(
        {
          version: { type: 'string', pattern: VERSION },
          module: path,
          url: { type: 'string', format: 'uri' },
          a2a: { type: 'string', format: 'uri' },
          // Low-code flows and JSON endpoints, called with mapped requests (checked in mapped-agents.ts).
          // auth may sit inside them too, as in `flowise: { url, flow, auth: { env } }` (mapped-agents.ts).
          // timeout: a duration, checked in mapped-agents.ts for its own code.
          flowise: object(
            {
              url: { type: 'string', format: 'uri' },
              flow: { type: 'string', minLength: 1 },
              auth: AUTH,
              timeout: ANY,
            },
            ['url', 'flow'],
          ),
          http: object(
            {
              url: { type: 'string', format: 'uri' },
              method: { enum: [...HTTP_METHODS] },
              auth: AUTH,
              timeout: ANY,
            },
            ['url'],
          ),
          request: ANY,
          reply: REPLY,
          consumes: typeList,
          emits: typeList,
          effects: typeList,
          publicKey: { type: 'string' },
          auth: AUTH,
          // Served to outside A2A clients, who send through the named ingress (checked in graph.ts).
          expose: object({ via: { type: 'string', pattern: NAME } }, ['via']),
        },
        ['version'],
      ),
    ),
    effects: mapOf(TYPE, {
      // mcp: an http(s) URL or a command line, checked in code (graph.ts) for its own code.
      ...object({
        module: path,
        mcp: { type: 'string' },
        tool: { type: 'string', minLength: 1 },
        auth: AUTH,
      }),
      type: ['object', 'null'],
    }),
    ingress: mapOf(NAME, object({ emits: typeList }, ['emits'])),
    contracts: path,
    partitions: { type: 'integer', minimum: 1, maximum: 256 },
    // The same count, where a distributed mesh's settings are read (docs/distributed.md).
    cluster: object({ partitions: { type: 'integer', minimum: 1, maximum: 256 } }),
    ledger: object({ durability: { enum: [...DURABILITIES] } }),
    guards: object({
      loop: object({
        maxHops: { type: 'integer', minimum: 1 },
        maxRepeats: { type: 'integer', minimum: 0 },
        echoWindow: ANY,
        // The floor is state/echo.ts ECHO_MIN_CHARS_FLOOR: policy/ may not import state/.
        echoMinLength: { type: 'integer', minimum: 4 },
        action: ACTION,
      }),
      envelope: object({ maxBytes: { type: 'integer', minimum: 1 }, dedupeWindow: ANY }),
    }),
    limits: {
      type: 'array',
      items: object(
        {
          id,
          scope: SCOPE,
          rate: ANY,
          burst: { type: 'integer', minimum: 1 },
          match: object({ type: { type: 'string' }, source: { type: 'string' }, target: { type: 'string' } }),
        },
        ['id', 'scope', 'rate'],
      ),
    },
    budgets: {
      type: 'array',
      items: object(
        {
          id,
          scope: SCOPE,
          effect: { type: 'string' },
          type: { type: 'string' },
          field: ANY,
          max: { type: 'number', minimum: 0 },
          window: ANY,
        },
        ['id', 'scope', 'field', 'max', 'window'],
      ),
    },
    breakers: {
      type: 'array',
      items: object(
        {
          id,
          scope: SCOPE,
          // Exactly one of count, failures and deadLetters (checked in rules.ts, for its own code).
          when: object(
            {
              count: { type: 'string' },
              failures: { type: 'string' },
              deadLetters: { type: 'string' },
              over: { type: 'integer', minimum: 0 },
              window: ANY,
            },
            ['over', 'window'],
          ),
          action: ACTION,
          cooldown: ANY,
        },
        ['id', 'scope', 'when'],
      ),
    },
    alerts: object({
      console: { type: 'string', format: 'uri' },
      queue: { type: 'integer', minimum: 1 },
      holdExpiring: ANY,
      sinks: mapOf(
        NAME,
        object(
          {
            type: { enum: [...SINK_TYPES] },
            // A URL, or { env } for one that is itself a secret (Slack's): checked in alerts.ts.
            url: ANY,
            routingKey: SECRET,
            secret: SECRET,
            // A header the receiver wants (incident.io's Authorization, Datadog's DD-API-KEY).
            auth: AUTH,
            timeout: ANY,
            retries: { type: 'integer', minimum: 0, maximum: 10 },
          },
          ['type'],
        ),
      ),
      routes: {
        type: 'array',
        items: object(
          {
            id,
            on: { type: 'array', minItems: 1, items: { enum: [...ALERT_EVENTS] } },
            sink: { type: 'string', pattern: NAME },
            severity: { enum: [...ALERT_SEVERITIES] },
            rate: ANY,
            dedupe: ANY,
          },
          ['id', 'on', 'sink'],
        ),
      },
    }),
    drift: {
      type: 'array',
      items: object(
        {
          id,
          agent: { type: 'string', pattern: NAME },
          type: { type: 'string', pattern: TYPE },
          fields: { type: 'array', items: ANY },
          window: ANY,
          // previous | { version } | { window }: checked in drift.ts, for its own sentence.
          baseline: ANY,
          threshold: { type: 'number', exclusiveMinimum: 0 },
          minSamples: { type: 'integer', minimum: 1 },
          action: { enum: ['alert', 'freeze', 'deny'] },
        },
        ['id', 'agent', 'type', 'fields'],
      ),
    },
    approvals: {
      type: 'array',
      items: object({ id, when: ANY, timeout: ANY, onTimeout: { enum: ['deny', 'deliver'] } }, [
        'id',
        'when',
        'timeout',
      ]),
    },
  },
  ['mesh', 'agents'],
);
