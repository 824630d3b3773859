import { afterEach, describe, expect, it } from 'vitest';
import { startPipelineHost, type PipelineHost } from './fixtures-pipeline/harness.js';

// Budgets are checked BEFORE each model call, against an estimate of the call plus what the
// run's journal says was already spent; a call that would overrun is never sent.

const hosts: PipelineHost[] = [];
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.close()));
});

async function host() {
  const started = await startPipelineHost();
  hosts.push(started);
  return started;
}

type Entry = Record<string, any> & { job: string; src: string };

describe('budgets', () => {
  it('does not make a call that would exceed the budget: the server sees no request', async () => {
    const h = await host();
    // The scripted model is priced at 1 USD / 2 USD per million tokens: the researcher's first call
    // is estimated at about 0.0018 USD (its prompt plus 800 output tokens), over its share of 0.00015.
    const { runId } = await h.runtime.startRun('supervisor', { input: { topic: 'durable execution', budget: { maxUsd: 0.0005 } } });
    const outcome = await h.finish(runId);
    expect(outcome).toMatchObject({ status: 'error', output: { status: 'stopped' } });
    expect((outcome as { output: { reason: string } }).output.reason).toMatch(/^Budget exceeded: researcher's next model call was not made/);
    expect(h.server.requests).toHaveLength(0);
    const journal = (await h.journal(runId)) as Entry[];
    const refused = journal.find((e) => e.decision === 'budget_exceeded')!;
    expect(refused).toMatchObject({ agent: 'researcher', outcome: 'failed', usage: { inputTokens: 0, outputTokens: 0 }, budget: { scope: 'agent', exceeded: 'usd', limit: 0.00015 } });
    expect(refused.budget.spent + refused.budget.estimate).toBeGreaterThan(refused.budget.limit);
  });

  it('stops before the call that would overrun, after the calls that fit, counting what the journal says was spent', async () => {
    const h = await host();
    // 4000 tokens: the researcher's share is 1200; its first call (~1000 estimated) fits, the second
    // (~190 spent + ~1200 estimated) does not.
    const { runId } = await h.runtime.startRun('supervisor', { input: { topic: 'durable execution', budget: { maxTokens: 4000 } } });
    const outcome = await h.finish(runId);
    expect(outcome).toMatchObject({ status: 'error', output: { status: 'stopped' } });
    const journal = (await h.journal(runId)) as Entry[];
    const made = journal.filter((e) => e.call === 'model' && e.decision === 'ok');
    const refused = journal.find((e) => e.decision === 'budget_exceeded')!;
    expect(made.length).toBeGreaterThan(0);
    const spentBefore = made.filter((e) => e.agent === refused.agent).reduce((n, e) => n + e.usage.inputTokens + e.usage.outputTokens, 0);
    expect(refused.budget).toMatchObject({ scope: 'agent', exceeded: 'tokens', spent: spentBefore, limit: 1200 });
    expect(refused.budget.spent + refused.budget.estimate).toBeGreaterThan(1200);
    // Every request the server saw was journaled; the refused call's key never reached it.
    expect(h.server.requests.map((r) => r.idempotencyKey)).toEqual(made.map((e) => e.idempotencyKey));
    expect(h.server.requests.some((r) => r.idempotencyKey === refused.idempotencyKey)).toBe(false);
  });

  it('splits the run budget among the agents it hands work to', async () => {
    const h = await host();
    const { runId } = await h.runtime.startRun('supervisor', { input: { topic: 'durable execution', budget: { maxTokens: 100_000, maxUsd: 1 } } });
    expect(await h.finish(runId)).toMatchObject({ status: 'done', output: { status: 'published' } });
    const handoffs = (await h.store.runHistory(runId)).map((s) => JSON.parse(s.event)).filter((e) => /\.requested$/.test(e.type));
    const shares = Object.fromEntries(handoffs.map((e) => [e.type, e.budget]));
    expect(shares).toEqual({
      'research.requested': { maxTokens: 30_000, maxUsd: 0.3 },
      'draft.requested': { maxTokens: 40_000, maxUsd: 0.4 },
      'verification.requested': { maxTokens: 30_000, maxUsd: 0.3 },
    });
    expect(handoffs.every((e) => e.runBudget.maxTokens === 100_000 && e.runBudget.maxUsd === 1)).toBe(true);
  });

  it('hands an exhausted budget to a person when the run says escalate, and goes on when the budget is raised', async () => {
    const h = await host();
    const { runId } = await h.runtime.startRun('supervisor', {
      input: { topic: 'durable execution', budget: { maxTokens: 4000 }, onBudgetExceeded: 'escalate' },
    });
    const waiting = await h.runtime.waitForRun(runId, { horizonMs: 0 });
    expect(waiting).toMatchObject({ status: 'waiting', state: 'needsHuman' });
    const sentBefore = h.server.requests.length;
    await expect(h.runtime.send(runId, { type: 'budget.raised', maxTokens: -5 })).rejects.toThrow(/maxTokens/);
    await h.runtime.send(runId, { type: 'budget.raised', maxTokens: 100_000 });
    expect(await h.finish(runId)).toMatchObject({ status: 'done', output: { status: 'published' } });
    expect(h.server.requests.length).toBeGreaterThan(sentBefore);
  });
});
