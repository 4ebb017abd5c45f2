// The model-free test flows scripts/flowise-peer.sh creates in a real Flowise, as the body of
// `POST /api/v1/chatflows`. Usage: node scripts/flowise-flows.mjs <echo|json|fail|keyed>
// They are Agentflow V2 graphs written the way Flowise 3.1.4's UI saves them (the server reads
// `inputs`; `inputParams` and the anchors only have to be present). No node calls a model.
//   echo, keyed: Start -> Direct Reply "echo: {{ question }}" (keyed gets an API key afterwards).
//   json: Start -> Custom Function returning an object; Flowise answers it as pretty JSON in `text`.
//   fail: Start -> Custom Function that throws; Flowise answers 500 with the error in `message`.

const start = (id) => ({
  id,
  type: 'agentFlow',
  position: { x: 0, y: 0 },
  data: {
    id,
    label: 'Start',
    version: 1.1,
    name: 'startAgentflow',
    type: 'Start',
    category: 'Agent Flows',
    baseClasses: ['Start'],
    hideInput: true,
    inputParams: [
      {
        label: 'Input Type',
        name: 'startInputType',
        type: 'options',
        default: 'chatInput',
        id: `${id}-input-startInputType-options`,
        display: true,
        options: [
          { label: 'Chat Input', name: 'chatInput' },
          { label: 'Form Input', name: 'formInput' },
        ],
      },
      {
        label: 'Ephemeral Memory',
        name: 'startEphemeralMemory',
        type: 'boolean',
        optional: true,
        id: `${id}-input-startEphemeralMemory-boolean`,
        display: true,
      },
      {
        label: 'Flow State',
        name: 'startState',
        type: 'array',
        optional: true,
        id: `${id}-input-startState-array`,
        display: true,
        array: [
          { label: 'Key', name: 'key', type: 'string' },
          { label: 'Value', name: 'value', type: 'string' },
        ],
      },
      {
        label: 'Persist State',
        name: 'startPersistState',
        type: 'boolean',
        optional: true,
        id: `${id}-input-startPersistState-boolean`,
        display: true,
      },
    ],
    inputAnchors: [],
    inputs: {
      startInputType: 'chatInput',
      formTitle: '',
      formDescription: '',
      formInputTypes: '',
      startState: '',
    },
    outputAnchors: [{ id: `${id}-output-startAgentflow`, label: 'Start', name: 'startAgentflow' }],
    outputs: {},
  },
});

const directReply = (id, message) => ({
  id,
  type: 'agentFlow',
  position: { x: 300, y: 0 },
  data: {
    id,
    label: 'Direct Reply',
    version: 1,
    name: 'directReplyAgentflow',
    type: 'DirectReply',
    category: 'Agent Flows',
    baseClasses: ['DirectReply'],
    hideOutput: true,
    inputParams: [
      {
        label: 'Message',
        name: 'directReplyMessage',
        type: 'string',
        rows: 4,
        acceptVariable: true,
        id: `${id}-input-directReplyMessage-string`,
        display: true,
      },
    ],
    inputAnchors: [],
    inputs: { directReplyMessage: message },
    outputAnchors: [],
    outputs: {},
  },
});

const customFunction = (id, code) => ({
  id,
  type: 'agentFlow',
  position: { x: 300, y: 0 },
  data: {
    id,
    label: 'Custom Function',
    version: 1.1,
    name: 'customFunctionAgentflow',
    type: 'CustomFunction',
    category: 'Agent Flows',
    baseClasses: ['CustomFunction'],
    inputParams: [
      {
        label: 'Input Variables',
        name: 'customFunctionInputVariables',
        type: 'array',
        optional: true,
        acceptVariable: true,
        id: `${id}-input-customFunctionInputVariables-array`,
        display: true,
        array: [
          { label: 'Variable Name', name: 'variableName', type: 'string' },
          { label: 'Variable Value', name: 'variableValue', type: 'string', acceptVariable: true },
        ],
      },
      {
        label: 'Javascript Function',
        name: 'customFunctionJavascriptFunction',
        type: 'code',
        id: `${id}-input-customFunctionJavascriptFunction-code`,
        display: true,
      },
      {
        label: 'Update Flow State',
        name: 'customFunctionUpdateState',
        type: 'array',
        optional: true,
        acceptVariable: true,
        id: `${id}-input-customFunctionUpdateState-array`,
        display: true,
        array: [
          { label: 'Key', name: 'key', type: 'asyncOptions', loadMethod: 'listRuntimeStateKeys' },
          { label: 'Value', name: 'value', type: 'string', acceptVariable: true },
        ],
      },
    ],
    inputAnchors: [],
    inputs: {
      customFunctionInputVariables: '',
      customFunctionJavascriptFunction: code,
      customFunctionUpdateState: '',
    },
    outputAnchors: [
      {
        id: `${id}-output-customFunctionAgentflow`,
        label: 'Custom Function',
        name: 'customFunctionAgentflow',
      },
    ],
    outputs: {},
  },
});

const edge = (source, target) => ({
  source,
  sourceHandle: `${source}-output-${source.replace(/_\d+$/, '')}`,
  target,
  targetHandle: target,
  type: 'agentFlow',
  id: `${source}-${target}`,
  data: {},
});

const afterStart = (node) => ({
  nodes: [start('startAgentflow_0'), node],
  edges: [edge('startAgentflow_0', node.id)],
});

const graphs = {
  echo: () => afterStart(directReply('directReplyAgentflow_0', 'echo: {{ question }}')),
  keyed: () => afterStart(directReply('directReplyAgentflow_0', 'echo: {{ question }}')),
  json: () =>
    afterStart(
      customFunction(
        'customFunctionAgentflow_0',
        "return { label: 'bug', question: $flow.input, sessionId: $flow.sessionId, chatId: $flow.chatId };",
      ),
    ),
  fail: () => afterStart(customFunction('customFunctionAgentflow_0', "throw new Error('boom from flow');")),
};

const which = process.argv[2] ?? '';
const graph = graphs[which];
if (graph === undefined) {
  process.stderr.write(`usage: flowise-flows.mjs <${Object.keys(graphs).join('|')}>\n`);
  process.exit(2);
}
process.stdout.write(
  JSON.stringify({
    name: `meshwarden-${which}`,
    type: 'AGENTFLOW',
    deployed: true,
    flowData: JSON.stringify(graph()),
  }),
);
