import type { TestProject } from 'vitest/node';
// @ts-expect-error a plain ESM script without types (also run by hand: node scripts/postgres-cluster.mjs)
import { startPostgres } from '../../scripts/postgres-cluster.mjs';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A PostgreSQL server for the tests: `SPINE_TEST_PG_URL`, or the private cluster started here. */
    spinePostgresUrl: string;
  }
}

/**
 * Vitest's global setup: provides a PostgreSQL server to every test file. With
 * `SPINE_TEST_PG_URL` set it uses that server; otherwise it starts a private cluster
 * (scripts/postgres-cluster.mjs) and removes it at the end. PostgreSQL tests are
 * never skipped: without PostgreSQL installed the run fails here, saying how to get it.
 */
export default async function setup(project: TestProject): Promise<(() => Promise<void>) | void> {
  const given = process.env.SPINE_TEST_PG_URL;
  if (given) {
    project.provide('spinePostgresUrl', given);
    return;
  }
  const cluster = (await startPostgres()) as { url: string; stop(): Promise<void> };
  project.provide('spinePostgresUrl', cluster.url);
  return () => cluster.stop();
}
