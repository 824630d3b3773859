import { startScriptedModelServer, type ScriptedModelServer, type ScriptRule } from '@spine/scripted-model';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTool } from './defineTool.js';
import { ToolNotAllowedError } from './errors.js';
import { grantTools } from './grantTools.js';
import { resolveProvider } from './resolveProvider.js';
import { runToolLoop } from './runToolLoop.js';
import { seededRandom } from './seededRandom.js';

const servers: ScriptedModelServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function setup(script: ScriptRule[]) {
  const server = await startScriptedModelServer({ script });
  servers.push(server);
  const provider = resolveProvider({ OPENAI_BASE_URL: server.url }, { model: 'scripted' });
  return { server, provider };
}

type Body = { messages: { role: string; content: string | null; tool_call_id?: string }[]; tools?: { function: { name: string } }[] };

function makeTools() {
  const calls = { lookup: [] as string[], flaky: [] as string[] };
  const lookup = defineTool({
    name: 'lookup',
    description: 'Looks up an order by id.',
    input: z.object({ id: z.number() }),
    output: z.object({ status: z.string() }),
    run: (_input, { idempotencyKey }) => {
      calls.lookup.push(idempotencyKey);
      return { status: 'shipped' };
    },
  });
  const flaky = defineTool({
    name: 'flaky',
    description: 'Always fails.',
    input: z.object({}),
    output: z.unknown(),
    run: (_input, { idempotencyKey }) => {
      calls.flaky.push(idempotencyKey);
      throw new Error('upstream 503');
    },
  });
  const email = defineTool({ name: 'send_email', description: 'Sends an email.', input: z.object({}), output: z.unknown(), run: () => 'sent' });
  return { calls, lookup, flaky, email };
}

const question = [{ role: 'user' as const, content: 'Where is order 42?' }];

describe('runToolLoop', () => {
  it('runs the tools the model asks for, feeds the results back, and returns the final answer', async () => {
    const { server, provider } = await setup([
      { match: { lastUser: 'order 42', toolResultFor: 'lookup' }, reply: { content: 'Order 42 has shipped.', usage: { prompt_tokens: 30, completion_tokens: 5 } } },
      { match: { lastUser: 'order 42' }, reply: { toolCalls: [{ name: 'lookup', arguments: { id: 42 } }], usage: { prompt_tokens: 20, completion_tokens: 8 } } },
    ]);
    const { calls, lookup } = makeTools();
    const result = await runToolLoop({ messages: question }, { provider, idempotencyKey: 'run:5:0', tools: [lookup] });

    expect(result).toMatchObject({ text: 'Order 42 has shipped.', stoppedBy: 'answer', steps: 2, disabledTools: [] });
    expect(result.usage).toMatchObject({ inputTokens: 50, outputTokens: 13 });
    expect(calls.lookup).toEqual(['run:5:0:tool:1']);
    expect(result.toolCalls).toEqual([{ n: 1, tool: 'lookup', idempotencyKey: 'run:5:0:tool:1', attempts: 1, outcome: 'ok' }]);
    expect(result.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'tool', 'assistant']);
    expect(result.messages[2]).toMatchObject({ role: 'tool', toolName: 'lookup', content: '{"status":"shipped"}' });
    expect(server.requests.map((r) => r.idempotencyKey)).toEqual(['run:5:0:model:1', 'run:5:0:model:2']);
  });

  it('retries a failing tool, then disables it for the run and tells the model', async () => {
    const { server, provider } = await setup([
      { match: { toolResultFor: 'flaky' }, times: 1, reply: { toolCalls: [{ name: 'flaky', arguments: {} }] } },
      { match: { toolResultFor: 'flaky' }, reply: { content: 'I could not check the warehouse, but order 42 has shipped.' } },
      { match: { lastUser: 'order 42' }, reply: { toolCalls: [{ name: 'lookup', arguments: { id: 42 } }, { name: 'flaky', arguments: {} }] } },
    ]);
    const { calls, lookup, flaky } = makeTools();
    const delays: number[] = [];
    const result = await runToolLoop(
      { messages: question },
      {
        provider,
        idempotencyKey: 'run:6:0',
        tools: [lookup, flaky],
        random: seededRandom(3),
        sleep: async (ms) => {
          delays.push(ms);
        },
      },
    );

    expect(result.text).toBe('I could not check the warehouse, but order 42 has shipped.');
    expect(result.disabledTools).toEqual(['flaky']);
    // Three attempts, all with the same idempotency key, and never again once disabled.
    expect(calls.flaky).toEqual(['run:6:0:tool:2', 'run:6:0:tool:2', 'run:6:0:tool:2']);
    expect(delays).toHaveLength(2);
    expect(delays[0]).toBeLessThan(100);
    expect(delays[1]).toBeLessThan(200);
    expect(result.toolCalls.map((r) => [r.n, r.tool, r.outcome, r.attempts])).toEqual([
      [1, 'lookup', 'ok', 1],
      [2, 'flaky', 'failed_and_disabled', 3],
      [3, 'flaky', 'skipped_disabled', 0],
    ]);

    const second = server.requests[1]!.body as Body;
    const flakyResult = second.messages.at(-1)!;
    expect(flakyResult.role).toBe('tool');
    expect(flakyResult.content).toMatch(/failed 3 times \(last error: Tool "flaky" failed: upstream 503\)\. Tool "flaky" is disabled for the rest of this run/);
    // The disabled tool is no longer offered.
    expect(second.tools!.map((t) => t.function.name)).toEqual(['lookup']);
    const third = server.requests[2]!.body as Body;
    expect(third.messages.at(-1)!.content).toMatch(/disabled for the rest of this run/);
  });

  it('sends invalid arguments back to the model to fix, without disabling the tool', async () => {
    const { provider } = await setup([
      { match: { toolResultFor: 'lookup' }, times: 1, reply: { toolCalls: [{ name: 'lookup', arguments: { id: 42 } }] } },
      { match: { toolResultFor: 'lookup' }, reply: { content: 'done' } },
      { match: { lastUser: 'order 42' }, reply: { toolCalls: [{ name: 'lookup', arguments: { id: 'forty-two' } }] } },
    ]);
    const { calls, lookup } = makeTools();
    const result = await runToolLoop({ messages: question }, { provider, idempotencyKey: 'k', tools: [lookup] });
    expect(result.toolCalls.map((r) => r.outcome)).toEqual(['invalid_input', 'ok']);
    expect(result.messages[2]).toMatchObject({ role: 'tool', isError: true, content: expect.stringMatching(/id: .*expected number.*Fix the arguments/is) });
    expect(calls.lookup).toEqual(['k:tool:2']);
    expect(result.disabledTools).toEqual([]);
  });

  it('refuses, records and stops on a tool the agent was not granted', async () => {
    const { provider } = await setup([{ reply: { toolCalls: [{ name: 'send_email', arguments: {} }] } }]);
    const { lookup, email } = makeTools();
    const tools = grantTools([lookup, email], ['lookup'], { agent: 'support' });
    const promise = runToolLoop({ messages: question }, { provider, idempotencyKey: 'k', tools });
    await expect(promise).rejects.toBeInstanceOf(ToolNotAllowedError);
    await expect(promise).rejects.toMatchObject({ tool: 'send_email', agent: 'support' });
    expect(tools.refusals).toEqual([{ tool: 'send_email', agent: 'support' }]);
  });

  it('stops after maxSteps model calls when the model keeps calling tools', async () => {
    const { server, provider } = await setup([{ reply: { toolCalls: [{ name: 'lookup', arguments: { id: 1 } }] } }]);
    const { lookup } = makeTools();
    const result = await runToolLoop({ messages: question }, { provider, idempotencyKey: 'k', tools: [lookup], maxSteps: 3 });
    expect(result).toMatchObject({ stoppedBy: 'max_steps', steps: 3, text: '' });
    expect(server.requests).toHaveLength(3);
  });
});
