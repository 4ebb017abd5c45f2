/**
 * The oldest Node.js the CLI runs on: `node:sqlite` without a flag (22.13) and TypeScript agent
 * modules loaded without a flag (22.18). package.json's `engines` says the same.
 */
export const OLDEST_NODE = '22.18.0';

/** True when `version` (`process.versions.node`, such as `20.20.2`) is older than OLDEST_NODE. */
export function nodeTooOld(version: string): boolean {
  const have = version.replace(/^v/, '').split('.').map(Number);
  const need = OLDEST_NODE.split('.').map(Number);
  for (let i = 0; i < need.length; i++) {
    const a = have[i] ?? 0;
    const b = need[i] ?? 0;
    if (Number.isNaN(a)) return true;
    if (a !== b) return a < b;
  }
  return false;
}

/** What to tell someone who ran the CLI on an older Node: what works, without a registry install. */
export function oldNodeAdvice(version: string): string {
  return [
    `meshwarden needs Node.js ${OLDEST_NODE} or newer; this is Node.js ${version.replace(/^v/, '')}.`,
    'Install Node.js 24 LTS (https://nodejs.org/en/download, or `nvm install 24`), or run this copy',
    'on Node 24 without installing it: npx --yes -p node@24 -- meshwarden <command>',
  ].join(' ');
}
