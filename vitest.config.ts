import { defineConfig } from 'vitest/config';

// Workspace packages export `@spine/source` -> src/index.ts (a name no third-party package uses), so tests run against the
// TypeScript sources while `node` and `tsc` use the built dist/.
const conditions = ['@spine/source', 'import', 'module', 'node', 'default'];

export default defineConfig({
  resolve: { conditions },
  // Node gets these as --conditions too, so no 'import' here: it would make a CommonJS package's own
  // require() pick the ESM build of its dependency (pg requiring pg-pool). Vite adds import/require per request.
  ssr: { resolve: { conditions: ['@spine/source', 'node'], externalConditions: ['@spine/source'] } },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'apps/*/src/**/*.test.ts', 'test/**/*.test.ts', 'machines/**/*.test.ts', 'examples/http-service/src/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // A PostgreSQL server for the PostgreSQL store's tests (SPINE_TEST_PG_URL, or a private cluster started here).
    globalSetup: ['test/support/postgresGlobalSetup.ts'],
  },
});
