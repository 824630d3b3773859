import type Database from 'better-sqlite3';
import { closeSync, openSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import { SpineError } from '@spine/runtime/store';
import { settlePendingAnchor } from './auditAnchor.js';
import { APPLICATION, migrations } from './migrations.js';
import { toStorageError } from './storageErrors.js';

// Opening a database file: what it must be before SQLite touches it, and its migrations.

const SQLITE_MAGIC = 'SQLite format 3\u0000';

let addon: string | null | undefined;

/**
 * The file of better-sqlite3's compiled addon where npm builds it, for `new Database`'s
 * `nativeBinding`: it spares every process start the `bindings` package's search (a stack trace and
 * a dozen candidate paths). Undefined when it is elsewhere; better-sqlite3 then searches as usual.
 */
export function sqliteAddon(): string | undefined {
  if (addon === undefined) {
    try {
      addon = createRequire(import.meta.url).resolve('better-sqlite3/build/Release/better_sqlite3.node');
    } catch {
      addon = null;
    }
  }
  return addon ?? undefined;
}

/**
 * Refuses a database URL (`postgres://…`), or what is left of one whose address was empty
 * (`?schema=x`), where an SQLite file path belongs: opening it would create a stray file named
 * after the URL (and a `.secret` beside it) instead of reaching the server.
 */
export function refuseUrlPath(path: string): void {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(path) || /(^|[\\/])\?[^\\/]*=/.test(path)) {
    throw new SpineError('store_refused', `'${path.replace(/:[^:@/]*@/, ':***@')}' is a database URL (or the query of one), not an SQLite file path; pass a postgres://user@host:port/db URL to PostgresStore (spine picks the store from --db), or name a file.`);
  }
}

/** Refuses a file that is not SQLite at all, before SQLite touches it. */
export function inspectFile(path: string): void {
  const fd = openSync(path, 'r');
  try {
    const header = Buffer.alloc(16);
    const read = readSync(fd, header, 0, 16, 0);
    if (read < 16 || header.toString('latin1') !== SQLITE_MAGIC) {
      throw new SpineError('store_refused', `'${path}' is not a Spine database (not an SQLite file); refusing to open it. Point --db at a new path or an existing Spine database.`);
    }
  } finally {
    closeSync(fd);
  }
}

/** Refuses an SQLite file that is corrupt, belongs to another application, or is from a newer Spine. */
export function checkSpineDatabase(db: Database.Database, path: string): void {
  let tables: string[];
  try {
    tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((t) => t.name);
  } catch (error) {
    const classified = toStorageError(error, path);
    if (classified !== error) throw classified; // full, read-only, corrupt, busy or I/O, said as such
    throw new SpineError('store_refused', `'${path}' is unreadable: ${(error as Error).message}. Refusing to open it.`, { cause: error });
  }
  if (!tables.length) return; // an empty SQLite file: safe to initialise
  if (!tables.includes('spine_meta')) {
    const shown = tables.slice(0, 5).join(', ') + (tables.length > 5 ? ', …' : '');
    throw new SpineError('store_refused', `'${path}' is an SQLite database of another application (tables: ${shown}), not a Spine database; refusing to open it.`);
  }
  const meta = Object.fromEntries((db.prepare('SELECT key, value FROM spine_meta').all() as { key: string; value: string }[]).map((r) => [r.key, r.value]));
  if (meta.application !== APPLICATION) {
    throw new SpineError('store_refused', `'${path}' has a spine_meta table but no Spine application id; refusing to open it.`);
  }
  const version = Number(meta.schema_version);
  if (!Number.isInteger(version) || version < 1) {
    throw new SpineError('store_refused', `'${path}' has an invalid Spine schema version '${meta.schema_version}'; refusing to open it.`);
  }
  if (version > migrations.length) {
    throw new SpineError('store_refused', `'${path}' was written by a newer Spine (schema ${version}; this one knows up to ${migrations.length}). Upgrade Spine.`);
  }
  // No full integrity check here: it reads the whole file, so opening would cost O(size).
  // A damaged page surfaces as SQLITE_CORRUPT on the read that touches it.
}

export function migrate(db: Database.Database, secret: () => string | undefined): void {
  db.transaction(() => {
    const hasMeta = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'spine_meta'").get();
    let version = 0;
    if (hasMeta) {
      const row = db.prepare("SELECT value FROM spine_meta WHERE key = 'schema_version'").get() as { value: string } | undefined;
      version = Number(row?.value ?? 0);
    }
    for (let next = version; next < migrations.length; next++) {
      const migration = migrations[next]!;
      if (typeof migration === 'string') db.exec(migration);
      else migration(db);
    }
    db.prepare("INSERT INTO spine_meta (key, value) VALUES ('application', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").run(APPLICATION);
    db.prepare("INSERT INTO spine_meta (key, value) VALUES ('schema_version', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").run(String(migrations.length));
    settlePendingAnchor(db, secret);
  }).immediate();
}
