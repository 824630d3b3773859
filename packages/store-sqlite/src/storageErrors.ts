import { accessSync, constants, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type Database from 'better-sqlite3';
import { latchStorageErrors, SpineError, STORAGE_FAILURE_CODES as CODES, type StorageFailureKind } from '@spine/runtime/store';
export { foundCorrupt } from '@spine/runtime/store';

/** What kind of storage failure an error is. */
export type StorageFailure = StorageFailureKind;

/**
 * Classifies an error thrown by SQLite (better-sqlite3's `SqliteError.code`) or
 * by the file system (`errno` codes) as a storage failure, or undefined when it
 * is something else (a constraint, a bug, a refusal).
 */
export function classifyStorageError(error: unknown): StorageFailure | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return undefined;
  if (code === 'SQLITE_FULL' || code === 'ENOSPC' || code === 'EFBIG' || code === 'EDQUOT') return 'full';
  if (code.startsWith('SQLITE_READONLY') || code === 'EROFS' || code === 'SQLITE_PERM' || code === 'EACCES' || code === 'EPERM') return 'read_only';
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') return 'corrupt';
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) return 'busy';
  if (code.startsWith('SQLITE_IOERR') || code.startsWith('SQLITE_CANTOPEN') || code === 'EIO') return 'io';
  return undefined;
}

/** The SpineError for a storage failure: one line that says what happened to which file and what to do. */
export function storageError(kind: StorageFailure, path: string, cause: unknown): SpineError {
  const raw = (cause as Error | null)?.message ?? String(cause);
  const where = path === ':memory:' ? 'the in-memory database' : `'${path}'`;
  const message = {
    full: `The disk holding ${where} is full (${raw}). The step being written was rolled back; free some space, then run \`spine resume\`.`,
    read_only: `${where} cannot be written: the file or its directory is read-only (${raw}). Make both writable; commands that only read (runs, show, audit) still work.`,
    corrupt: `${where} is corrupt (${raw}). Spine will not write to it any more; restore it from a backup, or salvage it with \`sqlite3 ${path} .recover\`.`,
    busy: `${where} stayed locked by another process past the busy timeout (${raw}); try again, or stop the other process.`,
    io: `Reading or writing ${where} failed with an I/O error (${raw}); check the disk, then run \`spine resume\`.`,
  }[kind];
  return new SpineError(CODES[kind], message, { cause });
}

/** The classified SpineError for an error, or the error itself when it is no storage failure. */
export function toStorageError(error: unknown, path: string): unknown {
  if (SpineError.is(error)) return error;
  let kind = classifyStorageError(error);
  // SQLite says only "unable to open database file" when it cannot create the WAL or
  // shared-memory file beside the database: ask the file system whether that is because it is read-only.
  if (kind === 'io' && String((error as { code?: unknown }).code).startsWith('SQLITE_CANTOPEN') && !writable(path)) kind = 'read_only';
  return kind ? storageError(kind, path, error) : error;
}

function writable(path: string): boolean {
  if (path === ':memory:') return true;
  try {
    accessSync(dirname(path), constants.W_OK);
    accessSync(path, constants.W_OK);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return !(code === 'EROFS' || code === 'EACCES' || code === 'EPERM');
  }
}

/**
 * Files up to this size get a `quick_check` when opened after anything but a clean close: a few
 * milliseconds that catch a damaged page before anything is written (`SPINE_QUICK_CHECK_MAX_BYTES`
 * overrides it).
 */
export const QUICK_CHECK_MAX_BYTES = 64 * 1024 * 1024;

/**
 * Checks an existing database's pages at open where it is cheap (files up to
 * `QUICK_CHECK_MAX_BYTES`) and where it can have changed: unless the file is
 * exactly as a Spine store left it at its last clean close (see `markClosedCleanly`)
 * and no write-ahead log is left beside it. A crash, another process still
 * writing, a copy, or any write by someone else (a damaged page) changes that, so
 * the check runs; reopening a cleanly closed file costs nothing. A larger file is
 * checked lazily, by the first read that meets a damaged page (after which the
 * store refuses every call). Returns whether it checked.
 *
 * @throws SpineError `storage_corrupt` naming the first problem SQLite found.
 */
export function checkPagesAtOpen(db: Database.Database, path: string): boolean {
  const limit = Number(process.env.SPINE_QUICK_CHECK_MAX_BYTES || QUICK_CHECK_MAX_BYTES);
  if (path === ':memory:' || statSync(path).size > limit || closedCleanly(path)) return false;
  let result: string;
  try {
    result = String(db.pragma('quick_check(1)', { simple: true }));
  } catch (error) {
    throw toStorageError(error, path);
  }
  if (result !== 'ok') throw storageError('corrupt', path, new Error(`quick_check: ${result}`));
  return true;
}

/** The file beside a database that records how its last clean close left it. */
export const cleanCloseMarker = (path: string): string => `${path}.clean`;

/** Identity, size and change times of a file (nanoseconds): what any write to it changes. */
function fingerprint(path: string): string | undefined {
  try {
    const s = statSync(path, { bigint: true });
    return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
  } catch {
    return undefined;
  }
}

function walLeft(path: string): boolean {
  try {
    return statSync(`${path}-wal`).size > 0;
  } catch {
    return false;
  }
}

function closedCleanly(path: string): boolean {
  if (walLeft(path)) return false;
  const print = fingerprint(path);
  try {
    return print !== undefined && readFileSync(cleanCloseMarker(path), 'utf8') === print;
  } catch {
    return false;
  }
}

/**
 * Records, after the last connection closed cleanly (SQLite checkpointed and removed the
 * write-ahead log), how the file looks now, so the next open can skip the page check while
 * nothing has touched it. Does nothing while another connection keeps a log open.
 */
export function markClosedCleanly(path: string): void {
  if (path === ':memory:' || walLeft(path)) return;
  const print = fingerprint(path);
  if (!print) return;
  try {
    writeFileSync(cleanCloseMarker(path), print, { mode: 0o644 });
  } catch {
    // Without the marker the next open checks the pages: slower, never wrong.
  }
}

/** Forgets a clean close (a damaged page was found): the next open checks the pages again. */
function forgetCleanClose(path: string | undefined): void {
  if (!path || path === ':memory:') return;
  rmSync(cleanCloseMarker(path), { force: true });
}

/**
 * Makes every method of a store class report storage failures as classified
 * SpineErrors (`storage_full`, `storage_read_only`, `storage_corrupt`,
 * `storage_busy`, `storage_io`) instead of raw driver errors. After the first
 * corruption error an instance refuses every further call with that error, so
 * nothing more is written to a damaged file (and its close marks nothing clean). `close` is never refused.
 */
export function reportStorageErrors(store: { prototype: object }): void {
  latchStorageErrors(store as { prototype: { path?: string } }, {
    toStorageError: (self, error) => toStorageError(error, self.path ?? '(database)'),
    onCorrupt: (self) => forgetCleanClose(self.path),
  });
}
