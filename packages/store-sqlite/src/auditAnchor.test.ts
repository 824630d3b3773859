import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { SqliteStore } from './SqliteStore.js';

const SECRET = 'audit-anchor-test-secret-0123456789';

/** A database with ten audit rows, closed; each test tampers with its own copy. */
async function auditedDb(): Promise<string> {
  const path = join(mkdtempSync(join(tmpdir(), 'spine-anchor-')), 'spine.db');
  const store = await SqliteStore.open(path, { secret: SECRET });
  for (let i = 1; i <= 10; i++) {
    await store.appendAudit([{ at: 1_700_000_000_000 + i, runId: 'r', actorId: 'r', kind: 'approval.approved', who: `person-${i}`, subject: 'r', detail: JSON.stringify({ i }) }]);
  }
  expect(await store.verifyAudit()).toMatchObject({ ok: true, rows: 10 });
  await store.close();
  return path;
}

/** Tampers with a copy as someone with the file (and no secret) would: drop the trigger, run SQL. */
function tampered(path: string, sql: string): string {
  const copy = `${path}.${Math.random().toString(36).slice(2)}.db`;
  copyFileSync(path, copy);
  const db = new Database(copy);
  db.exec('DROP TRIGGER audit_log_no_delete');
  db.exec(sql);
  db.close();
  return copy;
}

async function verify(path: string) {
  const store = await SqliteStore.open(path, { secret: SECRET });
  try {
    const result = await store.verifyAudit();
    // The store stays usable after any report (no statement left running).
    await store.listAudit(); // the connection still answers after any report
    return result;
  } finally {
    await store.close(); // threw "connection is busy" after an early return on main
  }
}

describe('the anchored audit chain', () => {
  it('reports the newest row removed, naming the rows that are gone', async () => {
    const result = await verify(tampered(await auditedDb(), 'DELETE FROM audit_log WHERE seq = 10'));
    expect(result).toMatchObject({ ok: false, rows: 9, firstBadSeq: 10 });
    expect(!result.ok && result.reason).toContain('rows 10 to 10 were removed');
  });

  it('reports the last three rows removed', async () => {
    const result = await verify(tampered(await auditedDb(), 'DELETE FROM audit_log WHERE seq > 7'));
    expect(result).toMatchObject({ ok: false, rows: 7, firstBadSeq: 8 });
    expect(!result.ok && result.reason).toContain('rows 8 to 10 were removed');
  });

  it('reports every row removed', async () => {
    const result = await verify(tampered(await auditedDb(), 'DELETE FROM audit_log'));
    expect(result).toMatchObject({ ok: false, rows: 0, firstBadSeq: 1 });
  });

  it('reports rows removed at the start, and the connection stays usable to close', async () => {
    const result = await verify(tampered(await auditedDb(), 'DELETE FROM audit_log WHERE seq <= 2'));
    expect(result).toMatchObject({ ok: false, firstBadSeq: 1, reason: 'rows 1 to 2 are missing' });
  });

  it('reports an anchor rewritten to match a truncated log by someone without the secret', async () => {
    const path = await auditedDb();
    const db = new Database(path, { readonly: true });
    const row9 = db.prepare('SELECT hash FROM audit_log WHERE seq = 9').get() as { hash: string };
    db.close();
    const forged = JSON.stringify({ rows: 9, head: row9.hash, signature: 'ab'.repeat(32) });
    const result = await verify(tampered(path, `DELETE FROM audit_log WHERE seq = 10; UPDATE spine_meta SET value = '${forged}' WHERE key = 'audit_anchor'`));
    expect(result).toMatchObject({ ok: false, rows: 9 });
    expect(!result.ok && result.reason).toContain("anchor's signature does not match");
    const unsigned = JSON.stringify({ rows: 9, head: row9.hash, signature: null });
    const second = await verify(tampered(path, `DELETE FROM audit_log WHERE seq = 10; UPDATE spine_meta SET value = '${unsigned}' WHERE key = 'audit_anchor'`));
    expect(!second.ok && second.reason).toContain('anchor is not signed');
  });

  it('reports the anchor itself deleted', async () => {
    const result = await verify(tampered(await auditedDb(), "DELETE FROM audit_log WHERE seq = 10; DELETE FROM spine_meta WHERE key = 'audit_anchor'"));
    expect(!result.ok && result.reason).toContain('audit anchor (row count and head hash) is missing');
  });

  it('keeps verifying intact across reopenings and appends from several connections', async () => {
    const path = await auditedDb();
    const a = await SqliteStore.open(path, { secret: SECRET });
    const b = await SqliteStore.open(path, { secret: SECRET });
    await a.appendAudit([{ at: 1, runId: null, actorId: null, kind: 'approval.approved', who: 'a', subject: null, detail: '{}' }]);
    await b.appendAudit([{ at: 2, runId: null, actorId: null, kind: 'approval.approved', who: 'b', subject: null, detail: '{}' }]);
    expect(await a.verifyAudit()).toMatchObject({ ok: true, rows: 12 });
    await a.close();
    await b.close();
  });
});
