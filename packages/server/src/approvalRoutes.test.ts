import { createRuntime, defineActivity, defineMachine } from '@spine/runtime';
import { SqliteStore } from '@spine/store-sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { assign } from 'xstate';
import { z } from 'zod';
import type { ApprovalJson, AuditEntryJson, ServerMessage } from './protocol.js';
import { startServer } from './startServer.js';
import { tempDbPath } from './testing/machines.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

let published: unknown[] = [];
const publisher = defineMachine({
  name: 'publisher',
  config: {
    id: 'publisher',
    initial: 'publishing',
    states: {
      publishing: {
        meta: { risk: 'medium', approvalDeadlineMs: 600_000 },
        invoke: { id: 'publish', src: 'publish', onDone: { target: 'published', actions: 'keep' }, onError: { target: 'stopped', actions: 'keep' } },
      },
      published: { type: 'final' },
      stopped: { type: 'final' },
    },
  },
  schemas: { input: z.object({ title: z.string() }) },
  context: (input: { title: string }) => ({ title: input.title, reasoning: 'verified by two reviewers', result: null }),
  actions: { keep: assign({ result: ({ event }: any) => event.output ?? { kind: event.error.kind } }) },
  output: ({ context }: any) => context.result,
  activities: {
    publish: defineActivity({
      input: z.object({ title: z.string().min(1) }),
      mapInput: ({ context }) => ({ title: context.title }),
      async run(input) {
        published.push(input);
        return { url: `https://example.test/${encodeURIComponent(input.title)}` };
      },
    }),
  },
});

async function setup() {
  published = [];
  const store = await SqliteStore.open(tempDbPath());
  const runtime = createRuntime({ store, machines: [publisher], pollIntervalMs: 20, secret: 'server-test-secret-0123456789', secrets: [] });
  await runtime.start();
  const server = await startServer({ store, runtime, studioDir: '/nonexistent' });
  cleanups.push(async () => {
    await server.close();
    await runtime.stop();
    await store.close();
  });
  return { store, runtime, server };
}

async function http<T>(server: { url: string }, method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as T };
}

describe('studio server: approvals', () => {
  it('lists pending approvals with deadline, proposal and reasoning, and approves one with an edit', async () => {
    const { runtime, server } = await setup();
    const { runId } = await runtime.startRun('publisher', { input: { title: 'Draft' } });
    await runtime.waitForRun(runId, { horizonMs: 0 });
    const list = await http<{ available: boolean; serverTime: number; approvals: ApprovalJson[] }>(server, 'GET', '/api/approvals');
    expect(list.status).toBe(200);
    const [approval] = list.body.approvals;
    expect(approval).toMatchObject({ runId, src: 'publish', tier: 'medium', status: 'pending', proposal: { title: 'Draft' }, rationale: { reasoning: 'verified by two reviewers' }, escalated: false });
    expect(approval!.deadlineAt! - list.body.serverTime).toBeGreaterThan(590_000);

    const bad = await http<{ error: { code: string; issues: { path: string }[] } }>(server, 'POST', `/api/approvals/${encodeURIComponent(approval!.id)}/approve`, { by: 'ada', input: { title: '' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_input');
    expect(published).toEqual([]);
    const noName = await http<{ error: { code: string; issues: { path: string }[] } }>(server, 'POST', `/api/approvals/${encodeURIComponent(approval!.id)}/approve`, {});
    expect(noName.status).toBe(400);
    expect(noName.body.error.issues.map((i) => i.path)).toEqual(['by']);

    const ok = await http<{ status: string }>(server, 'POST', `/api/approvals/${encodeURIComponent(approval!.id)}/approve`, { by: 'ada', input: { title: 'Final' } });
    expect(ok).toMatchObject({ status: 200, body: { status: 'applied', approvalId: approval!.id, runId } });
    expect(await runtime.waitForRun(runId)).toMatchObject({ status: 'done', output: { url: 'https://example.test/Final' } });
    expect(published).toEqual([{ title: 'Final' }]);
    const again = await http<{ error: { code: string } }>(server, 'POST', `/api/approvals/${encodeURIComponent(approval!.id)}/reject`, { by: 'bob' });
    expect(again.status).toBe(409);

    const audit = await http<{ entries: AuditEntryJson[] }>(server, 'GET', `/api/audit?runId=${runId}`);
    expect(audit.body.entries.map((e) => [e.kind, e.who])).toEqual([
      ['approval.requested', 'agent:publisher'],
      ['approval.edited', 'ada'],
      ['activity.logged', 'agent:publisher'],
    ]);
    expect((await http<{ ok: boolean }>(server, 'GET', '/api/audit/verify')).body.ok).toBe(true);
    const provenance = await http<{ version: string; applied: { src: string } }>(server, 'GET', `/api/runs/${runId}/provenance?seq=2`);
    expect(provenance.body.applied.src).toBe('publish');
  });

  it('rejects over the WebSocket with a validated command, and refuses a malformed one', async () => {
    const { runtime, server } = await setup();
    const { runId } = await runtime.startRun('publisher', { input: { title: 'Draft' } });
    await runtime.waitForRun(runId, { horizonMs: 0 });
    const [approval] = await runtime.pendingApprovals(runId);
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/ws`);
    cleanups.push(async () => ws.close());
    const replies: ServerMessage[] = [];
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    ws.on('message', (data) => replies.push(JSON.parse(String(data)) as ServerMessage));
    const reply = async (id: string) => {
      for (let i = 0; i < 200; i++) {
        const found = replies.find((m) => m.type === 'reply' && m.id === id);
        if (found) return found;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      throw new Error(`no reply to ${id}`);
    };
    ws.send(JSON.stringify({ type: 'reject', id: 'r0', approvalId: approval!.id, by: 'grace', reason: 'wrong', extra: true }));
    expect(await reply('r0')).toMatchObject({ ok: false, error: { code: 'invalid_command' } });
    ws.send(JSON.stringify({ type: 'reject', id: 'r1', approvalId: approval!.id, by: 'grace', reason: 'wrong audience' }));
    expect(await reply('r1')).toMatchObject({ ok: true, result: { status: 'applied' } });
    expect(await runtime.waitForRun(runId)).toMatchObject({ status: 'done', output: { kind: 'rejected' } });
    expect(published).toEqual([]);
    const rejected = (await http<{ approvals: ApprovalJson[] }>(server, 'GET', `/api/approvals?status=rejected&runId=${runId}`)).body.approvals;
    expect(rejected).toMatchObject([{ decidedBy: 'grace', reason: 'wrong audience' }]);
  });
});

describe('studio server: run control keeps a person in the loop', () => {
  it('forks a run whose risky activity is held: the fork holds it too, with its own pending approval, and runs nothing until approved', async () => {
    const { store, runtime, server } = await setup();
    const { runId } = await runtime.startRun('publisher', { input: { title: 'Draft' } });
    await runtime.waitForRun(runId, { horizonMs: 0 });
    const fork = await http<{ runId: string; jobs: number }>(server, 'POST', `/api/runs/${runId}/fork`, { seq: 1 });
    expect(fork).toMatchObject({ status: 201, body: { jobs: 1 } });
    const forkId = fork.body.runId;

    await runtime.poke();
    expect(await runtime.waitForRun(forkId, { horizonMs: 0 })).toMatchObject({ status: 'waiting', state: 'publishing' });
    expect(published).toEqual([]);
    const [job] = await store.listJobs({ runId: forkId });
    expect(job).toMatchObject({ status: 'held', src: 'publish', attempts: 0 });
    const listed = (await http<{ approvals: ApprovalJson[] }>(server, 'GET', `/api/approvals?runId=${forkId}`)).body.approvals;
    expect(listed).toMatchObject([{ id: `approval:${job!.key}`, runId: forkId, status: 'pending', tier: 'medium', proposal: { title: 'Draft' }, rationale: { reasoning: 'verified by two reviewers', forkedFrom: { runId } } }]);
    expect(listed[0]!.deadlineAt).not.toBeNull();
    expect((await store.listAudit({ runId: forkId })).map((a) => [a.kind, a.who])).toEqual([
      ['run.forked', 'studio'],
      ['approval.requested', 'agent:publisher'],
    ]);

    const ok = await http<{ status: string }>(server, 'POST', `/api/approvals/${encodeURIComponent(listed[0]!.id)}/approve`, { by: 'ada' });
    expect(ok).toMatchObject({ status: 200, body: { status: 'applied' } });
    expect(await runtime.waitForRun(forkId)).toMatchObject({ status: 'done' });
    expect(published).toEqual([{ title: 'Draft' }]);
    // The source run still waits for its own person.
    expect(await runtime.pendingApprovals(runId)).toHaveLength(1);
  });

  it('forks a run whose risky activity was approved and ran: the fork asks again before it runs', async () => {
    const { store, runtime, server } = await setup();
    const { runId } = await runtime.startRun('publisher', { input: { title: 'Once' } });
    await runtime.waitForRun(runId, { horizonMs: 0 });
    await runtime.decide({ runId }, { decision: 'approve', by: 'ada' });
    expect(await runtime.waitForRun(runId)).toMatchObject({ status: 'done' });
    expect(published).toEqual([{ title: 'Once' }]);

    const fork = await http<{ runId: string }>(server, 'POST', `/api/runs/${runId}/fork`, { seq: 1 });
    expect(fork.status).toBe(201);
    await runtime.poke();
    expect(await runtime.waitForRun(fork.body.runId, { horizonMs: 0 })).toMatchObject({ status: 'waiting', state: 'publishing' });
    expect(published).toHaveLength(1);
    expect((await store.listJobs({ runId: fork.body.runId })).map((j) => j.status)).toEqual(['held']);
    const [approval] = await runtime.pendingApprovals(fork.body.runId);
    expect(JSON.parse(approval!.rationale)).toMatchObject({ forkedFrom: { runId, approvalStatus: 'approved' } });
  });

  it('cancels a run waiting for approval: the approval and the held job are cancelled and audited, and the inbox drops it', async () => {
    const { store, runtime, server } = await setup();
    const { runId } = await runtime.startRun('publisher', { input: { title: 'Draft' } });
    await runtime.waitForRun(runId, { horizonMs: 0 });
    const [approval] = await runtime.pendingApprovals(runId);

    const res = await http<{ stopped: string[] }>(server, 'POST', `/api/runs/${runId}/cancel`, { reason: 'wrong audience' });
    expect(res).toMatchObject({ status: 200, body: { stopped: [runId] } });
    expect(await store.getApproval(approval!.id)).toMatchObject({ status: 'cancelled' });
    expect((await store.listJobs({ runId })).map((j) => j.status)).toEqual(['cancelled']);
    const audit = await store.listAudit({ runId });
    expect(audit.map((a) => [a.kind, a.who])).toEqual([
      ['approval.requested', 'agent:publisher'],
      ['approval.cancelled', 'studio'],
      ['run.cancelled', 'studio'],
    ]);
    expect(JSON.parse(audit[2]!.detail)).toMatchObject({ reason: 'wrong audience', stopped: [runId] });
    expect((await http<{ approvals: ApprovalJson[] }>(server, 'GET', '/api/approvals')).body.approvals).toEqual([]);
    expect((await http<{ approvals: ApprovalJson[] }>(server, 'GET', `/api/approvals?status=cancelled&runId=${runId}`)).body.approvals).toMatchObject([{ id: approval!.id }]);
    const late = await http<{ error: { code: string } }>(server, 'POST', `/api/approvals/${encodeURIComponent(approval!.id)}/approve`, { by: 'ada' });
    expect(late.status).toBe(409);
    expect(published).toEqual([]);
    expect((await http<{ ok: boolean }>(server, 'GET', '/api/audit/verify')).body.ok).toBe(true);
  });
});
