import { createServer } from 'node:net';
import { startScriptedModelServer, type ScriptedModelServer, type ScriptedModelServerOptions } from '@spine/scripted-model';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { callModel, parseJsonAnswer, type CallModelOptions } from './callModel.js';
import type { ChatMessage } from './ChatMessage.js';
import { CircuitBreaker } from './CircuitBreaker.js';
import { classifyFailure } from './classifyFailure.js';
import { decide } from './decide.js';
import { defineTool } from './defineTool.js';
import { BudgetExceededError, CircuitOpenError, ModelCallError } from './errors.js';
import { loadPriceTable } from './loadPriceTable.js';
import { resolveProvider } from './resolveProvider.js';
import { seededRandom } from './seededRandom.js';
import { shrinkContext } from './shrinkContext.js';

const API_KEY = 'sk-test-TOPSECRET-0123456789';
const servers: ScriptedModelServer[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function start(options: ScriptedModelServerOptions = {}) {
  const server = await startScriptedModelServer(options);
  servers.push(server);
  const provider = resolveProvider({ OPENAI_BASE_URL: server.url, OPENAI_API_KEY: API_KEY }, { model: 'scripted' });
  const call = (overrides: Partial<CallModelOptions> = {}): CallModelOptions => ({
    provider,
    idempotencyKey: 'run-1:step-3:0',
    timeoutMs: 5_000,
    ...overrides,
  });
  return { server, provider, call };
}

const hello: ChatMessage[] = [{ role: 'user', content: 'Say hello' }];

/** Calls the model and returns the ModelCallError it throws. */
async function failureOf(promise: Promise<unknown>): Promise<ModelCallError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ModelCallError);
    return error as ModelCallError;
  }
  throw new Error('expected the call to fail');
}

describe('callModel against a real Chat Completions server', () => {
  it('returns the text, usage, model, provider and latency of an answer', async () => {
    const { call } = await start({
      script: [{ match: { lastUser: 'Say hello' }, reply: { content: 'Hello!', usage: { prompt_tokens: 12, completion_tokens: 3, cached_tokens: 4 } } }],
    });
    const result = await callModel({ messages: hello, system: 'Be brief.' }, call());
    expect(result).toMatchObject({
      text: 'Hello!',
      toolCalls: [],
      usage: { inputTokens: 12, outputTokens: 3, cacheReadTokens: 4, cacheWriteTokens: 0 },
      finishReason: 'stop',
      model: 'scripted',
      provider: expect.stringMatching(/^openai-compatible@127\.0\.0\.1:\d+$/),
    });
    expect(result.latencyMs).toBeGreaterThanOrEqual(0);
    expect(typeof result.responseId).toBe('string');
    expect(JSON.parse(JSON.stringify(result))).toEqual(result);
  });

  it('sends the idempotency key as the Idempotency-Key header, and the API key as a bearer token', async () => {
    const { server, call } = await start({ apiKey: API_KEY, script: [{ reply: { content: 'ok' } }] });
    await callModel({ messages: hello }, call({ idempotencyKey: 'actor-7:12:0' }));
    expect(server.requests[0]!.idempotencyKey).toBe('actor-7:12:0');
    expect(server.callsByKey().get('actor-7:12:0')).toEqual({ received: 1, completed: 1 });
  });

  it('passes the system prompt, history and tool results through in Chat Completions form', async () => {
    const { server, call } = await start({ script: [{ match: { toolResultFor: 'lookup' }, reply: { content: 'It shipped.' } }] });
    const messages: ChatMessage[] = [
      { role: 'user', content: 'Where is order 42?' },
      { role: 'assistant', content: '', toolCalls: [{ id: 'call_1', name: 'lookup', input: { id: 42 } }] },
      { role: 'tool', toolCallId: 'call_1', toolName: 'lookup', content: '{"status":"shipped"}' },
    ];
    const result = await callModel({ messages, system: 'You track orders.' }, call());
    expect(result.text).toBe('It shipped.');
    const body = server.requests[0]!.body as { messages: { role: string; tool_call_id?: string }[] };
    expect(body.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'tool']);
    expect(body.messages[3]!.tool_call_id).toBe('call_1');
  });

  it('offers tools by JSON Schema and returns the calls the model makes', async () => {
    const lookup = defineTool({
      name: 'lookup',
      description: 'Looks up an order.',
      input: z.object({ id: z.number() }),
      output: z.object({ status: z.string() }),
      run: () => ({ status: 'shipped' }),
    });
    const { server, call } = await start({
      script: [{ match: { hasTools: true }, reply: { toolCalls: [{ name: 'lookup', arguments: { id: 42 }, id: 'call_9' }] } }],
    });
    const result = await callModel({ messages: hello, tools: [lookup] }, call());
    expect(result.finishReason).toBe('tool-calls');
    expect(result.toolCalls).toEqual([{ id: 'call_9', name: 'lookup', input: { id: 42 } }]);
    const body = server.requests[0]!.body as { tools: { function: { name: string; parameters: unknown } }[] };
    expect(body.tools[0]!.function).toMatchObject({
      name: 'lookup',
      parameters: { type: 'object', properties: { id: { type: 'number' } }, required: ['id'] },
    });
  });

  it('sends a zod schema as response_format json_schema and returns the validated object', async () => {
    const schema = z.object({ city: z.string(), population: z.number().int() });
    const { server, call } = await start({
      script: [{ match: { hasResponseFormat: true }, reply: { json: { city: 'Paris', population: 2_100_000 } } }],
    });
    const result = await callModel({ messages: hello, schema, schemaName: 'city' }, call());
    expect(result.object).toEqual({ city: 'Paris', population: 2_100_000 });
    const body = server.requests[0]!.body as { response_format: { type: string; json_schema: { name: string; strict: boolean; schema: unknown } } };
    expect(body.response_format).toMatchObject({
      type: 'json_schema',
      json_schema: {
        name: 'city',
        strict: true,
        schema: { type: 'object', properties: { city: { type: 'string' }, population: { type: 'integer' } }, required: ['city', 'population'], additionalProperties: false },
      },
    });
  });

  it('turns strict mode off for a schema with optional fields, which strict mode would refuse', async () => {
    const { server, call } = await start({ script: [{ reply: { json: { a: 'x' } } }] });
    await callModel({ messages: hello, schema: z.object({ a: z.string(), b: z.string().optional() }) }, call());
    expect((server.requests[0]!.body as { response_format: { json_schema: { strict: boolean } } }).response_format.json_schema.strict).toBe(false);
  });

  it('reports an answer that misses the schema as malformed_output, with the failing field, the text and the usage', async () => {
    const { call } = await start({ script: [{ reply: { json: { city: 'Paris', population: 'lots' }, usage: { prompt_tokens: 50, completion_tokens: 9 } } }] });
    const error = await failureOf(callModel({ messages: hello, schema: z.object({ city: z.string(), population: z.number() }) }, call()));
    expect(error.failure).toMatchObject({
      kind: 'malformed_output',
      issues: [{ path: 'population', message: expect.stringMatching(/expected number/i) }],
      expected: { type: 'object' },
    });
    expect(error.text).toBe('{"city":"Paris","population":"lots"}');
    expect(error.usage).toMatchObject({ inputTokens: 50, outputTokens: 9 });
    expect(error.retryable).toBe(false);
    expect(decide(error.failure, 1).action).toBe('reask');
  });

  describe('classifies each provider failure and decides what to do', () => {
    it('rate limit: waits the retry-after', async () => {
      const { call } = await start({ script: [{ fault: { kind: 'rate_limit', retryAfterSeconds: 2 } }] });
      const error = await failureOf(callModel({ messages: hello }, call()));
      expect(error.failure).toMatchObject({ kind: 'rate_limit', status: 429, retryAfterMs: 2000 });
      expect(error).toMatchObject({ retryable: true, retryAfterMs: 2000, kind: 'rate_limit' });
      const d = decide(error.failure, 1, undefined, seededRandom(1));
      expect(d.action === 'retry' && d.delayMs >= 2000 && d.delayMs <= 2200).toBe(true);
    });

    it.each(['server_error', 'unavailable'] as const)('%s: backs off as transient', async (kind) => {
      const { call } = await start({ script: [{ fault: { kind } }] });
      const error = await failureOf(callModel({ messages: hello }, call()));
      expect(error.failure.kind).toBe('transient');
      expect(error.failure.status).toBeGreaterThanOrEqual(500);
      expect(decide(error.failure, 1, undefined, seededRandom(2)).action).toBe('retry');
    });

    it('malformed 200 body: backs off as transient', async () => {
      const { call } = await start({ script: [{ fault: { kind: 'malformed' } }] });
      const error = await failureOf(callModel({ messages: hello }, call()));
      expect(error.failure).toMatchObject({ kind: 'transient', status: 200 });
      expect(decide(error.failure, 1).action).toBe('retry');
    });

    it('stall: times out after timeoutMs and backs off', async () => {
      const { call } = await start({ stallMs: 10_000, script: [{ fault: { kind: 'stall' } }] });
      const started = Date.now();
      const error = await failureOf(callModel({ messages: hello }, call({ timeoutMs: 300 })));
      expect(Date.now() - started).toBeLessThan(3_000);
      expect(error.failure.kind).toBe('timeout');
      expect(error.failure.message).toMatch(/300 ms/);
      expect(decide(error.failure, 1).action).toBe('retry');
    });

    it('context length: shrinks', async () => {
      const { call } = await start({ script: [{ fault: { kind: 'context_length' } }] });
      const error = await failureOf(callModel({ messages: hello }, call()));
      expect(error.failure).toMatchObject({ kind: 'context_overflow', status: 400, providerCode: 'context_length_exceeded' });
      expect(decide(error.failure, 1)).toEqual({ action: 'shrink' });
    });

    it('bad request: fails fast', async () => {
      const { call } = await start({ script: [{ fault: { kind: 'bad_request' } }] });
      const error = await failureOf(callModel({ messages: hello }, call()));
      expect(error.failure).toMatchObject({ kind: 'bad_request', status: 400 });
      expect(error.retryable).toBe(false);
      expect(decide(error.failure, 1).action).toBe('fail');
    });

    it('unauthorized: fails fast, and the API key appears nowhere in the error', async () => {
      const { server, provider } = await start({ apiKey: 'the-right-key', script: [{ reply: { content: 'x' } }] });
      const error = await failureOf(callModel({ messages: hello }, { provider, idempotencyKey: 'k', timeoutMs: 5_000 }));
      expect(server.requests[0]!.outcome).toBe('unauthorized');
      expect(error.failure).toMatchObject({ kind: 'bad_request', status: 401 });
      expect(decide(error.failure, 1).action).toBe('fail');
      expect(`${error.message} ${JSON.stringify(error.failure)}`).not.toContain('TOPSECRET');
    });

    it('a provider that echoes the key back gets it redacted', async () => {
      const { call } = await start({ script: [{ fault: { kind: 'unauthorized', message: `Incorrect API key provided: ${API_KEY}` } }] });
      const error = await failureOf(callModel({ messages: hello }, call()));
      expect(error.message).not.toContain('TOPSECRET');
      expect(error.failure.message).toContain('[redacted]');
    });

    it('unreachable provider: backs off as transient', async () => {
      const port = await closedPort();
      const provider = resolveProvider({ OPENAI_BASE_URL: `http://127.0.0.1:${port}/v1` }, { model: 'scripted' });
      const error = await failureOf(callModel({ messages: hello }, { provider, idempotencyKey: 'k', timeoutMs: 5_000 }));
      expect(error.failure.kind).toBe('transient');
      expect(error.failure.message).toMatch(/ECONNREFUSED|connect/i);
    });

    it('cancelled by the caller: aborted, not retried', async () => {
      const { call } = await start({ stallMs: 10_000, script: [{ fault: { kind: 'stall' } }] });
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 100);
      const error = await failureOf(callModel({ messages: hello }, call({ signal: controller.signal })));
      expect(error.failure.kind).toBe('aborted');
      expect(decide(error.failure, 1).action).toBe('fail');
    });
  });

  it('shrinks an overflowing context and succeeds on the retry', async () => {
    const { server, call } = await start({ contextWindowTokens: 300, script: [{ match: { lastUser: 'latest' }, reply: { content: 'fits now' } }] });
    let messages: ChatMessage[] = [{ role: 'system', content: 'You summarise.' }];
    for (let i = 0; i < 6; i++) {
      messages.push({ role: 'user', content: `question ${i} ${'q'.repeat(200)}` }, { role: 'assistant', content: `answer ${i} ${'a'.repeat(200)}` });
    }
    messages.push({ role: 'user', content: 'latest: what now?' });

    let result;
    for (let attempt = 1; ; attempt++) {
      try {
        result = await callModel({ messages }, call({ idempotencyKey: `k:${attempt}` }));
        break;
      } catch (error) {
        const decision = decide(classifyFailure(error), attempt);
        expect(decision).toEqual({ action: 'shrink' });
        messages = (await shrinkContext(messages, { targetTokens: 250 })).messages;
      }
    }
    expect(result.text).toBe('fits now');
    expect(server.requests.map((r) => r.outcome)).toEqual(['context_length', 'ok']);
  });

  it('refuses a call that would overrun the budget without calling the provider', async () => {
    const { server, call } = await start({ script: [{ reply: { content: 'x' } }] });
    const promise = callModel(
      { messages: hello, maxOutputTokens: 1_000_000 },
      call({ budget: { limit: { maxUsd: 0.01 }, spent: { tokens: 0, usd: 0 }, prices: loadPriceTable(undefined) } }),
    );
    await expect(promise).rejects.toBeInstanceOf(BudgetExceededError);
    expect(server.requests).toHaveLength(0);
  });

  it('opens the provider breaker after repeated transient failures and stops calling', async () => {
    const { server, call } = await start({ script: [{ fault: { kind: 'server_error' } }] });
    const breaker = new CircuitBreaker('provider', { failureThreshold: 2, coolDownMs: 60_000 });
    for (let i = 0; i < 2; i++) await failureOf(callModel({ messages: hello }, call({ breaker })));
    expect(breaker.state).toBe('open');
    await expect(callModel({ messages: hello }, call({ breaker }))).rejects.toBeInstanceOf(CircuitOpenError);
    expect(server.requests).toHaveLength(2);
  });

  it('does not count bad requests against the provider breaker', async () => {
    const { call } = await start({ script: [{ fault: { kind: 'bad_request' } }] });
    const breaker = new CircuitBreaker('provider', { failureThreshold: 1 });
    await failureOf(callModel({ messages: hello }, call({ breaker })));
    expect(breaker.state).toBe('closed');
  });
});

describe('callModel under random faults (seeded)', () => {
  it('either succeeds or gives up by the table, with one idempotency key and bounded delays, for many seeds', async () => {
    let succeeded = 0;
    for (let seed = 1; seed <= 20; seed++) {
      const { server, call } = await start({
        script: [{ reply: { content: 'done' } }],
        faults: { rate: 0.4, seed, kinds: ['rate_limit', 'server_error', 'unavailable', 'malformed'], retryAfterSeconds: 1 },
      });
      const random = seededRandom(seed);
      let attempts = 0;
      let outcome: 'ok' | string = '';
      for (;;) {
        attempts++;
        try {
          await callModel({ messages: hello }, call({ idempotencyKey: `seed-${seed}` }));
          outcome = 'ok';
          break;
        } catch (error) {
          const failure = classifyFailure(error);
          expect(['rate_limit', 'transient'], `seed ${seed}`).toContain(failure.kind);
          const decision = decide(failure, attempts, undefined, random);
          if (decision.action === 'fail') {
            outcome = decision.reason;
            break;
          }
          expect(decision.action).toBe('retry');
          if (decision.action === 'retry') {
            expect(decision.delayMs).toBeGreaterThanOrEqual(0);
            expect(decision.delayMs).toBeLessThanOrEqual(failure.kind === 'rate_limit' ? 1100 : 30_000);
          }
        }
      }
      if (outcome === 'ok') succeeded++;
      else expect(outcome, `seed ${seed}`).toMatch(/^Gave up after \d+ attempts/);
      expect(server.requests).toHaveLength(attempts);
      expect([...server.callsByKey().keys()]).toEqual([`seed-${seed}`]);
    }
    expect(succeeded).toBeGreaterThanOrEqual(18);
  });
});

describe('callModel streaming its answer (onPartial)', () => {
  const answer = 'Durable agents resume where they stopped, and pay for no model call twice.';

  it('reports the text so far as it grows, then returns the same complete result as an unstreamed call', async () => {
    const { server, call } = await start({ chunkDelayMs: 15, script: [{ reply: { content: answer } }] });
    const partials: string[] = [];
    const streamed = await callModel({ messages: hello }, call({ onPartial: ({ text }) => partials.push(text), partialIntervalMs: 0 }));
    expect(server.requests[0]?.chat?.stream).toBe(true);
    expect(partials.length).toBeGreaterThan(5);
    for (const [i, text] of partials.entries()) {
      expect(answer.startsWith(text)).toBe(true);
      if (i > 0) expect(text.length).toBeGreaterThan(partials[i - 1]!.length);
    }
    expect(partials.at(-1)).toBe(answer);
    const plain = await callModel({ messages: hello }, call());
    expect(server.requests[1]?.chat?.stream).toBeUndefined();
    expect({ ...streamed, latencyMs: 0 }).toEqual({ ...plain, latencyMs: 0, responseId: streamed.responseId });
    expect(streamed.usage.outputTokens).toBe(server.totals().usage.completion_tokens / 2);
  });

  it('throttles the reports to one per partialIntervalMs, the whole text last', async () => {
    const { call } = await start({ chunkDelayMs: 5, script: [{ reply: { content: answer } }] });
    const at: number[] = [];
    const texts: string[] = [];
    await callModel({ messages: hello }, call({ onPartial: ({ text }) => (at.push(Date.now()), texts.push(text)), partialIntervalMs: 40 }));
    expect(texts.at(-1)).toBe(answer);
    for (let i = 1; i < at.length - 1; i++) expect(at[i]! - at[i - 1]!).toBeGreaterThanOrEqual(39);
    expect(texts.length).toBeLessThan(answer.split(' ').length);
  });

  it('streams a structured answer and a tool call, validated as without streaming', async () => {
    const { call } = await start({
      script: [
        { match: { hasTools: true }, reply: { toolCalls: [{ name: 'search', arguments: { query: 'spine' } }] } },
        { match: { hasResponseFormat: true }, reply: { json: { title: 'T', words: 2 } } },
      ],
    });
    const search = defineTool({ name: 'search', description: 'Searches.', input: z.object({ query: z.string() }), output: z.string(), run: async () => 'found' });
    const tools = await callModel({ messages: hello, tools: [search] }, call({ onPartial: () => {} }));
    expect(tools.toolCalls).toEqual([{ id: expect.any(String), name: 'search', input: { query: 'spine' } }]);
    expect(tools.finishReason).toBe('tool-calls');
    const partials: string[] = [];
    const structured = await callModel({ messages: hello, schema: z.object({ title: z.string(), words: z.number() }) }, call({ onPartial: ({ text }) => partials.push(text) }));
    expect(structured.object).toEqual({ title: 'T', words: 2 });
    expect(partials.at(-1)).toBe('{"title":"T","words":2}');
  });

  it('fails a stream cut off mid-answer as transient (retried by the table), returning nothing partial', async () => {
    const { server, call } = await start({ chunkDelayMs: 5, script: [{ fault: { kind: 'disconnect', partial: 'The answer so far' } }] });
    const partials: string[] = [];
    const error = await failureOf(callModel({ messages: hello }, call({ onPartial: ({ text }) => partials.push(text), partialIntervalMs: 0 })));
    expect(partials.at(-1)).toBe('The answer so far');
    expect(error.failure.kind).toBe('transient');
    expect(decide(error.failure, 1, undefined, seededRandom(3)).action).toBe('retry');
    expect(server.totals()).toMatchObject({ completed: 0, faulted: 1 });
  });

  it('classifies a refused stream like a refused call: a rate limit waits its retry-after', async () => {
    const { call } = await start({ script: [{ fault: { kind: 'rate_limit', retryAfterSeconds: 2 } }] });
    const error = await failureOf(callModel({ messages: hello }, call({ onPartial: () => {} })));
    expect(error.failure).toMatchObject({ kind: 'rate_limit', status: 429, retryAfterMs: 2000 });
  });
});

describe('parseJsonAnswer', () => {
  it('accepts a bare JSON answer or one wrapped in a code fence', () => {
    expect(parseJsonAnswer('{"a":1}')).toEqual({ ok: true, value: { a: 1 } });
    expect(parseJsonAnswer('```json\n{"a":1}\n```')).toEqual({ ok: true, value: { a: 1 } });
  });

  it('says why an answer is not JSON', () => {
    expect(parseJsonAnswer('')).toEqual({ ok: false, error: 'the answer is empty' });
    expect(parseJsonAnswer('Sure! {"a":1}').ok).toBe(false);
  });
});

function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (typeof address !== 'object' || address === null) return reject(new Error('no port'));
      server.close(() => resolve(address.port));
    });
  });
}
