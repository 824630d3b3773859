import { createHmac, timingSafeEqual } from 'node:crypto';
import type Database from 'better-sqlite3';
import { ensureSecret, GENESIS_HASH, readSecret, verifyAuditChain, type AuditEntry, type AuditVerification } from '@spine/runtime/store';

/**
 * The audit log's anchor: how many rows the chain has and the hash of the last,
 * kept in `spine_meta` (outside the rows it covers) and updated in the same
 * transaction as every append. Signed with the database secret (HMAC-SHA256),
 * so removing rows at the end, or all of them, no longer verifies: the chain
 * would still be intact, but it no longer ends where the anchor says, and
 * nobody without the secret can write an anchor that says otherwise.
 */
export interface AuditAnchor {
  rows: number;
  head: string;
  /** HMAC-SHA256 of the row count and head with the database secret; null when the store had no secret. */
  signature: string | null;
}

const KEY = 'audit_anchor';
/** The schema version whose migration added the anchor. */
const ANCHORED_SINCE = 3;

function schemaVersion(db: Database.Database): number {
  const row = db.prepare("SELECT value FROM spine_meta WHERE key = 'schema_version'").get() as { value: string } | undefined;
  return Number(row?.value ?? 0);
}

/** The signature of an anchor: HMAC-SHA256 over a domain tag, the row count and the head hash. */
export function signAnchor(secret: string, rows: number, head: string): string {
  return createHmac('sha256', secret).update(`spine.audit.anchor\n${rows}\n${head}`).digest('hex');
}

/** Writes the anchor; call inside the transaction that appended the rows. */
export function writeAuditAnchor(db: Database.Database, rows: number, head: string, secret: string | undefined): void {
  const anchor: AuditAnchor = { rows, head, signature: secret ? signAnchor(secret, rows, head) : null };
  db.prepare('INSERT INTO spine_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(KEY, JSON.stringify(anchor));
}

/**
 * Replaces the 'pending' anchor the migration leaves with the anchor of the rows
 * already there (a database from before anchoring trusts its chain once, at upgrade).
 */
export function settlePendingAnchor(db: Database.Database, secret: () => string | undefined): void {
  const row = db.prepare('SELECT value FROM spine_meta WHERE key = ?').get(KEY) as { value: string } | undefined;
  if (row?.value !== 'pending') return;
  const last = db.prepare('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1').get() as { seq: number; hash: string } | undefined;
  writeAuditAnchor(db, last?.seq ?? 0, last?.hash ?? GENESIS_HASH, secret());
}

function readAnchor(db: Database.Database): AuditAnchor | 'missing' | 'malformed' {
  const row = db.prepare('SELECT value FROM spine_meta WHERE key = ?').get(KEY) as { value: string } | undefined;
  if (!row) return 'missing';
  try {
    const anchor = JSON.parse(row.value) as Partial<AuditAnchor>;
    if (!Number.isInteger(anchor.rows) || typeof anchor.head !== 'string' || (anchor.signature !== null && typeof anchor.signature !== 'string')) return 'malformed';
    return anchor as AuditAnchor;
  } catch {
    return 'malformed';
  }
}

/**
 * Verifies the audit log: every row's hash chain from row 1, then that the chain
 * ends exactly where the anchor says (row count and head hash), then the anchor's
 * signature when the secret is at hand. Reads every row through one statement
 * that is always finished, so the connection stays usable after any report.
 */
export function verifyAnchoredAudit(db: Database.Database, toEntry: (row: never) => AuditEntry, secret: string | undefined): AuditVerification {
  const first = db.prepare('SELECT seq FROM audit_log ORDER BY seq LIMIT 1').get() as { seq: number } | undefined;
  if (first && first.seq !== 1) return { ok: false, rows: 0, firstBadSeq: 1, reason: `rows 1 to ${first.seq - 1} are missing` };
  const iterator = db.prepare('SELECT * FROM audit_log ORDER BY seq').iterate() as IterableIterator<never>;
  let chain: AuditVerification;
  try {
    chain = verifyAuditChain((function* () {
      for (const row of iterator) yield toEntry(row);
    })());
  } finally {
    iterator.return?.(); // an early return must not leave the statement running ("connection is busy")
  }
  if (!chain.ok) return chain;
  const anchor = readAnchor(db);
  if (anchor === 'missing' && schemaVersion(db) < ANCHORED_SINCE) return chain; // opened read-only before the upgrade that anchors it
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
    if (anchor.signature === null) return { ok: false, rows: chain.rows, firstBadSeq: chain.rows + 1, reason: 'the audit anchor is not signed, but this database has a secret: it was rewritten outside Spine' };
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return { ok: false, rows: chain.rows, firstBadSeq: chain.rows + 1, reason: "the audit anchor's signature does not match: it was forged, or signed with another secret (check SPINE_SECRET)" };
    }
  }
  return chain;
}

/**
 * The secret that signs a database's anchor, found once when first needed:
 * the given one, else `SPINE_SECRET` or the `<db>.secret` file, else (when
 * `create`) a new secret file, 0600, as decisions use. In-memory: none.
 */
export function anchorSecret(path: string, given: string | undefined, create: boolean): () => string | undefined {
  let found: string | undefined;
  return () => {
    if (found !== undefined || given !== undefined) return (found ??= given);
    if (path === ':memory:') return undefined;
    found = readSecret(path) ?? (create ? ensureSecret(path) : undefined);
    return found;
  };
}
