import { defineConfig } from 'vitest/config';

// Workspace packages export `@spine/source` -> src/index.ts (a name no third-party package uses), so tests run against the
// TypeScript sources while `node` and `tsc` use the built dist/.
const conditions = ['@spine/source', 'import', 'module', 'node', 'default'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['@spine/source'] } },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'apps/*/src/**/*.test.ts', 'test/**/*.test.ts', 'machines/**/*.test.ts', 'examples/http-service/src/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
