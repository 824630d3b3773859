import { describe, expect, it } from 'vitest';
import { runLedger, spentOf } from './ledger.js';

const usage = (inputTokens: number, outputTokens: number) => ({ inputTokens, outputTokens, cacheReadTokens: 0, cacheWriteTokens: 0 });

describe('the ledger', () => {
  it('sums what the journal says was spent, for the whole run or one agent', () => {
    const journal = [
      { call: 'model', agent: 'writer', usage: usage(100, 20), costUsd: 0.001 },
      { call: 'model', agent: 'verifier', usage: usage(50, 5), costUsd: 0.0004 },
      { call: 'tool', agent: 'researcher', usage: usage(0, 0), costUsd: 0 },
      { attempt: 1, outcome: 'retry' },
    ];
    expect(spentOf(journal)).toEqual({ tokens: 175, usd: 0.0014 });
    expect(spentOf(journal, { agent: 'writer' })).toEqual({ tokens: 120, usd: 0.001 });
    expect(spentOf(journal, { agent: 'nobody' })).toEqual({ tokens: 0, usd: 0 });
  });

  it('totals a run per agent and per model, keeps the last breaker state and lists refused tools', () => {
    const jobs = [
      {
        key: 'run/w:2:0', actorId: 'run/w', src: 'draft', attempts: 2, status: 'done',
        journal: JSON.stringify([
          { attempt: 1, host: 'a', startedAt: 10, call: 'model', agent: 'writer', model: 'm1', decision: 'retry', usage: usage(0, 0), costUsd: 0, failure: { kind: 'rate_limit', message: 'slow down' }, breaker: { name: 'provider:p', state: 'closed', consecutiveFailures: 0 } },
          { attempt: 2, host: 'a', startedAt: 20, call: 'model', agent: 'writer', model: 'm1', decision: 'ok', usage: usage(100, 10), costUsd: 0.002, latencyMs: 30, breaker: { name: 'provider:p', state: 'closed', consecutiveFailures: 0 } },
        ]),
      },
      {
        key: 'run/r:3:1', actorId: 'run/r', src: 'useTool', attempts: 1, status: 'done',
        journal: [{ attempt: 1, host: 'a', startedAt: 15, call: 'tool', agent: 'researcher', tool: 'publish', decision: 'refused', usage: usage(0, 0), costUsd: 0, refused: { tool: 'publish', agent: 'researcher', allowed: ['search'] } }],
      },
    ];
    const ledger = runLedger(jobs);
    expect(ledger.calls.map((c) => c.decision)).toEqual(['retry', 'refused', 'ok']);
    expect(ledger.byAgent['writer']).toMatchObject({ calls: 2, tokens: 110, costUsd: 0.002, latencyMs: 30 });
    expect(Object.keys(ledger.byModel)).toEqual(['m1']);
    expect(ledger.breakers).toEqual([{ name: 'provider:p', state: 'closed', consecutiveFailures: 0, at: 20 }]);
    expect(ledger.refusals).toEqual([{ tool: 'publish', agent: 'researcher', allowed: ['search'], jobKey: 'run/r:3:1', at: 15 }]);
    expect(ledger.resume).toMatchObject({ resumes: 0, reExecuted: 0, notRepaid: { calls: 0, tokens: 0 } });
  });

  it('counts what a resume did not re-pay (calls journaled before it) and the attempts cut off in flight', () => {
    const ok = (host: string, startedAt: number, attempt = 1) => ({ attempt, host, startedAt, call: 'model', agent: 'writer', model: 'm', decision: 'ok', usage: usage(100, 50), costUsd: 0.001 });
    const jobs = [
      { key: 'r:1:0', actorId: 'r', src: 'a', attempts: 1, status: 'done', journal: [ok('first', 1)] },
      { key: 'r:2:0', actorId: 'r', src: 'b', attempts: 1, status: 'done', journal: [ok('first', 2)] },
      // killed in flight on the first host, run again on the second
      { key: 'r:3:0', actorId: 'r', src: 'c', attempts: 2, status: 'done', journal: [ok('second', 5, 2)] },
    ];
    const ledger = runLedger(jobs);
    expect(ledger.hosts).toEqual(['first', 'second']);
    expect(ledger.resume).toMatchObject({ resumes: 1, reExecuted: 1, notRepaid: { calls: 2, tokens: 300, costUsd: 0.002 } });
  });
});
