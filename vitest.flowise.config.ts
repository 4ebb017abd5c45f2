import { defineConfig } from 'vitest/config';

/**
 * `npm run test:flowise`: the `flowise:` transport against a real Flowise server, which
 * test/flowise-real/global-setup.ts finds (FLOWISE_ENV) or starts (scripts/flowise-peer.sh). Not
 * part of `npm test` (vitest.config.ts leaves test/flowise-real/ out): the server is a 3 GB install
 * that takes minutes, and Flowise 3 runs on Node 24 only.
 */
export default defineConfig({
  test: {
    include: ['test/flowise-real/**/*.test.ts'],
    globalSetup: ['test/flowise-real/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
