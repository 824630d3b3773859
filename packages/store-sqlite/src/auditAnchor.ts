import type Database from 'better-sqlite3';
import { AUDIT_ANCHOR_KEY as KEY, auditAnchorOf, auditStartGap, checkAuditAnchor, ensureSecret, parseAuditAnchor, GENESIS_HASH, readSecret, verifyAuditChain, type AuditEntry, type AuditVerification } from '@spine/runtime/store';

// The audit log's anchor (`AuditAnchor` in the runtime, which signs and checks it) in an SQLite file.

/** The schema version whose migration added the anchor. */
const ANCHORED_SINCE = 3;

function schemaVersion(db: Database.Database): number {
  const row = db.prepare("SELECT value FROM spine_meta WHERE key = 'schema_version'").get() as { value: string } | undefined;
  return Number(row?.value ?? 0);
}

/** Writes the anchor; call inside the transaction that appended the rows. */
export function writeAuditAnchor(db: Database.Database, rows: number, head: string, secret: string | undefined): void {
  db.prepare('INSERT INTO spine_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(KEY, JSON.stringify(auditAnchorOf(rows, head, secret)));
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

/**
 * Verifies the audit log: every row's hash chain from row 1, then that the chain
 * ends exactly where the anchor says (row count and head hash), then the anchor's
 * signature when the secret is at hand. Reads every row through one statement
 * that is always finished, so the connection stays usable after any report.
 */
export function verifyAnchoredAudit(db: Database.Database, toEntry: (row: never) => AuditEntry, secret: string | undefined): AuditVerification {
  const first = db.prepare('SELECT seq FROM audit_log ORDER BY seq LIMIT 1').get() as { seq: number } | undefined;
  const gap = auditStartGap(first?.seq);
  if (gap) return gap;
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
  const row = db.prepare('SELECT value FROM spine_meta WHERE key = ?').get(KEY) as { value: string } | undefined;
  if (!row && schemaVersion(db) < ANCHORED_SINCE) return chain; // opened read-only before the upgrade that anchors it
  return checkAuditAnchor(chain, parseAuditAnchor(row?.value), secret, 'database');
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
