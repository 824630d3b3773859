import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { Checkpointer } from './Checkpointer.js';

const tempDbPath = () => join(mkdtempSync(join(tmpdir(), 'spine-checkpointer-')), 'spine.db');

describe('Checkpointer', () => {
  it('copies what the WAL holds into the database file on its own thread, and closes', async () => {
    const path = tempDbPath();
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma('wal_autocheckpoint = 0'); // only the thread may checkpoint
    db.exec('CREATE TABLE t (x TEXT)');
    const insert = db.prepare('INSERT INTO t VALUES (?)');
    for (let i = 0; i < 200; i++) insert.run('x'.repeat(1000));
    const before = statSync(path).size;
    let died = false;
    const checkpointer = new Checkpointer(path, 'NORMAL', () => (died = true));
    checkpointer.written();
    // The rows are in the WAL until a checkpoint copies them: the file grows only when the thread ran one.
    for (let waited = 0; statSync(path).size < 200_000 && waited < 20_000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(before).toBeLessThan(50_000);
    expect(statSync(path).size).toBeGreaterThanOrEqual(200_000);
    await checkpointer.close();
    expect(died).toBe(false);
    expect(db.prepare('SELECT COUNT(*) FROM t').pluck().get()).toBe(200);
    db.close();
  });

  it('says so when its thread cannot open the file', async () => {
    let died!: () => void;
    const ended = new Promise<void>((resolve) => (died = resolve));
    const checkpointer = new Checkpointer(join(tempDbPath(), 'missing', 'spine.db'), 'NORMAL', () => died());
    await ended;
    await checkpointer.close();
  });
});
