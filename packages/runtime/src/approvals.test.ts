import { SqliteStore } from '@spine/store-sqlite';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { SimulatedClock } from './clock.js';
import { createRuntime, type RuntimeOptions } from './createRuntime.js';
import { signDecision, proposalHash } from './decisions.js';
import { defineActivity, defineMachine } from './defineMachine.js';
import { SpineError, TerminalError } from './errors.js';
import { MachineRegistry } from './MachineRegistry.js';
import type { Store } from './Store.js';
import { stepProvenance, promptHash } from './stepProvenance.js';
import { publisherMachine } from './testing/approvalFixtures.js';
import { EffectLog, tempDbPath } from './testing/fixtures.js';

const SECRET = 'test-secret-0123456789abcdef';
const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function openHost(path: string, machines: RuntimeOptions['machines'], options: Partial<RuntimeOptions> & { wrap?: (s: SqliteStore) => Store } = {}) {
  const sqlite = await SqliteStore.open(path);
  const store = options.wrap ? options.wrap(sqlite) : sqlite;
  const runtime = createRuntime({ pollIntervalMs: 10, secret: SECRET, secrets: [], ...options, store, machines, onError: () => {} });
  cleanup.push(async () => {
    await runtime.stop();
    await sqlite.close();
  });
  await runtime.start();
  return { runtime, sqlite };
}

const kinds = async (store: Store, runId: string) => (await store.listAudit({ runId })).map((a) => a.kind);

describe('risk tiers', () => {
  it('runs a low-risk activity at once and logs it in the audit log', async () => {
    const log = new EffectLog();
    const { runtime, sqlite } = await openHost(tempDbPath(), [publisherMachine(log, { risk: 'low' })]);
    const { runId } = await runtime.startRun('publisher', { input: { title: 'Hello' } });
    const outcome = await runtime.waitForRun(runId);
    expect(outcome).toMatchObject({ status: 'done', output: { url: 'https://example.test/blog/Hello' } });
    expect(log.total()).toBe(1);
    expect(await sqlite.listApprovals({ runId })).toEqual([]);
    const [logged] = (await sqlite.listAudit({ runId })).filter((a) => a.kind === 'activity.logged');
    expect(logged).toMatchObject({ who: 'agent:publisher', subject: `${runId}:1:0` });
    expect(JSON.parse(logged!.detail)).toMatchObject({ src: 'publish', tier: 'low', outcome: 'ok' });
  });

  it('holds a medium-risk activity for approval, written in the same commit as the step that asked for it', async () => {
    const log = new EffectLog();
    const { runtime, sqlite } = await openHost(tempDbPath(), [publisherMachine(log, { risk: 'medium', approvalDeadlineMs: 3_600_000 })]);
    const before = Date.now();
    const { runId } = await runtime.startRun('publisher', { input: { title: 'Hello' } });
    expect(await runtime.waitForRun(runId, { horizonMs: 0 })).toMatchObject({ status: 'waiting', state: 'publishing' });
    expect(log.total()).toBe(0);
    const job = (await sqlite.listJobs({ runId }))[0]!;
    expect(job.status).toBe('held');
    const [approval] = await runtime.pendingApprovals(runId);
    expect(approval).toMatchObject({ id: `approval:${job.key}`, tier: 'medium', status: 'pending', src: 'publish', seq: 1, onDeadline: 'escalate' });
    expect(approval!.deadlineAt! - before).toBeGreaterThanOrEqual(3_600_000);
    expect(JSON.parse(approval!.proposal)).toEqual({ title: 'Hello', channel: 'blog' });
    expect(JSON.parse(approval!.rationale)).toMatchObject({ reasoning: expect.stringContaining('three verified sources'), event: 'xstate.init', activity: 'publish' });
    // The step, the held job, the approval and its audit row are one commit: seq 1 wrote them all.
    const [step] = await sqlite.history(runId);
    expect(step!.seq).toBe(approval!.seq);
    expect(await kinds(sqlite, runId)).toEqual(['approval.requested']);

    const outcome = await runtime.decide({ runId }, { decision: 'approve', by: 'ada' });
    expect(outcome).toMatchObject({ status: 'applied', approvalId: approval!.id });
    expect(await runtime.waitForRun(runId)).toMatchObject({ status: 'done', output: { url: 'https://example.test/blog/Hello' } });
    expect(log.total()).toBe(1);
    expect(await kinds(sqlite, runId)).toEqual(['approval.requested', 'approval.approved', 'activity.logged']);
  });

  it('writes no approval when the step that asks for one fails to commit', async () => {
    const log = new EffectLog();
    let fail = true;
    let refused = 0;
    // A transient failure of every commit that carries an approval, by either write path (a lone
    // step or a group commit), until the test releases it. No poll runs in between (the interval is
    // an hour): the step is tried at start, then again only when the test pokes the host.
    const refuse = () => {
      refused++;
      throw new SpineError('storage_busy', 'crash before commit (injected)');
    };
    const { runtime, sqlite } = await openHost(tempDbPath(), [publisherMachine(log, { risk: 'medium' })], {
      pollIntervalMs: 3_600_000,
      wrap: (s) =>
        new Proxy(s, {
          get(target, prop, receiver) {
            if (prop === 'commitStep')
              return async (step: Parameters<Store['commitStep']>[0]) => {
                if (fail && step.approvals?.length) refuse();
                return target.commitStep(step);
              };
            if (prop === 'commitBatch')
              return async (entries: Parameters<NonNullable<Store['commitBatch']>>[0]) => {
                if (fail && entries.some((e) => e.step?.approvals?.length)) refuse();
                return target.commitBatch(entries);
              };
            const value = Reflect.get(target, prop, receiver);
            return typeof value === 'function' ? value.bind(target) : value;
          },
        }),
    });
    const { runId } = await runtime.startRun('publisher', { input: { title: 'Hello' } });
    await runtime.idle();
    // Refused with the run's creation (where the store creates an actor with its first step), then
    // once more as the usual first step of the run created alone; not again until poked.
    expect(refused).toBe(sqlite.createsWithStep ? 2 : 1);
    expect(await sqlite.listApprovals({ runId })).toEqual([]);
    expect(await sqlite.listAudit({ runId })).toEqual([]);
    const refusedAtStart = refused;
    fail = false;
    await runtime.poke();
    expect(await runtime.waitForRun(runId, { horizonMs: 0 })).toMatchObject({ status: 'waiting', state: 'publishing' });
    expect(await sqlite.listApprovals({ runId })).toHaveLength(1);
    expect(refused).toBe(refusedAtStart);
  });

  it('halts the whole run on a high-risk activity: no event is applied until a person decides', async () => {
    const log = new EffectLog();
    const { runtime, sqlite } = await openHost(tempDbPath(), [publisherMachine(log, { risk: 'high' })]);
    const { runId } = await runtime.startRun('publisher', { input: { title: 'Hello' } });
    expect(await runtime.waitForRun(runId, { horizonMs: 0 })).toMatchObject({ status: 'waiting' });
    expect(await sqlite.isRunHalted(runId)).toBe(true);
    await runtime.send(runId, { type: 'note.added', text: 'while halted' });
    await runtime.poke();
    await runtime.idle();
    expect((await sqlite.getActor(runId))!.seq).toBe(1); // the note waits in the mailbox
    expect(await runtime.waitForRun(runId, { horizonMs: 0 })).toMatchObject({ status: 'waiting' });
    expect(await kinds(sqlite, runId)).toEqual(['approval.requested', 'run.halted']);

    await runtime.decide({ runId }, { decision: 'approve', by: 'grace' });
    const outcome = await runtime.waitForRun(runId);
    expect(outcome).toMatchObject({ status: 'done', output: { notes: ['while halted'], url: 'https://example.test/blog/Hello' } });
    expect(log.total()).toBe(1);
  });

  it('refuses a tier it does not know, naming where it was declared', async () => {
    const log = new EffectLog();
    const { runtime } = await openHost(tempDbPath(), [publisherMachine(log, { risk: 'extreme' })]);
    // Refused when the machine is validated (at start), or at the latest by the step that invokes it.
    const message = await runtime
      .startRun('publisher', { input: { title: 'Hello' } })
      .then(async ({ runId }) => JSON.stringify(await runtime.waitForRun(runId)))
      .catch((error: Error) => error.message);
    expect(message).toMatch(/publishing.*meta\.risk.*'extreme'/);
    expect(log.total()).toBe(0);
  });
});

describe('decisions', () => {
  it('runs the edited proposal after edit-then-approve, and refuses an edit that does not fit the input schema', async () => {
    const log = new EffectLog();
    const { runtime, sqlite } = await openHost(tempDbPath(), [publisherMachine(log, { risk: 'medium' })]);
    const { runId } = await runtime.startRun('publisher', { input: { title: 'Hello' } });
    await runtime.waitForRun(runId, { horizonMs: 0 });
    const bad = runtime.decide({ runId }, { decision: 'approve', by: 'ada', input: { title: '', channel: 'radio' } });
    await expect(bad).rejects.toThrow(/title: .*; channel: /);
    await expect(bad).rejects.toMatchObject({ code: 'invalid_input' });
    expect((await runtime.pendingApprovals(runId))).toHaveLength(1);

    await runtime.decide({ runId }, { decision: 'approve', by: 'ada', input: { title: 'Hello, edited', channel: 'news' }, reason: 'softer title' });
    expect(await runtime.waitForRun(runId)).toMatchObject({ status: 'done', output: { url: 'https://example.test/news/Hello%2C%20edited' } });
    const approval = (await sqlite.listApprovals({ runId }))[0]!;
    expect(approval).toMatchObject({ status: 'approved', decidedBy: 'ada', reason: 'softer title' });
    expect(JSON.parse(approval.editedInput!)).toEqual({ title: 'Hello, edited', channel: 'news' });
    const edited = (await sqlite.listAudit({ runId })).find((a) => a.kind === 'approval.edited')!;
    expect(edited.who).toBe('ada');
    expect(JSON.parse(edited.detail)).toMatchObject({ proposal: { title: 'Hello', channel: 'blog' }, editedInput: { title: 'Hello, edited', channel: 'news' } });
  });

  it('merges a partial edit into the proposal field by field, and checks the merged proposal', async () => {
    const log = new EffectLog();
    const { runtime, sqlite } = await openHost(tempDbPath(), [publisherMachine(log, { risk: 'medium' })]);
    const { runId } = await runtime.startRun('publisher', { input: { title: 'Hello' } });
    await runtime.waitForRun(runId, { horizonMs: 0 });
    await expect(runtime.decide({ runId }, { decision: 'approve', by: 'ada', input: { title: 5 } })).rejects.toThrow(/title: .*expected string/i);
    await runtime.decide({ runId }, { decision: 'approve', by: 'ada', input: { channel: 'news' } });
    expect(await runtime.waitForRun(runId)).toMatchObject({ status: 'done', output: { url: 'https://example.test/news/Hello' } });
    expect(JSON.parse((await sqlite.listApprovals({ runId }))[0]!.editedInput!)).toEqual({ title: 'Hello', channel: 'news' });
  });

  it('delivers a rejection as xstate.error.actor.<id> with kind rejected, and never runs the activity', async () => {
    const log = new EffectLog();
    const { runtime, sqlite } = await openHost(tempDbPath(), [publisherMachine(log, { risk: 'medium' })]);
    const { runId } = await runtime.startRun('publisher', { input: { title: 'Hello' } });
    await runtime.waitForRun(runId, { horizonMs: 0 });
    await runtime.decide({ runId }, { decision: 'reject', by: 'linus', reason: 'sources are paywalled' });
    const outcome = await runtime.waitForRun(runId);
    expect(outcome).toMatchObject({
      status: 'done',
      output: { url: null, error: { kind: 'rejected', message: "linus rejected 'publish': sources are paywalled.", details: { by: 'linus', reason: 'sources are paywalled' } } },
    });
    expect(log.total()).toBe(0);
    expect((await sqlite.listJobs({ runId }))[0]).toMatchObject({ status: 'failed' });
    await expect(runtime.decide({ runId }, { decision: 'approve', by: 'ada' })).rejects.toMatchObject({ code: 'unknown_approval' });
  });

  it('refuses and audits a forged decision (signed with another secret) and an altered one; the approval stays open', async () => {
    const log = new EffectLog();
    const { runtime, sqlite } = await openHost(tempDbPath(), [publisherMachine(log, { risk: 'medium' })]);
    const { runId } = await runtime.startRun('publisher', { input: { title: 'Hello' } });
    await runtime.waitForRun(runId, { horizonMs: 0 });
    const approval = (await runtime.pendingApprovals(runId))[0]!;
    const claim = { approvalId: approval.id, runId, jobKey: approval.jobKey, proposalHash: proposalHash(approval.proposal), decision: 'approve' as const, by: 'mallory', at: Date.now() };

    const forged = signDecision(claim, 'not-the-server-secret');
    await sqlite.submitDecision({ approvalId: approval.id, ...forged });
    const signed = signDecision({ ...claim, by: 'ada' }, SECRET);
    const altered = signed.payload.replace('"by":"ada"', '"by":"mallory"');
    expect(altered).not.toBe(signed.payload);
    await sqlite.submitDecision({ approvalId: approval.id, payload: altered, signature: signed.signature });
    await runtime.poke();
    await runtime.idle();

    expect(log.total()).toBe(0);
    expect((await sqlite.getApproval(approval.id))!.status).toBe('pending');
    expect((await sqlite.listJobs({ runId }))[0]!.status).toBe('held');
    const refused = (await sqlite.listAudit({ runId })).filter((a) => a.kind === 'decision.refused');
    expect(refused).toHaveLength(2);
    for (const row of refused) {
      expect(row.who).toBe('system');
      expect(JSON.parse(row.detail)).toMatchObject({ claimedBy: 'mallory', reason: expect.stringContaining('forged or altered') });
    }
    expect(await sqlite.pendingDecisions(10)).toEqual([]);
    // The genuine decision still works afterwards.
    await runtime.decide({ runId }, { decision: 'approve', by: 'ada' });
    expect(await runtime.waitForRun(runId)).toMatchObject({ status: 'done' });
    expect(log.total()).toBe(1);
  });

  it('wakes the host that holds the run when another process decides, instead of leaving it to its next poll', async () => {
    const log = new EffectLog();
    const path = tempDbPath();
    // Neither host polls within the test: only a wake moves the run on once it waits.
    const a = await openHost(path, [publisherMachine(log, { risk: 'medium' })], { hostId: 'A', pollIntervalMs: 3_600_000 });
    const { runId } = await a.runtime.startRun('publisher', { input: { title: 'Hello' } });
    expect(await a.runtime.waitForRun(runId, { horizonMs: 0 })).toMatchObject({ status: 'waiting' });
    const b = await openHost(path, [publisherMachine(log, { risk: 'medium' })], { hostId: 'B', pollIntervalMs: 3_600_000 });
    expect(await b.runtime.decide({ runId }, { decision: 'approve', by: 'ada' })).toMatchObject({ status: 'applied' });
    // B cannot take the run (A holds it under a live lease); A runs the approved activity once woken.
    const timedOut = new Promise<'timed out'>((resolve) => setTimeout(() => resolve('timed out'), 10_000).unref());
    expect(await Promise.race([a.runtime.waitForRun(runId), timedOut])).toMatchObject({ status: 'done' });
    expect(log.total()).toBe(1);
    expect((await a.sqlite.getActor(runId))?.owner).toBe('A');
  });

  it('leaves submitted decisions alone on a host without the secret, for a host that has it', async () => {
    const log = new EffectLog();
    const path = tempDbPath();
    const a = await openHost(path, [publisherMachine(log, { risk: 'medium' })], { hostId: 'A' });
    const { runId } = await a.runtime.startRun('publisher', { input: { title: 'Hello' } });
    await a.runtime.waitForRun(runId, { horizonMs: 0 });
    await a.runtime.stop();
    const b = await openHost(path, [publisherMachine(log, { risk: 'medium' })], { hostId: 'B', secret: () => undefined });
    const approval = (await b.runtime.pendingApprovals(runId))[0]!;
    const signed = signDecision({ approvalId: approval.id, runId, jobKey: approval.jobKey, proposalHash: proposalHash(approval.proposal), decision: 'approve', by: 'ada', at: Date.now() }, SECRET);
    await b.sqlite.submitDecision({ approvalId: approval.id, ...signed });
    await b.runtime.poke();
    expect(await b.sqlite.pendingDecisions(10)).toHaveLength(1);
    await expect(b.runtime.decide({ runId }, { decision: 'approve', by: 'ada' })).rejects.toMatchObject({ code: 'no_secret' });
    await b.runtime.stop();
    const c = await openHost(path, [publisherMachine(log, { risk: 'medium' })], { hostId: 'C' });
    expect(await c.runtime.waitForRun(runId)).toMatchObject({ status: 'done' });
    expect(log.total()).toBe(1);
  });
});

describe('deadlines', () => {
  it('escalates right after restart when the deadline passed while no host ran', async () => {
    const log = new EffectLog();
    const path = tempDbPath();
    const clock = new SimulatedClock(Date.now());
    const machines = [publisherMachine(log, { risk: 'medium', approvalDeadlineMs: 60_000, onDeadline: 'escalate' })];
    const a = await openHost(path, machines, { clock, hostId: 'A' });
    const { runId } = await a.runtime.startRun('publisher', { input: { title: 'Hello' } });
    await a.runtime.waitForRun(runId, { horizonMs: 0 });
    expect((await a.runtime.pendingApprovals(runId))[0]!.deadlineAt).toBe(clock.now() + 60_000);
    await a.runtime.stop();

    clock.advance(61_000); // the process is down while the deadline passes
    const b = await openHost(path, machines, { clock, hostId: 'B' });
    await b.runtime.idle();
    const approval = (await b.sqlite.listApprovals({ runId }))[0]!;
    expect(approval).toMatchObject({ status: 'pending', escalatedAt: clock.now() });
    const escalated = (await b.sqlite.listAudit({ runId })).find((r) => r.kind === 'approval.escalated')!;
    expect(escalated).toMatchObject({ who: 'system', at: clock.now() });
    expect(JSON.parse(escalated.detail)).toMatchObject({ overdueMs: 1_000 });
    expect(JSON.parse((await b.sqlite.getActor(runId))!.snapshot!).context.escalated).toBe(true);
    // Escalated, still open: a person can still decide.
    await b.runtime.decide({ runId }, { decision: 'approve', by: 'ada' });
    expect(await b.runtime.waitForRun(runId)).toMatchObject({ status: 'done', output: { escalated: true } });
  });

  it("halts the work when the deadline passes with onDeadline 'halt': the machine gets kind 'expired'", async () => {
    const log = new EffectLog();
    const clock = new SimulatedClock(Date.now());
    const { runtime, sqlite } = await openHost(tempDbPath(), [publisherMachine(log, { risk: 'medium', approvalDeadlineMs: 1_000, onDeadline: 'halt' })], { clock });
    const { runId } = await runtime.startRun('publisher', { input: { title: 'Hello' } });
    await runtime.waitForRun(runId, { horizonMs: 0 });
    clock.advance(1_001);
    await runtime.poke();
    expect(await runtime.waitForRun(runId)).toMatchObject({ status: 'done', output: { error: { kind: 'expired' } } });
    expect(log.total()).toBe(0);
    expect((await sqlite.listApprovals({ runId }))[0]).toMatchObject({ status: 'expired', decidedBy: 'system' });
  });

  it('cancels the approval when the machine leaves the state before anyone decides', async () => {
    const log = new EffectLog();
    const { runtime, sqlite } = await openHost(tempDbPath(), [publisherMachine(log, { risk: 'medium' })]);
    const { runId } = await runtime.startRun('publisher', { input: { title: 'Hello' } });
    await runtime.waitForRun(runId, { horizonMs: 0 });
    const approvalId = (await runtime.pendingApprovals(runId))[0]!.id;
    await sqlite.enqueue([{ actorId: runId, type: 'xstate.error.actor.publish', event: JSON.stringify({ type: 'xstate.error.actor.publish', error: { message: 'gave up' } }), dueAt: Date.now(), source: 'test' }]);
    await runtime.poke();
    await runtime.waitForRun(runId);
    expect(await sqlite.getApproval(approvalId)).toMatchObject({ status: 'cancelled' });
    expect((await sqlite.listJobs({ runId }))[0]!.status).toBe('cancelled');
    expect(await kinds(sqlite, runId)).toContain('approval.cancelled');
  });
});

describe('audit log', () => {
  it("shows who approved what and when, and cannot be changed through the store's API or its SQL", async () => {
    const log = new EffectLog();
    const { runtime, sqlite } = await openHost(tempDbPath(), [publisherMachine(log, { risk: 'medium' })]);
    const { runId } = await runtime.startRun('publisher', { input: { title: 'Hello' } });
    await runtime.waitForRun(runId, { horizonMs: 0 });
    const t = Date.now();
    await runtime.decide({ runId }, { decision: 'approve', by: 'ada' });
    await runtime.waitForRun(runId);
    const approved = (await sqlite.listAudit({ runId })).find((r) => r.kind === 'approval.approved')!;
    expect(approved.who).toBe('ada');
    expect(approved.subject).toMatch(/^approval:/);
    expect(JSON.parse(approved.detail)).toMatchObject({ src: 'publish', proposal: { title: 'Hello', channel: 'blog' }, decidedAt: expect.any(Number) });
    expect(approved.at).toBeGreaterThanOrEqual(t);

    // The API has no way to change a row.
    const api = Object.getOwnPropertyNames(Object.getPrototypeOf(sqlite)).filter((name) => /audit/i.test(name));
    expect(api.sort()).toEqual(['appendAudit', 'listAudit', 'verifyAudit']);
    // Appending re-chains and never rewrites: the old row is still there, unchanged.
    await sqlite.appendAudit([{ ...approved, detail: '{"forged":true}' }]);
    expect((await sqlite.listAudit({ runId })).find((r) => r.seq === approved.seq)).toEqual(approved);
    // Not even SQL on Spine's own connection can change or delete it: triggers abort.
    expect(() => sqlite.db.prepare("UPDATE audit_log SET who = 'mallory' WHERE seq = ?").run(approved.seq)).toThrow(/append-only/);
    expect(() => sqlite.db.prepare('DELETE FROM audit_log WHERE seq = ?').run(approved.seq)).toThrow(/append-only/);
    expect(await sqlite.verifyAudit()).toMatchObject({ ok: true });

    // Someone with the file drops the trigger and edits a row: the chain shows where.
    sqlite.db.exec('DROP TRIGGER audit_log_no_update');
    sqlite.db.prepare("UPDATE audit_log SET who = 'mallory' WHERE seq = ?").run(approved.seq);
    expect(await sqlite.verifyAudit()).toMatchObject({ ok: false, firstBadSeq: approved.seq, reason: expect.stringContaining('altered') });
  });

  it('records refused tool calls and budget stops from activity journals', async () => {
    const agent = defineMachine({
      name: 'agent',
      config: { id: 'agent', initial: 'researching', states: { researching: { invoke: { id: 'research', src: 'research', onDone: 'spending', onError: 'spending' } }, spending: { invoke: { id: 'spend', src: 'spend', onError: 'stopped', onDone: 'stopped' } }, stopped: { type: 'final' } } },
      schemas: {},
      activities: {
        research: defineActivity({
          async run(_input, ctx) {
            ctx.record({ agent: 'researcher', refusedTool: { tool: 'send_email', agent: 'researcher' } });
            const error = new TerminalError('Agent "researcher" may not call tool "delete_repo"; it was granted "search".', { kind: 'tool_not_allowed' });
            error.name = 'ToolNotAllowedError';
            throw error;
          },
        }),
        spend: defineActivity({
          async run(_input, ctx) {
            ctx.record({ agent: 'writer', decision: 'budget_exceeded', spent: 1.2, budget: 1 });
            throw new TerminalError('Budget exceeded', { kind: 'budget_exceeded' });
          },
        }),
      },
    });
    const { runtime, sqlite } = await openHost(tempDbPath(), [agent]);
    const { runId } = await runtime.startRun('agent');
    expect(await runtime.waitForRun(runId)).toMatchObject({ status: 'done' });
    const rows = await sqlite.listAudit({ runId });
    expect(rows.filter((r) => r.kind === 'tool.refused').map((r) => JSON.parse(r.detail).tool).sort()).toEqual(['delete_repo', 'send_email']);
    expect(rows.find((r) => r.kind === 'tool.refused')!.who).toBe('agent:researcher');
    expect(rows.filter((r) => r.kind === 'budget.stopped')).toHaveLength(1);
  });

  it('records every new machine version once', async () => {
    const log = new EffectLog();
    const path = tempDbPath();
    const v1 = publisherMachine(log, { risk: 'low' });
    const v2 = publisherMachine(log, { risk: 'medium' });
    const a = await openHost(path, [v1]);
    await a.runtime.startRun('publisher', { input: { title: 'a' } });
    await a.runtime.startRun('publisher', { input: { title: 'b' } });
    const b = await openHost(path, new MachineRegistry(), {});
    b.runtime.registry.register(v2);
    await b.runtime.startRun('publisher', { input: { title: 'c' } });
    const versions = (await a.sqlite.listAudit()).filter((r) => r.kind === 'machine.version');
    expect(versions.map((r) => JSON.parse(r.detail))).toEqual([
      { machine: 'publisher', version: expect.any(String), previous: null },
      { machine: 'publisher', version: expect.any(String), previous: JSON.parse(versions[0]!.detail).version },
    ]);
  });
});

describe('versions', () => {
  it('answers which machine version, prompt and model produced a step', async () => {
    const log = new EffectLog();
    const { runtime, sqlite } = await openHost(tempDbPath(), [publisherMachine(log, { risk: 'low' })]);
    const { runId, version } = await runtime.startRun('publisher', { input: { title: 'Hello' } });
    await runtime.waitForRun(runId);
    const history = await sqlite.history(runId);
    const resultStep = history.find((h) => h.eventType === 'xstate.done.actor.publish')!;
    const provenance = await stepProvenance(sqlite, { actorId: runId, seq: resultStep.seq });
    expect(provenance).toMatchObject({
      version,
      eventType: 'xstate.done.actor.publish',
      applied: { src: 'publish', models: ['writer-1'], providers: ['scripted'], promptVersions: [promptHash('Publish {title} to {channel}.')] },
    });
    expect((await stepProvenance(sqlite, { actorId: runId, seq: 1 })).requested).toMatchObject([{ src: 'publish', models: ['writer-1'] }]);
    await expect(stepProvenance(sqlite, { actorId: runId, seq: 99 })).rejects.toBeInstanceOf(SpineError);
  });
});

describe('secrets', () => {
  it('never writes a secret to the database: input, context, journal, output, errors, audit', async () => {
    const secret = 'sk-test-DO-NOT-STORE-4242424242';
    const leaky = defineMachine({
      name: 'leaky',
      config: { id: 'leaky', initial: 'calling', states: { calling: { invoke: { id: 'call', src: 'call', onDone: { target: 'failing', actions: 'keep' } } }, failing: { invoke: { id: 'fail', src: 'fail', onError: { target: 'done', actions: 'keep' } } }, done: { type: 'final' } } },
      schemas: { input: z.object({ apiKey: z.string() }) },
      context: (input: { apiKey: string }) => ({ apiKey: input.apiKey, seen: [] as unknown[] }),
      actions: { keep: (await import('xstate')).assign({ seen: ({ context, event }: any) => [...context.seen, event.output ?? event.error] }) },
      output: ({ context }: any) => context,
      activities: {
        call: defineActivity({ async run(_input, ctx) { ctx.record({ authorization: `Bearer ${secret}`, model: 'm' }); return { echoed: secret }; } }),
        fail: defineActivity({ async run() { throw new TerminalError(`provider said: invalid key ${secret}`); } }),
      },
    });
    const path = tempDbPath();
    const { runtime, sqlite } = await openHost(path, [leaky], { secrets: [secret] });
    const { runId } = await runtime.startRun('leaky', { input: { apiKey: secret } });
    const outcome = await runtime.waitForRun(runId);
    expect(outcome.status).toBe('done');
    expect(JSON.stringify(outcome)).toContain('[redacted]');
    sqlite.db.pragma('wal_checkpoint(TRUNCATE)'); // raw on purpose: the test greps the database files' bytes
    for (const file of [path, `${path}-wal`]) {
      let bytes: Buffer;
      try {
        bytes = readFileSync(file);
      } catch {
        continue;
      }
      expect(bytes.includes(Buffer.from(secret)), file).toBe(false);
    }
  });
});
