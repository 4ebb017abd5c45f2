import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { repliesOfAgent, requestOf } from './mapped-agents.js';
import { compileMapping, REQUEST_NAMES } from './mapping.js';
import { BASE, compileLines, policyOf } from './test-kit.js';

/** BASE with agents from line 5, after a and b (b consumes y.v1). */
function mesh(...agents: string[]): string[] {
  return [...BASE.slice(0, 4), ...agents, ...BASE.slice(4)];
}

function issuesOf(lines: readonly string[], contracts?: Record<string, string>): [string, number, number][] {
  const result = compileLines(lines, contracts);
  return result.ok ? [] : result.issues.map((i) => [i.code, i.line, i.col]);
}

const PEM = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();

const col = (line: string, text: string, from = 0) => line.indexOf(text, from) + 1;

describe('flowise and http agents', () => {
  it('compiles the transports and keeps the templates as written', () => {
    const policy = policyOf(
      mesh(
        "  t: { version: 1.0.0, flowise: { url: 'http://127.0.0.1:3000', flow: abc }, auth: { env: FLOWISE_KEY }, consumes: [x.v1], emits: [y.v1], request: { question: '{{ data.text }}' }, reply: { type: y.v1, data: { label: '{{ json.label }}' } } }",
        '  h: { version: 1.0.0, http: { url: "http://127.0.0.1:5678/webhook/e", method: PUT }, consumes: [x.v1], emits: [y.v1, z.v1], reply: [{ when: "{{ json.z }}", type: z.v1, data: "{{ json }}", subject: "{{ message.subject }}" }, { type: y.v1, data: "{{ json }}" }] }',
        '  d: { version: 1.0.0, http: { url: "https://d.example.com/hook" }, consumes: [x.v1], emits: [y.v1] }',
      ),
    );
    expect(policy.agents.get('t')).toMatchObject({
      flowise: { url: 'http://127.0.0.1:3000', flow: 'abc' },
      auth: { env: 'FLOWISE_KEY', header: 'Authorization', scheme: 'Bearer' },
      request: { question: '{{ data.text }}' },
      reply: [{ at: '/reply', type: 'y.v1', data: { label: '{{ json.label }}' } }],
    });
    expect(policy.agents.get('h')).toMatchObject({
      http: { url: 'http://127.0.0.1:5678/webhook/e', method: 'PUT' },
      reply: [
        {
          at: '/reply/0',
          when: '{{ json.z }}',
          type: 'z.v1',
          data: '{{ json }}',
          subject: '{{ message.subject }}',
        },
        { at: '/reply/1', type: 'y.v1', data: '{{ json }}' },
      ],
    });
    expect(policy.agents.get('d')?.http).toEqual({ url: 'https://d.example.com/hook', method: 'POST' });
    expect(policy.agents.get('t')?.flowise?.timeoutMs).toBeUndefined();
    expect(policy.agents.get('d')?.reply).toBeUndefined();
  });

  it.each([
    ['a blank question', "request: { question: '   ' }", "'   '"],
    [
      'neither question nor form',
      "request: { overrideConfig: { sessionId: '{{ correlationid }}' } }",
      'request',
    ],
    ['a question with no value', 'request: { question: }', 'question: }'],
    ['a number', 'request: { question: 42 }', '42'],
    ['a list', 'request: { question: [a] }', '[a]'],
  ])('refuses a flow request that asks nothing: %s', (_name, key, at) => {
    const line = `  t: { version: 1.0.0, flowise: { url: "http://f", flow: f }, consumes: [x.v1], emits: [y.v1], ${key} }`;
    expect(issuesOf(mesh(line))).toEqual([['MW_POLICY_MAPPING', 5, col(line, at)]]);
  });

  it.each([
    ['a question', "request: { question: 'Triage {{ data.text }}' }"],
    ['a form', "request: { form: { text: '{{ data.text }}' } }"],
    ['no request (the default asks the data)', ''],
  ])('takes a flow request that asks: %s', (_name, key) => {
    const line = `  t: { version: 1.0.0, flowise: { url: "http://f", flow: f }, consumes: [x.v1], emits: [y.v1]${key === '' ? '' : `, ${key}`} }`;
    expect(issuesOf(mesh(line))).toEqual([]);
  });

  it('reads a call timeout on flowise and http agents', () => {
    const policy = policyOf(
      mesh(
        '  t: { version: 1.0.0, flowise: { url: "http://f", flow: f, timeout: 90s }, consumes: [x.v1] }',
        '  h: { version: 1.0.0, http: { url: "http://h", timeout: 1500ms }, consumes: [x.v1] }',
      ),
    );
    expect(policy.agents.get('t')?.flowise).toEqual({ url: 'http://f', flow: 'f', timeoutMs: 90_000 });
    expect(policy.agents.get('h')?.http).toEqual({ url: 'http://h', method: 'POST', timeoutMs: 1500 });
  });

  const T = '  t: { version: 1.0.0, ';
  it.each<[string, string, string, string]>([
    [
      'two transports',
      `${T}flowise: { url: "http://f", flow: f }, module: ./t.ts, consumes: [x.v1] }`,
      'MW_POLICY_AGENT_TRANSPORT',
      't:',
    ],
    [
      'request on a module agent',
      `${T}module: ./t.ts, consumes: [x.v1], request: { a: 1 } }`,
      'MW_POLICY_MAPPING_TRANSPORT',
      'request',
    ],
    [
      'reply on a url agent',
      `${T}url: "http://u", consumes: [x.v1], emits: [y.v1], reply: { type: y.v1, data: 1 } }`,
      'MW_POLICY_MAPPING_TRANSPORT',
      'reply',
    ],
    [
      'a reply type not emitted',
      `${T}http: { url: "http://h" }, consumes: [x.v1], emits: [y.v1], reply: { type: z.v1, data: 1 } }`,
      'MW_POLICY_REPLY_TYPE',
      'z.v1',
    ],
    [
      'several emits and no reply',
      `${T}http: { url: "http://h" }, consumes: [x.v1], emits: [y.v1, z.v1] }`,
      'MW_POLICY_REPLY_NEEDED',
      'emits',
    ],
    [
      'a reply with nothing emitted',
      `${T}http: { url: "http://h" }, consumes: [x.v1], reply: { type: y.v1, data: 1 } }`,
      'MW_POLICY_REPLY_UNUSED',
      'reply',
    ],
    [
      'a reply without data',
      `${T}http: { url: "http://h" }, consumes: [x.v1], emits: [y.v1], reply: { type: y.v1 } }`,
      'MW_POLICY_MISSING_KEY',
      'reply',
    ],
    [
      'a flowise without flow',
      `${T}flowise: { url: "http://f" }, consumes: [x.v1] }`,
      'MW_POLICY_MISSING_KEY',
      'flowise',
    ],
    [
      'a method that is not allowed',
      `${T}http: { url: "http://h", method: GET }, consumes: [x.v1] }`,
      'MW_POLICY_BAD_VALUE',
      'GET',
    ],
    [
      'a URL that is not http',
      `${T}http: { url: "ftp://h" }, consumes: [x.v1] }`,
      'MW_POLICY_BAD_VALUE',
      '"ftp',
    ],
    [
      'a Flowise URL with the API path',
      `${T}flowise: { url: "http://f:3000/api/v1/", flow: f }, consumes: [x.v1] }`,
      'MW_POLICY_BAD_VALUE',
      '"http://f:3000',
    ],
    [
      'a URL with user:password@',
      `${T}flowise: { url: "http://admin:s3cret@f", flow: f }, consumes: [x.v1] }`,
      'MW_POLICY_BAD_VALUE',
      '"http://admin',
    ],
    [
      'a timeout that is not a duration',
      `${T}flowise: { url: "http://f", flow: f, timeout: 60 }, consumes: [x.v1] }`,
      'MW_POLICY_BAD_DURATION',
      '60',
    ],
    [
      'a timeout with no unit',
      `${T}http: { url: "http://h", timeout: "30" }, consumes: [x.v1] }`,
      'MW_POLICY_BAD_DURATION',
      '"30"',
    ],
    [
      'a timeout of 0s',
      `${T}http: { url: "http://h", timeout: 0s }, consumes: [x.v1] }`,
      'MW_POLICY_BAD_DURATION',
      '0s',
    ],
    [
      'a timeout over 1h',
      `${T}http: { url: "http://h", timeout: 2h }, consumes: [x.v1] }`,
      'MW_POLICY_BAD_VALUE',
      '2h',
    ],
    ...(['flowise: { url: "http://f", flow: f }', 'http: { url: "http://h" }'].map((transport) => [
      `a publicKey on a ${transport.slice(0, transport.indexOf(':'))} agent`,
      `${T}${transport}, consumes: [x.v1], publicKey: ${JSON.stringify(PEM)} }`,
      'MW_POLICY_BAD_VALUE',
      'publicKey',
    ]) as [string, string, string, string][]),
  ])('refuses %s', (_name, line, code, at) => {
    const issues = issuesOf(mesh(line));
    expect(issues).toContainEqual([code, 5, col(line, at)]);
  });

  it.each([
    ['flowise', `${T}flowise: { url: "http://f", flow: f, auth: { env: K } }, consumes: [x.v1] }`],
    ['http', `${T}http: { url: "http://h", auth: { env: K } }, consumes: [x.v1] }`],
  ])('reads auth inside %s', (_name, line) => {
    expect(policyOf(mesh(line)).agents.get('t')?.auth).toEqual({
      env: 'K',
      header: 'Authorization',
      scheme: 'Bearer',
    });
  });

  it('says only that a flowise or http agent takes no publicKey, not also that the key is malformed', () => {
    const line = `${T}http: { url: "http://h" }, consumes: [x.v1], publicKey: abc }`;
    expect(issuesOf(mesh(line))).toEqual([['MW_POLICY_BAD_VALUE', 5, col(line, 'publicKey')]]);
  });

  it('refuses auth both inside http and beside it', () => {
    const line = `${T}http: { url: "http://h", auth: { env: K } }, auth: { env: K }, consumes: [x.v1] }`;
    expect(issuesOf(mesh(line))).toEqual([['MW_POLICY_BAD_VALUE', 5, col(line, 'auth')]]);
  });

  it('says to quote an unquoted {{ }}, which YAML reads as a map', () => {
    const lines = mesh(
      '  t:',
      '    version: 1.0.0',
      '    http: { url: "http://h" }',
      '    consumes: [x.v1]',
      '    emits: [y.v1]',
      '    reply:',
      '      type: y.v1',
      '      data:',
      '        label: {{ json.label }}',
    );
    expect(issuesOf(lines)).toEqual([['MW_POLICY_MAPPING', 13, col(lines[12]!, '{{')]]);
  });

  it('checks the rest of a template beside an unquoted {{ }}: every mistake is said', () => {
    const lines = mesh(
      '  t:',
      '    version: 1.0.0',
      '    http: { url: "http://h" }',
      '    consumes: [x.v1]',
      '    emits: [y.v1]',
      '    reply:',
      '      type: y.v1',
      '      data:',
      '        label: {{ json.label }}',
      "        order: '{{ $nubmer(json.x) }}'",
    );
    expect(issuesOf(lines)).toEqual([
      ['MW_POLICY_MAPPING', 13, col(lines[12]!, '{{')],
      ['MW_POLICY_MAPPING', 14, col(lines[13]!, '$nubmer')],
    ]);
  });

  it('allows auth on flowise and http agents', () => {
    const line = `${T}http: { url: "http://h" }, auth: { env: K, header: X-Key }, consumes: [x.v1] }`;
    expect(policyOf(mesh(line)).agents.get('t')?.auth).toEqual({ env: 'K', header: 'X-Key' });
  });
});

describe('mapping mistakes at file:line:col', () => {
  it('points inside a one-line string at the unknown name', () => {
    const line = `  t: { version: 1.0.0, http: { url: "http://h" }, consumes: [x.v1], emits: [y.v1], reply: { type: y.v1, data: { label: '{{ jsn.label }}' } } }`;
    expect(issuesOf(mesh(line))).toEqual([['MW_POLICY_MAPPING', 5, col(line, 'jsn')]]);
  });

  it.each([
    ['one mapping', "reply: { type: y.v1, data: { label: '{{ jsn }}' } }", '/agents/t/reply/data/label'],
    [
      'a list of one',
      "reply: [{ type: y.v1, data: { label: '{{ jsn }}' } }]",
      '/agents/t/reply/0/data/label',
    ],
  ])('names the pointer as written: %s', (_name, key, pointer) => {
    const line = `  t: { version: 1.0.0, http: { url: "http://h" }, consumes: [x.v1], emits: [y.v1], ${key} }`;
    const result = compileLines(mesh(line));
    expect(result.ok ? [] : result.issues.map((i) => [i.code, i.pointer])).toEqual([
      ['MW_POLICY_MAPPING', pointer],
    ]);
  });

  it.each([
    ['when', 'reply: [{ when: {{ json.x }}, type: y.v1, data: 1 }]'],
    ['subject', 'reply: { subject: {{ json.x }}, type: y.v1, data: 1 }'],
    ['a data member the contract types', 'reply: { type: y.v1, data: { label: {{ json.x }}, n: 1 } }'],
    ['a nested data member', 'reply: { type: y.v1, data: { n: { m: {{ json.x }} } } }'],
    ['the whole data', 'reply: { type: y.v1, data: {{ json.x }} }'],
  ])('says to quote an unquoted {{ }} in %s, and only that', (_name, key) => {
    const line = `  t: { version: 1.0.0, http: { url: "http://h" }, consumes: [x.v1], emits: [y.v1], ${key} }`;
    const contract = JSON.stringify({
      type: 'object',
      additionalProperties: false,
      properties: { label: { type: 'string' }, n: { type: 'number' } },
    });
    expect(issuesOf(mesh(line), { 'y.v1': contract })).toEqual([
      ['MW_POLICY_MAPPING', 5, col(line, '{{ json.x')],
    ]);
  });

  it.each([
    [
      'one brace opening a site',
      "reply: { type: y.v1, data: { label: '{ json.label }}' } }",
      "'{",
      'json.label',
    ],
    ['after a site', "request: { q: 'ask {{ data.text }} { data.id }}' }", ' { data.id', 'data.text'],
    ['in when', "reply: { when: '{ json.x }}', type: y.v1, data: 1 }", "'{", 'json.label'],
  ])('warns of a }} that closes no {{: %s', (_name, key, at, example) => {
    const line = `  t: { version: 1.0.0, http: { url: "http://h" }, consumes: [x.v1], emits: [y.v1], ${key} }`;
    const result = compileLines(mesh(line));
    expect(result.ok).toBe(true);
    expect(result.warnings?.map((w) => [w.code, w.line, w.col])).toContainEqual([
      'MW_POLICY_MAPPING_BRACES',
      5,
      col(line, '}}', line.indexOf(at)),
    ]);
    // The example site reads a name that side has.
    expect(result.warnings?.find((w) => w.code === 'MW_POLICY_MAPPING_BRACES')?.message).toContain(
      `like '{{ ${example} }}'`,
    );
  });

  it.each([
    ['an object constructor', `request: '{{ {"a": {"b": data}} }}'`],
    ['a }} inside a JSONata string', `request: { q: '{{ "}}" & data }}' }`],
    ['no braces', 'request: { q: plain }'],
  ])('no brace warning for %s', (_name, key) => {
    const line = `  t: { version: 1.0.0, http: { url: "http://h" }, consumes: [x.v1], emits: [y.v1], ${key} }`;
    const result = compileLines(mesh(line));
    expect(result.ok && result.warnings.map((w) => w.code)).toEqual([]);
  });

  it('points into a block-style plain scalar', () => {
    const lines = mesh(
      '  t:',
      '    version: 1.0.0',
      '    http: { url: "http://h" }',
      '    consumes: [x.v1]',
      '    request:',
      '      question: x {{ $now() }}',
    );
    expect(issuesOf(lines)).toEqual([['MW_POLICY_MAPPING', 10, col(lines[9]!, '$now')]]);
  });

  it.each<[string, string, string]>([
    ['a syntax error', "request: { q: '{{ data.text ) }}' }", ')'],
    ['a banned function', "request: '{{ $random() }}'", '$random'],
    ['an unknown request field', "request: { q: '{{ dta }}' }", 'dta'],
    ['an unknown name in when', "reply: { when: '{{ jsn }}', type: y.v1, data: 1 }", 'jsn'],
    ['an unknown name in subject', "reply: [{ subject: '{{ txt }}', type: y.v1, data: 1 }]", 'txt'],
    ['$ before a root name', "reply: { type: y.v1, data: '{{ $json.x }}' }", '$json'],
    ['a misspelt function', "request: { n: '{{ $nubmer(data) }}' }", '$nubmer'],
  ])('%s', (_name, key, at) => {
    const line = `  t: { version: 1.0.0, http: { url: "http://h" }, consumes: [x.v1], emits: [y.v1], ${key} }`;
    expect(issuesOf(mesh(line))).toEqual([['MW_POLICY_MAPPING', 5, col(line, at, line.indexOf('{{'))]]);
  });
});

describe('reply data against the contract of its type', () => {
  const contract = JSON.stringify({
    type: 'object',
    additionalProperties: false,
    required: ['label', 'score'],
    properties: {
      label: { enum: ['billing', 'bug'] },
      score: { type: 'number' },
      reason: { type: 'string' },
    },
  });
  const agent = (data: string) =>
    `  t: { version: 1.0.0, http: { url: "http://h" }, consumes: [x.v1], emits: [y.v1], reply: { type: y.v1, data: ${data} } }`;

  it.each<[string, string, string | undefined, 'key' | 'value']>([
    ['a literal that does not validate', "{ label: nope, score: '{{ json.s }}' }", 'nope', 'value'],
    [
      'a key the contract forbids',
      "{ label: '{{ json.l }}', score: 1, extra: '{{ json.e }}' }",
      'extra',
      'key',
    ],
    ['a required key not written', "{ label: '{{ json.l }}' }", 'data', 'key'],
  ])('refuses %s', (_name, data, at) => {
    const line = agent(data);
    expect(issuesOf(mesh(line), { 'y.v1': contract })).toEqual([
      ['MW_POLICY_REPLY_CONTRACT', 5, col(line, at!)],
    ]);
  });

  it.each([
    ['templates only', "{ label: '{{ json.l }}', score: '{{ json.s }}' }"],
    ['a literal that fits', "{ label: bug, score: '{{ json.s }}', reason: '{{ text }}' }"],
    ['a whole-data template', "'{{ json }}'"],
  ])('accepts %s', (_name, data) => {
    expect(issuesOf(mesh(agent(data)), { 'y.v1': contract })).toEqual([]);
  });
});

describe('defaults of flowise and http agents', () => {
  const policy = policyOf(
    mesh(
      '  f: { version: 1.0.0, flowise: { url: "http://f", flow: x }, consumes: [x.v1], emits: [y.v1] }',
      '  h: { version: 1.0.0, http: { url: "http://h" }, consumes: [x.v1] }',
    ),
  );
  const f = policy.agents.get('f')!;
  const h = policy.agents.get('h')!;

  it.each([
    ['a string as it is', 'hello', 'hello'],
    ['anything else as its JSON text', { text: 'hi' }, '{"text":"hi"}'],
  ])('flowise asks %s', async (_name, data, question) => {
    const m = compileMapping(requestOf(f), REQUEST_NAMES);
    if ('issues' in m) throw new Error('default request does not compile');
    expect(await m.evaluate({ data })).toEqual({ ok: true, value: { question } });
  });

  it('http sends the data, and the replies follow emits', () => {
    expect(requestOf(h)).toBe('{{ data }}');
    expect(repliesOfAgent(f)).toEqual([{ at: '/reply', type: 'y.v1', data: '{{ json }}' }]);
    expect(repliesOfAgent(h)).toEqual([]);
  });
});
