import { closeSync, existsSync, mkdtempSync, openSync, statSync, utimesSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { SqliteStore } from './SqliteStore.js';
import { checkPagesAtOpen, cleanCloseMarker } from './storageErrors.js';

const tempDbPath = () => join(mkdtempSync(join(tmpdir(), 'spine-open-check-')), 'spine.db');

/** A database with a few rows, closed cleanly by its store. */
async function closedStore(): Promise<string> {
  const path = tempDbPath();
  const store = await SqliteStore.open(path);
  await store.createActors([{ id: 'run-1', runId: 'run-1', parentId: null, childKey: null, machine: 'm', version: 'v1', owner: null }], []);
  await store.close();
  return path;
}

/** Runs the open check on a raw connection (these tests are about the file itself, so they open it with SQLite directly). */
function checks(path: string): boolean {
  const db = new Database(path);
  try {
    return checkPagesAtOpen(db, path);
  } finally {
    db.close();
  }
}

describe('the page check at open', () => {
  it('is skipped for a file exactly as a clean close left it, and runs again once anything touched it', async () => {
    const path = await closedStore();
    expect(existsSync(cleanCloseMarker(path))).toBe(true);
    expect(checks(path)).toBe(false);
    // A raw connection that only read changes nothing: still as the store left it.
    expect(checks(path)).toBe(false);
    const { atime, mtime } = statSync(path);
    utimesSync(path, atime, mtime); // same times given back, but the change time moves
    expect(checks(path)).toBe(true);
  });

  it('runs while a write-ahead log is left beside the file (a crash, or another process still writing)', async () => {
    const path = await closedStore();
    const other = await SqliteStore.open(path);
    try {
      await other.createActors([{ id: 'run-2', runId: 'run-2', parentId: null, childKey: null, machine: 'm', version: 'v1', owner: null }], []);
      expect(statSync(`${path}-wal`).size).toBeGreaterThan(0);
      expect(checks(path)).toBe(true);
    } finally {
      await other.close();
    }
    expect(checks(path)).toBe(false);
  });

  it('refuses a page damaged after a clean close, even when its writer restored the modification time', async () => {
    const path = await closedStore();
    const raw = new Database(path, { readonly: true });
    const { rootpage } = raw.prepare("SELECT rootpage FROM sqlite_master WHERE type = 'index' AND tbl_name = 'actors' AND name LIKE 'sqlite_autoindex%'").get() as { rootpage: number };
    const pageSize = raw.pragma('page_size', { simple: true }) as number;
    raw.close();
    const { atime, mtime } = statSync(path);
    const fd = openSync(path, 'r+');
    writeSync(fd, Buffer.alloc(pageSize, 0xa5), 0, pageSize, (rootpage - 1) * pageSize);
    closeSync(fd);
    utimesSync(path, atime, mtime);
    await expect(SqliteStore.open(path)).rejects.toMatchObject({ code: 'storage_corrupt' });
  });

  it('is left to writers: a read-only store opens a file with a damaged page it does not read, and lists runs from it', async () => {
    const path = await closedStore();
    // The root page of the audit log's run index: nothing `spine runs` reads goes through it.
    const raw = new Database(path, { readonly: true });
    const { rootpage } = raw.prepare("SELECT rootpage FROM sqlite_master WHERE name = 'audit_log_run'").get() as { rootpage: number };
    const pageSize = raw.pragma('page_size', { simple: true }) as number;
    raw.close();
    const fd = openSync(path, 'r+');
    writeSync(fd, Buffer.alloc(pageSize, 0xa5), 0, pageSize, (rootpage - 1) * pageSize);
    closeSync(fd);
    expect(() => checks(path)).toThrow(/corrupt/); // the file changed since its clean close: the check runs, and finds it

    const reader = await SqliteStore.open(path, { readonly: true });
    try {
      expect((await reader.listActors({ rootsOnly: true })).map((a) => a.id)).toEqual(['run-1']);
    } finally {
      await reader.close();
    }
    await expect(SqliteStore.open(path)).rejects.toMatchObject({ code: 'storage_corrupt' });
  });

  it('is forgotten when a store finds a damaged page lazily, so the next open checks again', async () => {
    const path = await closedStore();
    const store = await SqliteStore.open(path, {});
    const raw = new Database(path, { readonly: true });
    const { rootpage } = raw.prepare("SELECT rootpage FROM sqlite_master WHERE name = 'actors'").get() as { rootpage: number };
    const pageSize = raw.pragma('page_size', { simple: true }) as number;
    raw.close();
    const fd = openSync(path, 'r+');
    writeSync(fd, Buffer.alloc(pageSize, 0xa5), 0, pageSize, (rootpage - 1) * pageSize);
    closeSync(fd);
    // The open store meets the damage on its next read of that page.
    store.db.pragma('cache_size = 0');
    await expect(store.listActors()).rejects.toMatchObject({ code: 'storage_corrupt' });
    await store.close();
    expect(existsSync(cleanCloseMarker(path))).toBe(false);
  });
});
