import { fileURLToPath } from 'node:url';

/** The package's root folder (it holds examples/ and templates/), from dist/cli/ or src/cli/. */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));
