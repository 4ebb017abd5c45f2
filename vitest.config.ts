import { fileURLToPath } from 'node:url';
import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // Agent modules in examples/ import 'meshwarden'; inside the repo that is the source tree.
    alias: { meshwarden: fileURLToPath(new URL('./src/index.ts', import.meta.url)) },
  },
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Needs a real Flowise server: `npm run test:flowise` (vitest.flowise.config.ts) runs it.
    exclude: [...configDefaults.exclude, 'test/flowise-real/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
