import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { spawnExample } from './support/spawnExample.js';

// examples/procurement across real restarts on simulated time (each process runs at its --now):
// the supplier record waits for review, its 4-hour SLA escalates once, the process is SIGKILLed
// right after the escalation and right after the record is written, the deposit halts for the
// named approver (anyone else is refused), and the run completes when the CFO approves days later.

const day = (d: number, h: number, m = 0) => new Date(Date.UTC(2026, 2, 2 + d, h, m)).toISOString();

function rows<T>(db: string, sql: string): T[] {
  if (!existsSync(db)) return [];
  try {
    const sqlite = new Database(db, { readonly: true, fileMustExist: true });
    try {
      return sqlite.prepare(sql).all() as T[];
    } finally {
      sqlite.close();
    }
  } catch {
    return [];
  }
}

describe('examples/procurement', () => {
  it('escalates at the 4-hour deadline, survives SIGKILLs, halts the deposit for the named approver, and completes days later', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spine-procurement-'));
    const db = join(dir, 'procurement.db');
    const ledger = join(dir, 'ledger.jsonl');
    const env = { PROCUREMENT_LEDGER: ledger, SPINE_SECRET: 'procurement-test-secret-0123456789' };
    const main = (command: string, now: string, extra: string[] = [], killWhen?: () => boolean) =>
      spawnExample('procurement', [command, '--db', db, '--run-id', 'onb', '--now', now, ...extra], { env, ...(killWhen ? { killWhen } : {}) });
    const lines = () => (existsSync(ledger) ? readFileSync(ledger, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { kind: string }) : []);

    const started = await main('start', day(0, 9));
    expect(started.code, started.stderr).toBe(3);
    expect(started.stdout).toContain('waits: createSupplierRecord (medium risk), deadline 2026-03-02T13:00:00.000Z');

    // 14:00: the deadline passed while no process ran; the first host applies it. Killed right after.
    const escalating = await main('resume', day(0, 14), [], () => rows(db, "SELECT 1 FROM audit_log WHERE kind = 'approval.escalated'").length > 0);
    expect(escalating.signal).toBe('SIGKILL');

    // Next morning the procurement lead approves; killed as soon as the ERP ledger has the record.
    const approving = await main('approve', day(1, 10), ['--as', 'procurement-lead'], () => lines().length > 0);
    expect(approving.signal).toBe('SIGKILL');

    // The deposit is high risk: the lead may not approve it (the run stays halted).
    const refused = await main('approve', day(2, 9), ['--as', 'procurement-lead']);
    expect(refused.code, refused.stdout + refused.stderr).toBe(2);
    expect(refused.stderr).toContain("payDeposit needs the named approver 'cfo', not 'procurement-lead'");
    expect(rows<{ tier: string; status: string }>(db, 'SELECT tier, status FROM approvals ORDER BY requested_at')).toEqual([
      { tier: 'medium', status: 'approved' },
      { tier: 'high', status: 'pending' },
    ]);

    const done = await main('approve', day(3, 16), ['--as', 'cfo']);
    expect(done.code, done.stdout + done.stderr).toBe(0);
    expect(done.stdout).toContain('[2026-03-05T16:00:00.000Z] onb done: {"supplierId":"supplier-1","paymentId":"payment-1","escalations":1,"error":null}');

    // Exactly one record and one payment, whatever the kills re-executed; the escalation fired once.
    expect(lines().map((l) => l.kind)).toEqual(['supplier', 'payment']);
    const audit = rows<{ kind: string; who: string; at: number }>(db, "SELECT kind, who, at FROM audit_log WHERE run_id = 'onb' ORDER BY seq");
    expect(audit.filter((a) => a.kind === 'approval.escalated')).toEqual([{ kind: 'approval.escalated', who: 'system', at: Date.parse(day(0, 14)) }]);
    expect(audit.filter((a) => a.kind === 'approval.approved').map((a) => [a.who, new Date(a.at).toISOString()])).toEqual([
      ['procurement-lead', day(1, 10)],
      ['cfo', day(3, 16)],
    ]);
    expect(audit.map((a) => a.kind)).toContain('run.halted');
  }, 180_000);
});
