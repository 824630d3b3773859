import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

// Workspace packages export `@spine/source` -> src/index.ts (a name no third-party package uses), so tests run against the
// TypeScript sources while `node` and `tsc` use the built dist/.
const conditions = ['@spine/source', 'import', 'module', 'node', 'default'];

/**
 * The slowest files, longest first (each timed alone with `npx vitest run FILE`, December 2026). They
 * start first, so the workers finish together instead of one running a long file started last. A
 * fresh clone has no vitest results cache, so without this list the order is by file size, which
 * knows nothing of spawned processes or browsers. A new suite that takes over ~20 s belongs here.
 */
const SLOW_FILES = [
  'test/crash.test.ts',
  'packages/cli/src/benchPostgres.test.ts',
  'test/failover.test.ts',
  'test/postgres-restart.test.ts',
  'test/fencing.test.ts',
  'test/e2e/approvals.test.ts',
  'test/e2e/operator.test.ts',
  'test/pipeline-crash.test.ts',
  'test/conformance/xstate.postgres.conformance.test.ts',
  'test/conformance/scxml.postgres.conformance.test.ts',
  'test/e2e/studio.test.ts',
  'test/e2e/editor-bench.test.ts',
  'test/conformance/scxml.conformance.test.ts',
  'test/crash-group-commit.test.ts',
  'packages/runtime/src/durability.test.ts',
  'test/fuzz.test.ts',
  'test/e2e/editor.test.ts',
  'test/e2e/security.test.ts',
  'packages/cli/src/commands/pagedReads.test.ts',
];

/** Vitest's order (failed, then longest by its cache, else largest), with SLOW_FILES moved to the front. */
class SlowFilesFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (spec: TestSpecification) => {
      const at = SLOW_FILES.findIndex((file) => spec.moduleId.endsWith(`/${file}`));
      return at < 0 ? SLOW_FILES.length : at;
    };
    return sorted.map((spec, at) => ({ spec, at, rank: rank(spec) })).sort((a, b) => a.rank - b.rank || a.at - b.at).map(({ spec }) => spec);
  }
}

export default defineConfig({
  resolve: { conditions },
  // Node gets these as --conditions too, so no 'import' here: it would make a CommonJS package's own
  // require() pick the ESM build of its dependency (pg requiring pg-pool). Vite adds import/require per request.
  ssr: { resolve: { conditions: ['@spine/source', 'node'], externalConditions: ['@spine/source'] } },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'apps/*/src/**/*.test.ts', 'test/**/*.test.ts', 'machines/**/*.test.ts', 'examples/http-service/src/**/*.test.ts'],
    // Generous: with two files at once on two cores, a test that spawns several `spine` processes can
    // take twice as long as alone (a hung test still fails, a minute later).
    testTimeout: 60_000,
    hookTimeout: 90_000,
    pool: 'forks',
    // Vitest's default is one worker per core less one: a single worker on a 2-core CI machine, where
    // most files wait on spawned `spine` processes, servers, PostgreSQL or Chromium rather than compute.
    // At least two files run at once; `--maxWorkers` or VITEST_MAX_WORKERS overrides it.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    sequence: { sequencer: SlowFilesFirst },
    // A PostgreSQL server for the PostgreSQL store's tests (SPINE_TEST_PG_URL, or a private cluster started here).
    globalSetup: ['test/support/postgresGlobalSetup.ts'],
  },
});
