import { existsSync } from 'node:fs';
import type { Store } from '@spine/runtime/store';
import { CliError, EXIT } from './CliError.js';

/** Whether `--db` names a PostgreSQL database (postgres://… or postgresql://…) rather than an SQLite file. */
export function isPostgresUrl(db: string): boolean {
  return /^postgres(ql)?:\/\//i.test(db);
}

/**
 * Opens the database `--db` names: an SQLite file, or a PostgreSQL URL
 * (`postgres://user:pass@host:port/db`, optionally `?schema=NAME`). A refusal
 * (foreign or corrupt database, newer schema) becomes a one-line CLI error.
 */
export async function openStore(db: string, options: { mustExist?: boolean; readonly?: boolean } = {}): Promise<Store> {
  const postgres = isPostgresUrl(db);
  if (!postgres && options.mustExist && !existsSync(db)) throw new CliError(`no Spine database at '${db}' (set it with --db FILE or SPINE_DB)`);
  try {
    if (postgres) {
      // Loaded only when asked for: SQLite users never load the PostgreSQL driver.
      const { PostgresStore } = await import('@spine/store-postgres');
      return await PostgresStore.open(db, { readonly: Boolean(options.readonly), mustExist: Boolean(options.mustExist) });
    }
    // Loaded when a database is opened, not with the command: `--help` and bad arguments load no store.
    const { SqliteStore } = await import('@spine/store-sqlite');
    return await SqliteStore.open(db, { readonly: Boolean(options.readonly) });
  } catch (error) {
    const { SpineError } = await import('@spine/runtime/store'); // loaded with the store: `--help` and bad arguments load neither
    // A disk that is full, read-only, corrupt or failing is no usage error: exit 1 with the store's one line.
    if (error instanceof SpineError) throw new CliError(error.message, error.code.startsWith('storage_') ? EXIT.failed : EXIT.usage);
    throw error;
  }
}

/**
 * The secret that signs decisions for a database: `SPINE_SECRET`, else (SQLite) the
 * `<db>.secret` file, created 0600 the first time. A PostgreSQL database is shared by
 * hosts on many machines, so its secret is configuration: `SPINE_SECRET` is required.
 */
export async function signingSecretFor(db: string): Promise<string> {
  if (!isPostgresUrl(db)) return (await import('@spine/runtime/store')).ensureSecret(db);
  const secret = process.env.SPINE_SECRET;
  if (!secret) throw new CliError('set SPINE_SECRET to sign decisions on a PostgreSQL database (every host and person deciding must share it; a local secret file would differ per machine)', EXIT.usage);
  return secret;
}

/**
 * The SQLite file that keeps eval sessions for a database: the database itself when it is
 * SQLite, else `.spine/evals.db` beside the working directory (eval sessions stay local).
 */
export function evalsFileFor(db: string): string {
  return isPostgresUrl(db) ? '.spine/evals.db' : db;
}
