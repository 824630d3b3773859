import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';

/** The test server's URL (see postgresGlobalSetup.ts). */
export function postgresUrl(): string {
  const url = inject('spinePostgresUrl');
  if (!url) throw new Error('No PostgreSQL server for the tests: run them through vitest (its globalSetup starts one) or set SPINE_TEST_PG_URL.');
  return url;
}

/**
 * A URL naming a new, empty schema on the test server: each test (or test file) gets
 * its own, so tests never see each other's rows. Schemas are cheap; the cluster is
 * removed at the end of the run (on a server of your own, drop `spine_t_*` schemas).
 */
export function freshPostgresUrl(label = 't'): string {
  const url = new URL(postgresUrl());
  url.searchParams.set('schema', `spine_${label.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${randomBytes(5).toString('hex')}`);
  return url.toString();
}

/** A connection to the test server, on the schema named in `url` (if any). For assertions only; the caller ends it. */
export async function postgresClient(url: string): Promise<pg.Client> {
  const parsed = new URL(url);
  const schema = parsed.searchParams.get('schema');
  parsed.searchParams.delete('schema');
  const client = new pg.Client({ connectionString: parsed.toString(), options: schema ? `-c search_path=${schema}` : undefined });
  await client.connect();
  return client;
}

/** Runs SQL on the test server (the schema named in `url`, if any). For assertions only. */
export async function withPostgres<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = await postgresClient(url);
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
