import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generateOpenApi } from '../scripts/openapi.ts';

describe('docs/openapi.json', () => {
  it('is the document the server generates from its route schemas (run `npm run openapi` to refresh it)', async () => {
    const committed = readFileSync(new URL('../docs/openapi.json', import.meta.url), 'utf8');
    expect(await generateOpenApi()).toBe(committed);
  });
});
