import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runStoreContract } from '@spine/runtime/testing';
import { describe, expect, it } from 'vitest';
import { SqliteStore } from './SqliteStore.js';

const tempDbPath = () => join(mkdtempSync(join(tmpdir(), 'spine-store-')), 'spine.db');

runStoreContract(() => SqliteStore.open(tempDbPath()));

describe('SqliteStore run control', () => {
  it('rolls a fork back whole when its last write fails: no actor, history row, job or audit row of it remains', async () => {
    const store = await SqliteStore.open(tempDbPath());
    try {
      const at = 1_700_000_000_000;
      const snapshot = JSON.stringify({ status: 'active', value: 'a', context: {}, children: {} });
      const approval = { id: 'approval:f:1:fork0', runId: 'f', actorId: 'f', jobKey: 'f:1:fork0', childId: 'p', src: 'p', machine: 'm', version: 'v1', seq: 1, tier: 'medium' as const, proposal: '{}', rationale: '{}', requestedAt: at, deadlineAt: null, onDeadline: 'escalate' as const };
      const write = store.forkRun({
        sourceRunId: 's',
        runId: 'f',
        point: { actorId: 's', seq: 1, rowId: 1 },
        at,
        actors: [{ id: 'f', runId: 'f', parentId: null, childKey: null, machine: 'm', version: 'v1', seq: 1, status: 'active', snapshot, stateValue: '"a"', output: null, error: null }],
        history: [{ actorId: 'f', runId: 'f', seq: 1, eventType: 'xstate.init', event: '{}', stateValue: '"a"', snapshot, status: 'active', version: 'v1', emitted: null, startedAt: at, durationUs: 0 }],
        events: [],
        jobs: [{ key: 'f:1:fork0', actorId: 'f', runId: 'f', childId: 'p', src: 'p', input: '{}', runAt: at, held: true }],
        // The same approval twice: the second insert fails after everything else was written.
        approvals: [approval, approval],
        inheritedJobs: [],
        audit: [{ at, runId: 'f', actorId: 'f', kind: 'run.forked', who: 'studio', subject: 'f', detail: '{}' }],
        notes: [],
      });
      await expect(write).rejects.toThrow(/UNIQUE/);
      expect(await store.getActor('f')).toBeUndefined();
      expect(await store.historyHead()).toBe(0);
      expect(await store.listJobs({ runId: 'f' })).toEqual([]);
      expect(await store.listAudit()).toEqual([]);
    } finally {
      await store.close();
    }
  });
});
