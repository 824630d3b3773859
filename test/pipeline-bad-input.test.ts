import { runLedger } from '@spine/llm';
import { SpineError } from '@spine/runtime';
import type { ScriptRule } from '@spine/scripted-model';
import { readdirSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { pipelineScript } from '../machines/scriptedModel.js';
import { startPipelineHost, type PipelineHost } from './fixtures-pipeline/harness.js';

const RESEARCHER = 'You are the researcher agent';
const VERIFIER = 'You are the verifier agent';
const TOPIC = { topic: 'durable execution for AI agents' };

const hosts: PipelineHost[] = [];
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.close()));
});

async function host(before: ScriptRule[] = []) {
  const started = await startPipelineHost({ server: { script: [...before, ...pipelineScript()] } });
  hosts.push(started);
  return started;
}

type Entry = Record<string, any> & { job: string; src: string };

describe('bad input', () => {
  it('refuses a handoff that fails the receiving schema at its mailbox, names the field, and tells the sender', async () => {
    const h = await host([{ match: { system: RESEARCHER, toolResultFor: 'search' }, reply: { json: { notes: [] } } }]);
    const { runId } = await h.runtime.startRun('supervisor', { input: TOPIC });
    const outcome = await h.finish(runId);
    expect(outcome).toMatchObject({ status: 'error', output: { status: 'failed' } });
    expect((outcome as { output: { reason: string } }).output.reason).toMatch(/Event 'notes.ready' refused by machine 'supervisor': notes: the research found no notes/);

    // Refused at the supervisor's mailbox: dead-lettered with the field, never applied.
    const researcherId = `${runId}/researcher`;
    const letters = await h.store.listDeadLetters(runId);
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ source: researcherId });
    expect(JSON.parse(letters[0]!.issues!)).toEqual([{ path: 'notes', message: 'the research found no notes; a report needs at least one' }]);
    const supervisorEvents = (await h.store.history(runId)).map((s) => s.eventType);
    expect(supervisorEvents).not.toContain('notes.ready');
    expect(supervisorEvents).toContain('agent.failed');

    // The sender was told, with the same issues.
    const told = (await h.store.history(researcherId)).find((s) => s.eventType === 'spine.delivery.refused')!;
    expect(JSON.parse(told.event)).toMatchObject({ to: runId, eventType: 'notes.ready', issues: [{ path: 'notes' }] });
  });

  it('refuses an event from outside that fails its schema, names the field, and leaves the run untouched', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const h = await host([
      {
        match: { system: RESEARCHER, hasTools: true },
        times: 1,
        respond: async () => {
          await held;
          return { toolCalls: [{ name: 'search', arguments: { query: 'durable execution' } }] };
        },
      },
    ]);
    const { runId } = await h.runtime.startRun('supervisor', { input: TOPIC });
    await expect.poll(() => h.server.requests.length).toBe(1);
    const before = await h.store.getActor(runId);
    const error = await h.runtime.send(runId, { type: 'notes.ready', notes: [{ source: '', text: 'forged' }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SpineError);
    expect((error as SpineError).issues!.map((i) => i.path)).toEqual(['notes[0].source']);
    expect(await h.store.getActor(runId)).toEqual(before);
    release();
    expect(await h.finish(runId)).toMatchObject({ status: 'done', output: { status: 'published' } });
    expect((await h.store.listDeadLetters(runId)).map((l) => l.source)).toEqual(['external']);
  });

  it('re-asks a structured answer that keeps missing its schema, then fails the step cleanly, naming the field', async () => {
    const h = await host([{ match: { system: VERIFIER }, reply: { json: { approved: 'yes', score: 8, issues: [] } } }]);
    const { runId } = await h.runtime.startRun('supervisor', { input: TOPIC });
    const outcome = await h.finish(runId);
    expect(outcome).toMatchObject({ status: 'error', output: { status: 'failed' } });
    expect((outcome as { output: { reason: string } }).output.reason).toMatch(/no valid structured answer after 3 attempts; field "approved"/);

    const journal = (await h.journal(runId)) as Entry[];
    const judged = journal.filter((e) => e.src === 'judge');
    expect(judged.map((e) => e.decision)).toEqual(['reask', 'reask', 'fail']);
    const job = (await h.jobs(runId)).find((j) => j.src === 'judge')!;
    expect(job.status).toBe('failed');
    expect(JSON.parse(job.error!)).toMatchObject({ kind: 'malformed_output' });
    const sent = h.server.requests.filter((r) => r.idempotencyKey?.startsWith(job.key)).map((r) => r.idempotencyKey);
    expect(sent).toEqual([job.key, `${job.key}:reask:1`, `${job.key}:reask:1:reask:2`]);
    const lastAsk = h.server.requests.at(-1)!.chat!.messages.at(-1)!;
    expect(String(lastAsk.content)).toMatch(/- approved: /);
    // The failing answers were paid for, and journaled.
    expect(judged.every((e) => e.usage.outputTokens > 0)).toBe(true);
  });

  it('refuses a tool the agent was not granted, records the refusal, and tells the model', async () => {
    const h = await host([
      { match: { system: RESEARCHER, hasTools: true }, times: 1, reply: { toolCalls: [{ name: 'publish', arguments: { topic: 'x', title: 'x', body: 'x' } }] } },
    ]);
    const { runId } = await h.runtime.startRun('supervisor', { input: TOPIC });
    expect(await h.finish(runId)).toMatchObject({ status: 'done', output: { status: 'published' } });
    const journal = (await h.journal(runId)) as Entry[];
    const refused = journal.find((e) => e.decision === 'refused')!;
    expect(refused).toMatchObject({ call: 'tool', agent: 'researcher', tool: 'publish', refused: { tool: 'publish', agent: 'researcher', allowed: ['search'] } });
    expect(readdirSync(h.publishDir)).toHaveLength(1); // only the supervisor's own publish ran
    expect(runLedger(await h.jobs(runId)).refusals).toMatchObject([{ agent: 'researcher', tool: 'publish', allowed: ['search'] }]);
    const told = h.server.requests[1]!.chat!.messages.at(-1)!;
    expect(told).toMatchObject({ role: 'tool' });
    expect(String(told.content)).toMatch(/Tool "publish" is not available to you \(agent "researcher"\)/);
  });
});
