import { describe, expect, it } from 'vitest';
import type { ActorRecord, HistoryRecord, JobRecord } from '../Store.js';
import { planRetry } from './planRetry.js';

const T = 1_700_000_000_000;

function job(key: string, fields: Partial<JobRecord> = {}): JobRecord {
  return { key, actorId: key.split(':')[0]!, runId: 'run-1', childId: 'pay', src: 'pay', input: '{}', status: 'done', attempts: 1, runAt: T, owner: null, output: null, error: null, journal: '[]', createdAt: T, startedAt: T, finishedAt: T, ...fields };
}

function history(actorId: string, rows: [string, HistoryRecord['status']][]): HistoryRecord[] {
  return rows.map(([eventType, status], i) => ({ actorId, runId: 'run-1', seq: i + 1, eventType, event: '{}', stateValue: '"s"', snapshot: '{}', status, version: 'v1', emitted: null, startedAt: T, durationUs: 0 }));
}

const failedActor = { id: 'run-1/kid', status: 'error' } as ActorRecord;

describe('planRetry', () => {
  it('runs a job that waits out a back-off now', () => {
    const jobs = [job('run-1:1:0'), job('run-1:2:0', { status: 'pending', attempts: 2, runAt: T + 60_000 })];
    expect(planRetry({ runId: 'run-1', jobs, failedActors: [], histories: new Map() }, { now: T })).toEqual({ mode: 'now', jobKey: 'run-1:2:0' });
  });

  it('forks from the step before a failed job was applied', () => {
    const jobs = [job('run-1:1:0', { status: 'failed' })];
    const histories = new Map([['run-1', history('run-1', [['xstate.init', 'active'], ['go', 'active'], ['xstate.error.actor.pay', 'active']])]]);
    expect(planRetry({ runId: 'run-1', jobs, failedActors: [], histories }, { now: T })).toEqual({ mode: 'fork', jobKey: 'run-1:1:0', actorId: 'run-1', seq: 2 });
  });

  it('refuses a failed job whose failure has not been applied yet, a job that did not fail, and a job the run does not have', () => {
    const jobs = [job('run-1:1:0', { status: 'failed' }), job('run-1:2:0')];
    const histories = new Map([['run-1', history('run-1', [['xstate.init', 'active']])]]);
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (error) {
        return (error as { code?: string }).code;
      }
      return 'no error';
    };
    expect(code(() => planRetry({ runId: 'run-1', jobs, failedActors: [], histories }, { now: T }))).toBe('nothing_to_retry');
    expect(code(() => planRetry({ runId: 'run-1', jobs, failedActors: [], histories }, { jobKey: 'run-1:2:0', now: T }))).toBe('nothing_to_retry');
    expect(code(() => planRetry({ runId: 'run-1', jobs, failedActors: [], histories }, { jobKey: 'nope', now: T }))).toBe('unknown_job');
    expect(code(() => planRetry({ runId: 'run-1', jobs: [], failedActors: [], histories }, { now: T }))).toBe('nothing_to_retry');
  });

  it('without a failed job, forks a failed actor from the step before it failed', () => {
    const histories = new Map([['run-1/kid', history('run-1/kid', [['xstate.init', 'active'], ['go', 'active'], ['boom', 'error']])]]);
    expect(planRetry({ runId: 'run-1', jobs: [job('run-1:1:0')], failedActors: [failedActor], histories }, { now: T })).toEqual({ mode: 'fork', jobKey: null, actorId: 'run-1/kid', seq: 2 });
  });
});
