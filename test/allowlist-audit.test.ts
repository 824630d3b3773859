import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLlmEnvironment, defineTool, grantTools, toolCallActivity } from '@spine/llm';
import { createRuntime, defineMachine } from '@spine/runtime';
import { SqliteStore } from '@spine/store-sqlite';
import { assign } from 'xstate';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';

// Least privilege, end to end: @spine/llm's tool activity refuses a tool the agent was not
// granted and journals the refusal; the runtime turns that journal entry into an audit row.
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

const calls: string[] = [];
const search = defineTool({ name: 'search', description: 'Search the corpus.', input: z.object({ q: z.string() }), output: z.object({ hits: z.number() }), run: ({ q }) => (calls.push(`search:${q}`), { hits: 3 }) });
const sendEmail = defineTool({ name: 'send_email', description: 'Send an email.', input: z.object({ to: z.string() }), output: z.object({ sent: z.boolean() }), run: ({ to }) => (calls.push(`send_email:${to}`), { sent: true }) });

const researcher = defineMachine({
  name: 'researcher',
  config: {
    id: 'researcher',
    initial: 'calling',
    states: {
      calling: { invoke: { id: 'tool', src: 'useTool', onDone: { target: 'done', actions: 'keep' } } },
      done: { type: 'final' },
    },
  },
  schemas: { input: z.object({ tool: z.string(), input: z.record(z.string(), z.unknown()) }) },
  context: (input: { tool: string; input: Record<string, unknown> }) => ({ call: { id: 'call-1', name: input.tool, input: input.input }, result: null }),
  actions: { keep: assign({ result: ({ event }: any) => ({ status: event.output.status, content: event.output.content }) }) },
  output: ({ context }: any) => context.result,
  activities: {
    useTool: toolCallActivity({
      agent: 'researcher',
      llm: createLlmEnvironment({ env: {} }),
      tools: grantTools([search, sendEmail], ['search'], { agent: 'researcher' }),
      call: ({ context }) => ({ call: context.call }),
    }),
  },
});

describe('tool allowlist and the audit log', () => {
  it('refuses a tool outside the agent\'s allowlist, never runs it, and audits the refusal', async () => {
    const store = await SqliteStore.open(join(mkdtempSync(join(tmpdir(), 'spine-allowlist-')), 'spine.db'));
    const runtime = createRuntime({ store, machines: [researcher], pollIntervalMs: 10, secrets: [] });
    cleanups.push(async () => {
      await runtime.stop();
      await store.close();
    });
    await runtime.start();

    const refused = await runtime.startRun('researcher', { input: { tool: 'send_email', input: { to: 'ceo@example.test' } } });
    expect(await runtime.waitForRun(refused.runId)).toMatchObject({ status: 'done', output: { status: 'refused' } });
    const allowed = await runtime.startRun('researcher', { input: { tool: 'search', input: { q: 'durable agents' } } });
    expect(await runtime.waitForRun(allowed.runId)).toMatchObject({ status: 'done', output: { status: 'ok' } });
    expect(calls).toEqual(['search:durable agents']);

    const rows = await store.listAudit({ runId: refused.runId });
    const refusal = rows.find((r) => r.kind === 'tool.refused');
    expect(refusal).toMatchObject({ who: 'agent:researcher', subject: `${refused.runId}:1:0` });
    expect(JSON.parse(refusal!.detail)).toMatchObject({ tool: 'send_email', agent: 'researcher' });
    expect((await store.listAudit({ runId: allowed.runId })).filter((r) => r.kind === 'tool.refused')).toEqual([]);
  });
});
