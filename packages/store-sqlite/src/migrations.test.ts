import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { migrations } from './migrations.js';
import { SqliteStore } from './SqliteStore.js';

function v1Database(): string {
  const path = join(mkdtempSync(join(tmpdir(), 'spine-migrate-')), 'spine.db');
  const db = new Database(path);
  db.exec(migrations[0] as string);
  db.prepare("INSERT INTO spine_meta (key, value) VALUES ('application', 'spine'), ('schema_version', '1')").run();
  db.prepare("INSERT INTO actors (id, run_id, machine, version, created_at, updated_at) VALUES ('run-1', 'run-1', 'm', 'v1', 1, 1)").run();
  db.close();
  return path;
}

describe('migrations', () => {
  it('brings a schema-1 database to the approvals and audit schema without touching its runs', async () => {
    const path = v1Database();
    const store = await SqliteStore.open(path);
    try {
      expect(store.db.prepare("SELECT value FROM spine_meta WHERE key = 'schema_version'").pluck().get()).toBe(String(migrations.length));
      expect((await store.getActor('run-1'))?.machine).toBe('m');
      expect(await store.listApprovals()).toEqual([]);
      expect(await store.verifyAudit()).toEqual({ ok: true, rows: 0, head: '0'.repeat(64) });
    } finally {
      await store.close();
    }
  });

  it('chains audit rows across appends and processes, and finds a removed row', async () => {
    const path = v1Database();
    const a = await SqliteStore.open(path);
    const b = await SqliteStore.open(path);
    try {
      const row = (n: number) => ({ at: n, runId: 'run-1', actorId: 'run-1', kind: 'approval.requested' as const, who: `w${n}`, subject: null, detail: '{}' });
      await a.appendAudit([row(1), row(2)]);
      await b.appendAudit([row(3)]);
      await a.appendAudit([row(4)]);
      const rows = await b.listAudit();
      expect(rows.map((r) => [r.seq, r.who])).toEqual([[1, 'w1'], [2, 'w2'], [3, 'w3'], [4, 'w4']]);
      for (let i = 1; i < rows.length; i++) expect(rows[i]!.prevHash).toBe(rows[i - 1]!.hash);
      expect(await a.verifyAudit()).toMatchObject({ ok: true, rows: 4, head: rows[3]!.hash });
      a.db.exec('DROP TRIGGER audit_log_no_delete');
      a.db.prepare('DELETE FROM audit_log WHERE seq = 2').run();
      expect(await b.verifyAudit()).toMatchObject({ ok: false, firstBadSeq: 3, reason: expect.stringContaining('row 2 is missing') });
    } finally {
      await a.close();
      await b.close();
    }
  });
});
