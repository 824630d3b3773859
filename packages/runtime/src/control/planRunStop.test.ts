import { describe, expect, it } from 'vitest';
import type { ActorRecord, ApprovalRecord } from '../Store.js';
import { planRunStop } from './planRunStop.js';

const T = 1_700_000_000_000;

function actor(id: string, fields: Partial<ActorRecord> = {}): ActorRecord {
  const started = fields.seq === undefined || fields.seq > 0;
  return {
    id,
    runId: 'run-1',
    parentId: id === 'run-1' ? null : 'run-1',
    childKey: id === 'run-1' ? null : id.split('/')[1]!,
    machine: 'm',
    version: 'v1',
    seq: 3,
    status: 'active',
    snapshot: started ? '{"status":"active","value":"waiting"}' : null,
    stateValue: started ? '"waiting"' : null,
    output: null,
    error: null,
    owner: null,
    ownerEpoch: 0,
    createdAt: T,
    updatedAt: T,
    ...fields,
  };
}

function approval(actorId: string, jobKey: string): ApprovalRecord {
  return { id: `approval:${jobKey}`, runId: 'run-1', actorId, jobKey, childId: 'publish', src: 'publish', machine: 'm', version: 'v1', seq: 1, tier: 'medium', status: 'pending', proposal: '{}', rationale: '{}', requestedAt: T, deadlineAt: null, onDeadline: 'escalate', escalatedAt: null, decidedBy: null, decidedAt: null, reason: null, editedInput: null, signature: null };
}

describe('planRunStop', () => {
  it('gives each started actor a fenced spine.run.cancelled step and one not started only its fence, oldest first', () => {
    const stop = planRunStop({ runId: 'run-1', actors: [actor('run-1/kid', { seq: 0, createdAt: T + 5 }), actor('run-1')], approvals: [] }, { reason: 'not needed', by: 'ada', now: T + 100 })!;
    expect(stop.actors.map((a) => [a.actorId, a.expectedSeq, a.history?.seq ?? null])).toEqual([
      ['run-1', 3, 4],
      ['run-1/kid', 0, null],
    ]);
    expect(stop.actors[0]!.history).toMatchObject({ eventType: 'spine.run.cancelled', status: 'stopped', stateValue: '"waiting"', snapshot: '{"status":"active","value":"waiting"}', startedAt: T + 100 });
    expect(JSON.parse(stop.actors[0]!.history!.event)).toEqual({ type: 'spine.run.cancelled', reason: 'not needed' });
    expect(stop.deadLetterReason).toBe("Run 'run-1' was cancelled (not needed) before this event was applied.");
  });

  it('cancels the pending approvals of the stopped actors, audited as the person who cancelled, then audits the run', () => {
    const stop = planRunStop(
      { runId: 'run-1', actors: [actor('run-1')], approvals: [approval('run-1', 'run-1:1:0'), { ...approval('run-1', 'run-1:1:1'), status: 'approved' }, approval('run-1/gone', 'run-1/gone:1:0')] },
      { reason: 'wrong input', by: 'ada', now: T },
    )!;
    expect(stop.approvals).toEqual(['approval:run-1:1:0']);
    expect(stop.audit.map((a) => [a.kind, a.who, a.subject])).toEqual([
      ['approval.cancelled', 'ada', 'approval:run-1:1:0'],
      ['run.cancelled', 'ada', 'run-1'],
    ]);
    expect(JSON.parse(stop.audit[0]!.detail)).toEqual({ src: 'publish', jobKey: 'run-1:1:0', reason: 'the run was cancelled: wrong input' });
    expect(JSON.parse(stop.audit[1]!.detail)).toEqual({ reason: 'wrong input', stopped: ['run-1'] });
  });

  it('plans nothing for a run without an active actor, and names the system when nobody is given', () => {
    expect(planRunStop({ runId: 'run-1', actors: [], approvals: [] }, { reason: 'x', now: T })).toBeUndefined();
    expect(planRunStop({ runId: 'run-1', actors: [actor('run-1')], approvals: [] }, { reason: 'x', now: T })!.audit[0]!.who).toBe('system');
  });
});
