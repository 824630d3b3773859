import { startScriptedModelServer, type ScriptedModelServer, type ScriptRule } from '@spine/scripted-model';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { callStructured } from './callStructured.js';
import { MalformedOutputError, ModelCallError } from './errors.js';
import { resolveProvider } from './resolveProvider.js';

const servers: ScriptedModelServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

const Order = z.object({ orderId: z.string(), items: z.array(z.object({ sku: z.string(), price: z.number() })) });
const usage = { prompt_tokens: 100, completion_tokens: 20 };

async function setup(script: ScriptRule[]) {
  const server = await startScriptedModelServer({ script });
  servers.push(server);
  const provider = resolveProvider({ OPENAI_BASE_URL: server.url }, { model: 'scripted' });
  return { server, options: { provider, idempotencyKey: 'run:1:0', timeoutMs: 5_000 } };
}

const request = { messages: [{ role: 'user' as const, content: 'Extract the order.' }], schema: Order };

describe('callStructured', () => {
  it('re-asks with the failing field and the schema when the first answer misses it, and returns the second', async () => {
    const { server, options } = await setup([
      { match: { lastUser: 'Extract the order.' }, times: 1, reply: { json: { orderId: 'A1', items: [{ sku: 'x', price: '9.99' }] }, usage } },
      { match: { lastUser: 'did not match the required format' }, reply: { json: { orderId: 'A1', items: [{ sku: 'x', price: 9.99 }] }, usage } },
    ]);
    const result = await callStructured(request, options);

    expect(result.object).toEqual({ orderId: 'A1', items: [{ sku: 'x', price: 9.99 }] });
    expect(result.usage).toEqual({ inputTokens: 200, outputTokens: 40, cacheReadTokens: 0, cacheWriteTokens: 0 });
    expect(result.attempts).toHaveLength(2);
    expect(result.attempts[0]).toMatchObject({ attempt: 1, ok: false, issues: [{ path: 'items[0].price' }] });
    expect(result.attempts[1]).toMatchObject({ attempt: 2, ok: true });

    const reask = (server.requests[1]!.body as { messages: { role: string; content: string }[] }).messages;
    expect(reask.at(-2)).toMatchObject({ role: 'assistant', content: '{"orderId":"A1","items":[{"sku":"x","price":"9.99"}]}' });
    expect(reask.at(-1)!.content).toContain('items[0].price');
    expect(reask.at(-1)!.content).toContain('"required":["orderId","items"]');
    expect(server.requests.map((r) => r.idempotencyKey)).toEqual(['run:1:0', 'run:1:0:reask:1']);
  });

  it('gives up after two re-asks with a terminal MalformedOutputError naming the field', async () => {
    const { server, options } = await setup([{ reply: { json: { orderId: 7, items: [] }, usage } }]);
    let error: unknown;
    try {
      await callStructured(request, options);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(MalformedOutputError);
    expect(error).toMatchObject({ field: 'orderId', attempts: 3, retryable: false, code: 'malformed_output' });
    expect((error as MalformedOutputError).message).toMatch(/field "orderId"/);
    expect((error as MalformedOutputError).usage.inputTokens).toBe(300);
    expect(server.requests).toHaveLength(3);
  });

  it('honours a smaller re-ask cap', async () => {
    const { server, options } = await setup([{ reply: { content: 'not json at all' } }]);
    await expect(callStructured(request, { ...options, maxReasks: 0 })).rejects.toMatchObject({ field: '(root)', attempts: 1 });
    expect(server.requests).toHaveLength(1);
  });

  it('leaves other failures to the caller', async () => {
    const { options } = await setup([{ fault: { kind: 'rate_limit', retryAfterSeconds: 1 } }]);
    const promise = callStructured(request, options);
    await expect(promise).rejects.toBeInstanceOf(ModelCallError);
    await expect(promise).rejects.toMatchObject({ failure: { kind: 'rate_limit' } });
  });
});
