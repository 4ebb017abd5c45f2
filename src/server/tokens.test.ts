import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isMeshwardenError } from '../runtime/index.js';
import { allows, openTokenStore, type PilotRole, type Role, type TokenStore } from './tokens.js';

const fileIn = () => join(mkdtempSync(join(tmpdir(), 'meshwarden-tokens-')), 'tokens.json');

async function open(file: string): Promise<TokenStore> {
  const store = await openTokenStore(file);
  if (isMeshwardenError(store)) throw store;
  return store;
}

describe('token store', () => {
  it('keeps only hashes, in a file only its owner reads, across reopening', async () => {
    const file = fileIn();
    const store = await open(file);
    const created = await store.create('ana', 'pilot');
    if (isMeshwardenError(created)) throw created;
    expect(created.token).toMatch(/^mw_[A-Za-z0-9_-]{32}$/);
    expect(readFileSync(file, 'utf8')).not.toContain(created.token);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const reopened = await open(file);
    expect(reopened.verify(created.token)).toMatchObject({ name: 'ana', role: 'pilot' });
    expect(reopened.verify(`${created.token}x`)).toBeUndefined();
  });

  it('refuses a second token of the same name and forgets a removed one', async () => {
    const store = await open(fileIn());
    const first = await store.create('ops', 'viewer');
    if (isMeshwardenError(first)) throw first;
    const again = await store.create('ops', 'admin');
    expect(isMeshwardenError(again) && again.code).toBe('MW_API_TOKEN_EXISTS');
    expect(await store.remove('ops')).toBe(true);
    const gone = await store.remove('ops');
    expect(isMeshwardenError(gone) && gone.code).toBe('MW_API_NOT_FOUND');
    expect(store.verify(first.token)).toBeUndefined();
  });

  it('reports a damaged file with its path instead of starting without tokens', async () => {
    const file = fileIn();
    writeFileSync(file, '{ not json');
    const store = await openTokenStore(file);
    expect(isMeshwardenError(store) && store.code).toBe('MW_API_TOKENS_FILE');
  });

  it.each([
    ['viewer', 'viewer', true],
    ['viewer', 'pilot', false],
    ['pilot', 'viewer', true],
    ['pilot', 'admin', false],
    ['admin', 'pilot', true],
  ] as [Role, PilotRole, boolean][])('role %s may do what %s may: %s', (role, needed, expected) => {
    expect(allows(role, needed)).toBe(expected);
  });

  it('lets a partner call only the routes open to partners, whatever role they need', () => {
    expect(allows('partner', 'viewer')).toBe(false);
    expect(allows('partner', 'pilot', true)).toBe(true);
    expect(allows('viewer', 'pilot', true)).toBe(false);
  });

  it('keeps every one of many concurrent writes, and never revokes the last admin', async () => {
    const file = fileIn();
    const store = await open(file);
    const created = await Promise.all(Array.from({ length: 10 }, (_, i) => store.create(`t${i}`, 'viewer')));
    expect(created.every((c) => !isMeshwardenError(c))).toBe(true);
    expect((await open(file)).list()).toHaveLength(10);
    await store.create('root', 'admin');
    const last = await store.remove('root');
    expect(isMeshwardenError(last) && last.code).toBe('MW_API_LAST_ADMIN');
  });
});
