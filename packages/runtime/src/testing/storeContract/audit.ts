import { describe, expect, it } from 'vitest';
import { T0 } from './build.js';
import type { WithStore } from './index.js';

/** The audit role (`AuditStore`): append-only, hash-chained, readable by run and by cursor. */
export function runAuditContract(withStore: WithStore): void {
  describe('Store contract (audit)', () => {
    it('appends rows in order, reads them by run and after a cursor, and verifies the chain', () =>
      withStore(async (store) => {
        const row = (runId: string, subject: string) => ({ at: T0, runId, actorId: runId, kind: 'activity.logged' as const, who: 'agent:m', subject, detail: '{}' });
        await store.appendAudit([row('run-a', 'a1'), row('run-b', 'b1')]);
        await store.appendAudit([row('run-a', 'a2')]);
        const all = await store.listAudit();
        expect(all.map((a) => a.subject)).toEqual(['a1', 'b1', 'a2']);
        expect((await store.listAudit({ runId: 'run-a' })).map((a) => a.subject)).toEqual(['a1', 'a2']);
        expect((await store.listAudit({ afterSeq: all[0]!.seq, limit: 1 })).map((a) => a.subject)).toEqual(['b1']);
        expect(await store.verifyAudit()).toMatchObject({ ok: true, rows: 3 });
      }));
  });
}
