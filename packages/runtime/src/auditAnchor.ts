import { nodeCrypto } from './lazyBuiltins.js';
import type { AuditVerification } from './Store.js';

/**
 * The audit log's anchor, the engine-independent part both stores share: how many rows the
 * chain has and the hash of the last, kept in `spine_meta` under `AUDIT_ANCHOR_KEY` (outside
 * the rows it covers) and updated in the same transaction as every append. Signed with the
 * store's secret (HMAC-SHA256), so removing rows at the end, or all of them, no longer
 * verifies: the chain would still be intact, but it no longer ends where the anchor says, and
 * nobody without the secret can write an anchor that says otherwise. Reading and writing the
 * anchor row is each store's own.
 */
export interface AuditAnchor {
  rows: number;
  head: string;
  /** HMAC-SHA256 of the row count and head with the store's secret; null when the store had no secret. */
  signature: string | null;
}

/** The `spine_meta` key the anchor is kept under. */
export const AUDIT_ANCHOR_KEY = 'audit_anchor';

/** The signature of an anchor: HMAC-SHA256 over a domain tag, the row count and the head hash. */
export function signAnchor(secret: string, rows: number, head: string): string {
  return nodeCrypto().createHmac('sha256', secret).update(`spine.audit.anchor\n${rows}\n${head}`).digest('hex');
}

/** The anchor of a chain of `rows` rows ending in `head`, signed when there is a secret. */
export function auditAnchorOf(rows: number, head: string, secret: string | undefined): AuditAnchor {
  return { rows, head, signature: secret ? signAnchor(secret, rows, head) : null };
}

/** Reads a stored anchor (undefined: no anchor row). */
export function parseAuditAnchor(value: string | undefined): AuditAnchor | 'missing' | 'malformed' {
  if (value === undefined) return 'missing';
  try {
    const anchor = JSON.parse(value) as Partial<AuditAnchor>;
    if (!Number.isInteger(anchor.rows) || typeof anchor.head !== 'string' || (anchor.signature !== null && typeof anchor.signature !== 'string')) return 'malformed';
    return anchor as AuditAnchor;
  } catch {
    return 'malformed';
  }
}

/** The report for a log whose first row is not row 1; undefined when it starts at 1 (or is empty). */
export function auditStartGap(firstSeq: number | undefined): AuditVerification | undefined {
  return firstSeq !== undefined && firstSeq !== 1 ? { ok: false, rows: 0, firstBadSeq: 1, reason: `rows 1 to ${firstSeq - 1} are missing` } : undefined;
}

/**
 * Checks an intact chain against its anchor: that the chain ends exactly where the anchor says
 * (row count and head hash), then the anchor's signature when the secret is at hand. `holder`
 * names what has the secret in the report ("database", "store").
 */
export function checkAuditAnchor(chain: AuditVerification, anchor: AuditAnchor | 'missing' | 'malformed', secret: string | undefined, holder: string): AuditVerification {
  if (!chain.ok) return chain;
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
    if (anchor.signature === null) return { ok: false, rows: chain.rows, firstBadSeq: chain.rows + 1, reason: `the audit anchor is not signed, but this ${holder} has a secret: it was rewritten outside Spine` };
    if (given.length !== expected.length || !nodeCrypto().timingSafeEqual(given, expected)) {
      return { ok: false, rows: chain.rows, firstBadSeq: chain.rows + 1, reason: "the audit anchor's signature does not match: it was forged, or signed with another secret (check SPINE_SECRET)" };
    }
  }
  return chain;
}
