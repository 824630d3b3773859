import { canonicalJson } from './canonicalJson.js';
import { nodeCrypto } from './lazyBuiltins.js';
import type { AuditEntry, AuditVerification } from './Store.js';

/** The `prevHash` of the first audit row. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * The hash of an audit row: sha256 over the previous row's hash and the row's
 * canonical JSON (seq, time, run, actor, kind, who, subject, detail). Changing any
 * field of any row, or removing a row, breaks every hash after it.
 */
export function auditHash(prevHash: string, entry: Omit<AuditEntry, 'prevHash' | 'hash'>): string {
  const body = canonicalJson({
    seq: entry.seq,
    at: entry.at,
    runId: entry.runId,
    actorId: entry.actorId,
    kind: entry.kind,
    who: entry.who,
    subject: entry.subject,
    detail: entry.detail,
  });
  return nodeCrypto().createHash('sha256').update(prevHash).update('\n').update(body).digest('hex');
}

/** Recomputes a chain of audit rows, in seq order from the first; reports the first row that does not match. */
export function verifyAuditChain(entries: Iterable<AuditEntry>): AuditVerification {
  let prev = GENESIS_HASH;
  let rows = 0;
  let expectedSeq: number | undefined;
  for (const entry of entries) {
    rows++;
    if (expectedSeq !== undefined && entry.seq !== expectedSeq) {
      return { ok: false, rows, firstBadSeq: entry.seq, reason: `row ${expectedSeq} is missing (found ${entry.seq} after ${expectedSeq - 1})` };
    }
    if (entry.prevHash !== prev) return { ok: false, rows, firstBadSeq: entry.seq, reason: `row ${entry.seq} does not point at the hash of the row before it` };
    const hash = auditHash(prev, entry);
    if (hash !== entry.hash) return { ok: false, rows, firstBadSeq: entry.seq, reason: `row ${entry.seq} was altered: its content does not match its hash` };
    prev = hash;
    expectedSeq = entry.seq + 1;
  }
  return { ok: true, rows, head: prev };
}
