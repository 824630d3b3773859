import { AUDIT_ANCHOR_KEY as KEY, auditAnchorOf, auditStartGap, checkAuditAnchor, GENESIS_HASH, parseAuditAnchor, verifyAuditChain, type AuditEntry, type AuditVerification } from '@spine/runtime/store';
import type { Query } from './PostgresStore.js';

// The audit log's anchor (`AuditAnchor` in the runtime, which signs and checks it) over PostgreSQL.
// The anchor row is also the lock that gives the chain one writer at a time (`SELECT … FOR UPDATE`).

const PAGE = 5_000;

/** Locks the anchor row for this transaction: call before reading the chain's head to append. */
export async function lockAuditAnchor(q: Query): Promise<void> {
  await q("SELECT value FROM spine_meta WHERE key = 'audit_anchor' FOR UPDATE");
}

/** Writes the anchor; call inside the transaction that appended the rows (after `lockAuditAnchor`). */
export async function writeAuditAnchor(q: Query, rows: number, head: string, secret: string | undefined): Promise<void> {
  await q('INSERT INTO spine_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [KEY, JSON.stringify(auditAnchorOf(rows, head, secret))]);
}

/** Replaces the 'pending' anchor the migration leaves with the signed anchor of the rows already there. */
export async function settlePendingAnchor(q: Query, secret: string | undefined): Promise<void> {
  const [row] = await q<{ value: string }>('SELECT value FROM spine_meta WHERE key = $1 FOR UPDATE', [KEY]);
  if (row?.value !== 'pending') return;
  const [last] = await q<{ seq: number; hash: string }>('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1');
  await writeAuditAnchor(q, last?.seq ?? 0, last?.hash ?? GENESIS_HASH, secret);
}

/**
 * Verifies the audit log: every row's hash chain from row 1 (read in pages by seq,
 * in one repeatable-read snapshot so concurrent appends cannot tear it), then that
 * the chain ends where the anchor says, then the anchor's signature when the secret is at hand.
 */
export async function verifyAnchoredAudit(q: Query, toEntry: (row: never) => AuditEntry, secret: string | undefined): Promise<AuditVerification> {
  const [first] = await q<{ seq: number }>('SELECT seq FROM audit_log ORDER BY seq LIMIT 1');
  const gap = auditStartGap(first?.seq);
  if (gap) return gap;
  const entries: AuditEntry[] = [];
  for (let after = 0; ; ) {
    const page = await q<never>('SELECT * FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2', [after, PAGE]);
    for (const row of page) entries.push(toEntry(row));
    if (page.length < PAGE) break;
    after = entries.at(-1)!.seq;
  }
  const chain = verifyAuditChain(entries);
  if (!chain.ok) return chain;
  const [row] = await q<{ value: string }>('SELECT value FROM spine_meta WHERE key = $1', [KEY]);
  return checkAuditAnchor(chain, parseAuditAnchor(row?.value), secret, 'store');
}
