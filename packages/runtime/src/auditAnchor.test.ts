import { describe, expect, it } from 'vitest';
import { auditAnchorOf, auditStartGap, checkAuditAnchor, parseAuditAnchor, signAnchor } from './auditAnchor.js';
import type { AuditVerification } from './Store.js';

const head = 'a'.repeat(64);
const chain: AuditVerification = { ok: true, rows: 3, head };

describe('the audit anchor both stores keep', () => {
  it('accepts an intact chain that ends where its signed anchor says', () => {
    const anchor = parseAuditAnchor(JSON.stringify(auditAnchorOf(3, head, 'secret')));
    expect(checkAuditAnchor(chain, anchor, 'secret', 'database')).toEqual(chain);
  });

  it('names the removed rows when the anchor records more rows than the chain has', () => {
    const result = checkAuditAnchor(chain, auditAnchorOf(5, 'b'.repeat(64), 'secret'), 'secret', 'database');
    expect(result).toMatchObject({ ok: false, rows: 3, firstBadSeq: 4, reason: expect.stringContaining('rows 4 to 5 were removed') });
  });

  it('refuses an anchor signed with another secret, and an unsigned one where the store has a secret', () => {
    expect(checkAuditAnchor(chain, auditAnchorOf(3, head, 'other'), 'secret', 'store')).toMatchObject({ ok: false, reason: expect.stringContaining('does not match') });
    expect(checkAuditAnchor(chain, auditAnchorOf(3, head, undefined), 'secret', 'store')).toMatchObject({ ok: false, reason: expect.stringContaining('this store has a secret') });
  });

  it('reports a missing or malformed anchor, and rows missing before the first', () => {
    expect(checkAuditAnchor(chain, parseAuditAnchor(undefined), undefined, 'database')).toMatchObject({ ok: false, reason: expect.stringContaining('missing') });
    expect(parseAuditAnchor('{"rows":"3"}')).toBe('malformed');
    expect(parseAuditAnchor('not json')).toBe('malformed');
    expect(auditStartGap(4)).toMatchObject({ ok: false, firstBadSeq: 1, reason: 'rows 1 to 3 are missing' });
    expect(auditStartGap(1)).toBeUndefined();
    expect(auditStartGap(undefined)).toBeUndefined();
  });

  it('signs the row count and head, so changing either changes the signature', () => {
    expect(signAnchor('s', 3, head)).not.toBe(signAnchor('s', 4, head));
    expect(signAnchor('s', 3, head)).not.toBe(signAnchor('s', 3, 'b'.repeat(64)));
  });
});
