import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { errorText } from '../envelope/index.js';
import { createChecker } from './check.js';
import { compilePolicy } from './compile.js';
import { policyMessage } from './errors.js';
import { contractFiles, moduleFiles } from './files.js';
import { type PolicyIssue, type PolicyLoadResult, sortIssues } from './issues.js';
import { readPolicyFile } from './policy-file.js';
import { parseMesh, withoutBom } from './source.js';
import { readToolSchemas, type ToolSchemaReader } from './tool-schemas.js';

export type LoadPolicyOptions = {
  /**
   * Reads an MCP tool's input schema from its server: the contract of an MCP effect that has no
   * contract file (a file, when there is one, wins and the server is not contacted). Without it,
   * such an effect has no contract (MW_POLICY_MISSING_CONTRACT).
   */
  readonly readToolSchema?: ToolSchemaReader;
};

/**
 * Loads a mesh file: reads it, its contract files (and, for MCP effects without one, their tools'
 * input schemas) and checks its module files exist (the I/O edge), then compiles (pure). Issues
 * name files as given: `file` relative stays relative.
 */
export async function loadPolicy(file: string, opts: LoadPolicyOptions = {}): Promise<PolicyLoadResult> {
  const path = resolve(file);
  let text: string;
  try {
    const read = await readPolicyFile(path);
    if ('problem' in read) {
      const message = policyMessage('MW_POLICY_READ', { reason: `${file} ${read.problem}` });
      return { ok: false, issues: [{ code: 'MW_POLICY_READ', file, line: 1, col: 1, pointer: '', message }] };
    }
    text = read.text;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    const reason = code === 'ENOENT' ? `${file} does not exist` : errorText(err);
    const message = policyMessage('MW_POLICY_READ', { reason });
    return { ok: false, issues: [{ code: 'MW_POLICY_READ', file, line: 1, col: 1, pointer: '', message }] };
  }
  return loadPolicyText(file, path, text, opts);
}

/**
 * Loads a mesh file's text that is not read from `path` (a candidate policy sent over the API): its
 * relative contract and module paths resolve from `path`'s folder, and its issues name `file`.
 */
export async function loadPolicyText(
  file: string,
  path: string,
  text: string,
  opts: LoadPolicyOptions = {},
): Promise<PolicyLoadResult> {
  const mesh = parseMesh({ file, path, text });
  if (mesh.issues.length > 0) return { ok: false, issues: mesh.issues };
  const texts = new Map<string, string>();
  // Why a contract file that is there could not be read (a directory, no permission).
  const unread = new Map<string, string>();
  await Promise.all(
    contractFiles(mesh).map(async ({ type, absolute }) => {
      try {
        const read = await readPolicyFile(absolute);
        if ('problem' in read) unread.set(type, read.problem);
        else texts.set(type, withoutBom(read.text));
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        if (code === 'EISDIR') unread.set(type, 'is a directory, not a file');
        else if (code !== 'ENOENT') unread.set(type, `cannot be read: ${errorText(err)}`);
      }
    }),
  );
  const tools =
    opts.readToolSchema === undefined ? new Map() : await readToolSchemas(mesh, texts, opts.readToolSchema);
  const result = compilePolicy(mesh, texts, tools, unread);
  const missing = await missingModules(mesh);
  if (missing.length === 0) return result;
  const issues = result.ok ? missing : [...result.issues, ...missing];
  return { ok: false, issues: sortIssues(issues, file), warnings: result.warnings ?? [] };
}

async function missingModules(mesh: ReturnType<typeof parseMesh>): Promise<PolicyIssue[]> {
  const check = createChecker(mesh);
  for (const m of moduleFiles(mesh)) {
    const found = await stat(m.absolute).then(
      (s) => s.isFile(),
      () => false,
    );
    if (!found)
      check.report('MW_POLICY_MISSING_MODULE', { who: m.who, module: m.file, absolute: m.absolute }, m.at);
  }
  return check.issues;
}
