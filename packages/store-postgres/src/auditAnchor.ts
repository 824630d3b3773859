import { createHmac, timingSafeEqual } from 'node:crypto';
import { GENESIS_HASH, verifyAuditChain, type AuditEntry, type AuditVerification } from '@spine/runtime/store';
import type { Query } from './PostgresStore.js';

/**
 * The audit log's anchor, as in the SQLite store: how many rows the chain has and
 * the hash of the last, kept in `spine_meta` (outside the rows it covers), updated
 * in the transaction of every append and signed with the secret (HMAC-SHA256), so
 * removing rows at the end, or all of them, no longer verifies. The anchor row is
 * also the lock that gives the chain one writer at a time (`SELECT … FOR UPDATE`).
 */
export interface AuditAnchor {
  rows: number;
  head: string;
  /** HMAC-SHA256 of the row count and head with the secret; null when the store had none. */
  signature: string | null;
}

const KEY = 'audit_anchor';
const PAGE = 5_000;

/** The signature of an anchor: HMAC-SHA256 over a domain tag, the row count and the head hash (the SQLite store's). */
export function signAnchor(secret: string, rows: number, head: string): string {
  return createHmac('sha256', secret).update(`spine.audit.anchor\n${rows}\n${head}`).digest('hex');
}

/** Locks the anchor row for this transaction: call before reading the chain's head to append. */
export async function lockAuditAnchor(q: Query): Promise<void> {
  await q("SELECT value FROM spine_meta WHERE key = 'audit_anchor' FOR UPDATE");
}

/** Writes the anchor; call inside the transaction that appended the rows (after `lockAuditAnchor`). */
export async function writeAuditAnchor(q: Query, rows: number, head: string, secret: string | undefined): Promise<void> {
  const anchor: AuditAnchor = { rows, head, signature: secret ? signAnchor(secret, rows, head) : null };
  await q('INSERT INTO spine_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [KEY, JSON.stringify(anchor)]);
}

/** Replaces the 'pending' anchor the migration leaves with the signed anchor of the rows already there. */
export async function settlePendingAnchor(q: Query, secret: string | undefined): Promise<void> {
  const [row] = await q<{ value: string }>('SELECT value FROM spine_meta WHERE key = $1 FOR UPDATE', [KEY]);
  if (row?.value !== 'pending') return;
  const [last] = await q<{ seq: number; hash: string }>('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1');
  await writeAuditAnchor(q, last?.seq ?? 0, last?.hash ?? GENESIS_HASH, secret);
}

function parseAnchor(value: string | undefined): AuditAnchor | 'missing' | 'malformed' {
  if (value === undefined) return 'missing';
  try {
    const anchor = JSON.parse(value) as Partial<AuditAnchor>;
    if (!Number.isInteger(anchor.rows) || typeof anchor.head !== 'string' || (anchor.signature !== null && typeof anchor.signature !== 'string')) return 'malformed';
    return anchor as AuditAnchor;
  } catch {
    return 'malformed';
  }
}

/**
 * Verifies the audit log: every row's hash chain from row 1 (read in pages by seq,
 * in one repeatable-read snapshot so concurrent appends cannot tear it), then that
 * the chain ends where the anchor says, then the anchor's signature when the secret is at hand.
 */
export async function verifyAnchoredAudit(q: Query, toEntry: (row: never) => AuditEntry, secret: string | undefined): Promise<AuditVerification> {
  const [first] = await q<{ seq: number }>('SELECT seq FROM audit_log ORDER BY seq LIMIT 1');
  if (first && first.seq !== 1) return { ok: false, rows: 0, firstBadSeq: 1, reason: `rows 1 to ${first.seq - 1} are missing` };
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
  const anchor = parseAnchor(row?.value);
  if (anchor === 'missing') return { ok: false, rows: chain.rows, firstBadSeq: chain.rows + 1, reason: 'the audit anchor (row count and head hash) is missing from spine_meta, so rows may have been removed' };
  if (anchor === 'malformed') return { ok: false, rows: chain.rows, firstBadSeq: chain.rows + 1, reason: 'the audit anchor in spine_meta is not a valid anchor' };
  if (anchor.rows !== chain.rows || anchor.head !== chain.head) {
    const removed = anchor.rows > chain.rows ? `: rows ${chain.rows + 1} to ${anchor.rows} were removed` : '';
    return {
      ok: false,
      rows: chain.rows,
      firstBadSeq: Math.min(anchor.rows, chain.rows) + 1,
      reason: `the log has ${chain.rows} rows ending in ${chain.head.slice(0, 12)}…, but its anchor records ${anchor.rows} rows ending in ${anchor.head.slice(0, 12)}…${removed}`,
    };
  }
  if (secret !== undefined) {
    const expected = Buffer.from(signAnchor(secret, anchor.rows, anchor.head), 'hex');
    const given = Buffer.from(anchor.signature ?? '', 'hex');
    if (anchor.signature === null) return { ok: false, rows: chain.rows, firstBadSeq: chain.rows + 1, reason: 'the audit anchor is not signed, but this store has a secret: it was rewritten outside Spine' };
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return { ok: false, rows: chain.rows, firstBadSeq: chain.rows + 1, reason: "the audit anchor's signature does not match: it was forged, or signed with another secret (check SPINE_SECRET)" };
    }
  }
  return chain;
}
