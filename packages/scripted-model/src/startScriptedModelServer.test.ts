import { afterEach, describe, expect, it } from 'vitest';
import type { ScriptedModelServer, ScriptedModelServerOptions } from './ScriptedModelServer.js';
import { ScriptedModelError } from './ScriptedModelError.js';
import { startScriptedModelServer } from './startScriptedModelServer.js';

const servers: ScriptedModelServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(options: ScriptedModelServerOptions = {}): Promise<ScriptedModelServer> {
  const server = await startScriptedModelServer(options);
  servers.push(server);
  return server;
}

/** A fetch Response whose JSON the test reads without declaring every OpenAI shape. */
interface JsonResponse extends Response {
  json(): Promise<any>;
}

function post(server: ScriptedModelServer, body: unknown, headers: Record<string, string> = {}): Promise<JsonResponse> {
  return fetch(`${server.url}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

const ask = (content: string, extra: Record<string, unknown> = {}) => ({
  model: 'test-model',
  messages: [
    { role: 'system', content: 'You are terse.' },
    { role: 'user', content },
  ],
  ...extra,
});

describe('startScriptedModelServer', () => {
  it('listens on 127.0.0.1 on a free port and reports a base URL ending in /v1', async () => {
    const server = await start();
    expect(server.port).toBeGreaterThan(0);
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/v1`);
  });

  it('answers a matching request with an OpenAI-shaped chat.completion echoing the requested model', async () => {
    const server = await start({ script: [{ match: { lastUser: 'capital' }, reply: { content: 'Paris.' } }] });
    const res = await post(server, ask('What is the capital of France?', { model: 'gpt-4o-mini' }));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    const body = await res.json();
    expect(body).toMatchObject({
      object: 'chat.completion',
      model: 'gpt-4o-mini',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Paris.' }, finish_reason: 'stop' }],
    });
    expect(body.id).toMatch(/^chatcmpl-/);
    expect(body.created).toBeTypeOf('number');
    expect(body.choices[0].message.tool_calls).toBeUndefined();
  });

  it('counts tokens deterministically as characters over four, rounded up', async () => {
    const server = await start({ script: [{ reply: { content: '12345' } }] });
    // 'You are terse.' (14) + 'abcdefg' (7) = 21 chars -> 6 tokens; '12345' -> 2 tokens.
    const body = await (await post(server, ask('abcdefg'))).json();
    expect(body.usage).toEqual({
      prompt_tokens: 6,
      completion_tokens: 2,
      total_tokens: 8,
      prompt_tokens_details: { cached_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0 },
    });
  });

  it('counts tool definitions in the prompt tokens', async () => {
    const server = await start({ script: [{ reply: { content: 'x' } }] });
    const tools = [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: {} } } }];
    const without = await (await post(server, ask('abcdefg'))).json();
    const withTools = await (await post(server, ask('abcdefg', { tools }))).json();
    expect(withTools.usage.prompt_tokens).toBe(Math.ceil((21 + JSON.stringify(tools).length) / 4));
    expect(withTools.usage.prompt_tokens).toBeGreaterThan(without.usage.prompt_tokens);
  });

  it('lets a rule override usage field by field, deriving total_tokens unless given', async () => {
    const server = await start({ script: [{ reply: { content: 'hi', usage: { prompt_tokens: 1000, cached_tokens: 800 } } }] });
    const body = await (await post(server, ask('hello'))).json();
    expect(body.usage).toMatchObject({
      prompt_tokens: 1000,
      completion_tokens: 1,
      total_tokens: 1001,
      prompt_tokens_details: { cached_tokens: 800 },
    });
  });

  it('uses the first matching rule and moves on once a rule with times is used up', async () => {
    const server = await start({
      script: [
        { match: { lastUser: 'again' }, times: 2, reply: { content: 'first two' } },
        { match: { lastUser: 'again' }, reply: { content: 'after that' } },
      ],
    });
    const contents: string[] = [];
    for (let i = 0; i < 4; i++) contents.push((await (await post(server, ask('again'))).json()).choices[0].message.content);
    expect(contents).toEqual(['first two', 'first two', 'after that', 'after that']);
  });

  it('matches on model, system text, regexes, tools, response format and the tool a result is for', async () => {
    const tools = [{ type: 'function', function: { name: 'search', parameters: { type: 'object' } } }];
    const server = await start({
      script: [
        { match: { toolResultFor: 'search' }, reply: { content: 'from tool result' } },
        { match: { hasTools: true }, reply: { content: 'has tools' } },
        { match: { hasResponseFormat: true }, reply: { json: { ok: true } } },
        { match: { model: 'special' }, reply: { content: 'special model' } },
        { match: { system: /pirate/i }, reply: { content: 'arr' } },
        { match: { lastUser: /^\d+$/g }, reply: { content: 'digits' } },
      ],
    });
    const content = async (body: unknown) => (await (await post(server, body)).json()).choices[0].message.content;

    expect(await content(ask('hi', { tools }))).toBe('has tools');
    expect(await content(ask('hi', { response_format: { type: 'json_object' } }))).toBe('{"ok":true}');
    expect(await content(ask('hi', { model: 'special' }))).toBe('special model');
    expect(
      await content({ model: 'm', messages: [{ role: 'system', content: 'Talk like a PIRATE.' }, { role: 'user', content: 'hi' }] }),
    ).toBe('arr');
    // A /g regex keeps no state between requests.
    expect(await content(ask('123'))).toBe('digits');
    expect(await content(ask('456'))).toBe('digits');
    expect(
      await content({
        model: 'm',
        tools,
        messages: [
          { role: 'user', content: 'find it' },
          { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'search', arguments: '{}' } }] },
          { role: 'tool', tool_call_id: 'c1', content: 'found' },
        ],
      }),
    ).toBe('from tool result');
  });

  it('replies with tool calls whose arguments are JSON strings and finish_reason tool_calls', async () => {
    const server = await start({
      script: [{ reply: { toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }, { name: 'noop', arguments: '{"raw":' }] } }],
    });
    const body = await (await post(server, ask('weather?'))).json();
    const choice = body.choices[0];
    expect(choice.finish_reason).toBe('tool_calls');
    expect(choice.message.content).toBeNull();
    expect(choice.message.tool_calls).toEqual([
      { id: expect.stringMatching(/^call_/), type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
      // A string is sent verbatim, so a test can script malformed arguments.
      { id: expect.stringMatching(/^call_/), type: 'function', function: { name: 'noop', arguments: '{"raw":' } },
    ]);
    expect(choice.message.tool_calls[0].id).not.toBe(choice.message.tool_calls[1].id);
    expect(body.usage.completion_tokens).toBe(Math.ceil(('{"city":"Paris"}'.length + '{"raw":'.length) / 4));
  });

  it('serializes a json reply into the content of a json_schema request', async () => {
    const server = await start({ script: [{ match: { hasResponseFormat: true }, reply: { json: { city: 'Paris', population: 2102650 } } }] });
    const res = await post(
      server,
      ask('Give me a city.', {
        response_format: {
          type: 'json_schema',
          json_schema: { name: 'city', strict: true, schema: { type: 'object', properties: { city: { type: 'string' } } } },
        },
      }),
    );
    const body = await res.json();
    expect(JSON.parse(body.choices[0].message.content)).toEqual({ city: 'Paris', population: 2102650 });
    expect(body.choices[0].finish_reason).toBe('stop');
  });

  it('calls a respond function with the validated request, and awaits it when it is async', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const server = await start({
      script: [
        {
          respond: async (request) => {
            await gate;
            return { content: `you said ${request.messages.length} things to ${request.model}` };
          },
        },
      ],
    });
    const pending = post(server, ask('hold on'));
    await expect.poll(() => server.requests.length).toBe(1);
    expect(server.requests[0]?.outcome).toBe('pending');
    release();
    const body = await (await pending).json();
    expect(body.choices[0].message.content).toBe('you said 2 things to test-model');
    expect(server.requests[0]?.outcome).toBe('ok');
  });

  it('answers a respond function that throws with a 500 naming the script error', async () => {
    const server = await start({
      script: [
        {
          respond: () => {
            throw new Error('forgot a case');
          },
        },
      ],
    });
    const res = await post(server, ask('hi'));
    expect(res.status).toBe(500);
    expect((await res.json()).error.message).toContain('forgot a case');
    expect(server.requests[0]?.outcome).toBe('script_error');
  });

  it('refuses an invalid body with a 400 naming the offending field', async () => {
    const server = await start({ script: [{ reply: { content: 'never' } }] });
    const res = await post(server, { model: 'm', messages: [{ role: 'user', content: 'hi' }, { role: 'robot', content: 'x' }] });
    expect(res.status).toBe(400);
    const { error } = await res.json();
    expect(error.type).toBe('invalid_request_error');
    expect(error.param).toBe('messages[1].role');
    expect(error.message).toContain("'messages[1].role'");

    const missingModel = await (await post(server, { messages: [{ role: 'user', content: 'hi' }] })).json();
    expect(missingModel.error.param).toBe('model');

    const badFormat = await (
      await post(server, ask('hi', { response_format: { type: 'json_schema', json_schema: { name: 'has spaces' } } }))
    ).json();
    expect(badFormat.error.param).toBe('response_format.json_schema.name');
    expect(server.requests.map((r) => r.outcome)).toEqual(['invalid_request', 'invalid_request', 'invalid_request']);
  });

  it('refuses a body that is not JSON with a 400 saying so', async () => {
    const server = await start({ script: [{ reply: { content: 'never' } }] });
    const res = await post(server, '{"model":');
    expect(res.status).toBe(400);
    expect((await res.json()).error.message).toMatch(/could not parse the JSON body/);
    expect(server.requests[0]?.body).toBe('{"model":');
  });

  it('answers a request no rule matches with a 400 that says so and shows the last user message', async () => {
    const server = await start({ script: [{ match: { lastUser: 'weather' }, reply: { content: 'sunny' } }] });
    const res = await post(server, ask('What is the meaning of life?'));
    expect(res.status).toBe(400);
    const { error } = await res.json();
    expect(error.code).toBe('no_rule_matched');
    expect(error.message).toContain('No script rule matched');
    expect(error.message).toContain('"What is the meaning of life?"');
    expect(server.requests[0]?.outcome).toBe('no_rule_matched');
  });

  it('explains that a matching rule is used up when its times ran out', async () => {
    const server = await start({ script: [{ times: 1, reply: { content: 'once' } }] });
    expect((await post(server, ask('hi'))).status).toBe(200);
    const { error } = await (await post(server, ask('hi'))).json();
    expect(error.message).toContain('Script rule 0 matches it but its `times` are used up');
  });

  it('replaces the script with setScript, counting times afresh', async () => {
    const server = await start({ script: [{ reply: { content: 'old' } }] });
    server.setScript([{ times: 1, reply: { content: 'new' } }]);
    expect((await (await post(server, ask('hi'))).json()).choices[0].message.content).toBe('new');
    expect((await post(server, ask('hi'))).status).toBe(400);
  });

  it('refuses a malformed script with a ScriptedModelError that names the rule', async () => {
    await expect(startScriptedModelServer({ script: [{ reply: { content: 'a' }, fault: { kind: 'stall' } }] })).rejects.toThrow(
      /Script rule 0 gives reply and fault; give exactly one/,
    );
    const server = await start();
    expect(() => server.setScript([{ reply: { content: 'ok' } }, { times: 0, reply: { content: 'x' } }])).toThrow(ScriptedModelError);
    expect(() => server.setScript([{ reply: { content: 'a', json: {} } }])).toThrow(/both content and json/);
    // A misspelt match field would otherwise make the rule match everything.
    expect(() => server.setScript([{ match: { lastuser: 'hi' } as never, reply: { content: 'x' } }])).toThrow(
      /Script rule 0.match.lastuser is not a match field/,
    );
  });

  it('answers a reply that cannot be serialized with a 500 script_error instead of a broken response', async () => {
    const server = await start({ script: [{ reply: { json: { big: 1n } } }] });
    const res = await post(server, ask('hi'));
    expect(res.status).toBe(500);
    expect((await res.json()).error.message).toMatch(/The scripted reply cannot be sent: The reply's json cannot be serialized to JSON/);
    expect(server.requests[0]?.outcome).toBe('script_error');
  });

  it('sums the usage of successful responses only in totals', async () => {
    const server = await start({
      script: [
        { match: { lastUser: 'fail' }, fault: { kind: 'server_error' } },
        { match: { lastUser: 'short' }, reply: { content: 'ok' } },
        { reply: { content: 'a somewhat longer answer', usage: { cached_tokens: 3 } } },
      ],
    });
    const usages: { prompt_tokens: number; completion_tokens: number; total_tokens: number; prompt_tokens_details: { cached_tokens: number } }[] = [];
    for (const q of ['short', 'long one', 'fail', 'short']) {
      const res = await post(server, ask(q));
      if (res.ok) usages.push((await res.json()).usage);
    }
    const totals = server.totals();
    expect(totals.calls).toBe(4);
    expect(totals.completed).toBe(3);
    expect(totals.faulted).toBe(1);
    const sum = (f: (u: (typeof usages)[number]) => number): number => usages.reduce((n, u) => n + f(u), 0);
    expect(totals.usage).toEqual({
      prompt_tokens: sum((u) => u.prompt_tokens),
      completion_tokens: sum((u) => u.completion_tokens),
      total_tokens: sum((u) => u.total_tokens),
      cached_tokens: sum((u) => u.prompt_tokens_details.cached_tokens),
    });
    expect(totals.usage.cached_tokens).toBe(3);
    expect(server.requests.map((r) => r.outcome)).toEqual(['ok', 'ok', 'server_error', 'ok']);
  });

  it('counts requests and completions by Idempotency-Key header, whatever its case', async () => {
    const server = await start({
      script: [
        { match: { lastUser: 'flaky' }, times: 1, fault: { kind: 'unavailable' } },
        { reply: { content: 'done' } },
      ],
    });
    await post(server, ask('flaky'), { 'Idempotency-Key': 'step-1' });
    await post(server, ask('flaky'), { 'idempotency-key': 'step-1' });
    await post(server, ask('other'), { 'IDEMPOTENCY-KEY': 'step-2' });
    await post(server, ask('other'));
    expect(server.callsByKey()).toEqual(
      new Map([
        ['step-1', { received: 2, completed: 1 }],
        ['step-2', { received: 1, completed: 1 }],
        ['', { received: 1, completed: 1 }],
      ]),
    );
    expect(server.requests[0]?.idempotencyKey).toBe('step-1');
    expect(server.requests[3]?.idempotencyKey).toBeUndefined();
  });

  it('records every chat request in order with its parsed body, and forgets them on reset', async () => {
    const server = await start({ script: [{ reply: { content: 'x' } }] });
    await post(server, ask('one'));
    await post(server, ask('two'));
    expect(server.requests.map((r) => (r.body as { messages: { content: string }[] }).messages[1]?.content)).toEqual(['one', 'two']);
    expect(server.requests[1]?.chat?.model).toBe('test-model');
    server.reset();
    expect(server.requests).toHaveLength(0);
    expect(server.totals()).toEqual({
      calls: 0,
      completed: 0,
      faulted: 0,
      usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0, cached_tokens: 0 },
    });
    expect((await post(server, ask('three'))).status).toBe(200);
  });

  it('streams SSE chunks that add up to the reply, ending with usage and [DONE] when include_usage is set', async () => {
    const server = await start({
      script: [{ reply: { content: 'The quick brown fox.', toolCalls: [{ name: 'note', arguments: { n: 1 } }], finishReason: 'tool_calls' } }],
    });
    const res = await post(server, ask('stream please', { stream: true, stream_options: { include_usage: true } }));
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = (await res.text()).split('\n\n').filter((e) => e !== '');
    expect(events.every((e) => e.startsWith('data: '))).toBe(true);
    expect(events.at(-1)).toBe('data: [DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e.slice('data: '.length)));
    expect(chunks.every((c) => c.object === 'chat.completion.chunk' && c.model === 'test-model')).toBe(true);
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);

    const deltas = chunks.flatMap((c) => c.choices.map((choice: { delta: unknown }) => choice.delta));
    expect(deltas[0]).toEqual({ role: 'assistant', content: '' });
    expect(deltas.map((d) => d.content ?? '').join('')).toBe('The quick brown fox.');
    const toolDeltas = deltas.flatMap((d) => d.tool_calls ?? []);
    expect(toolDeltas[0]).toMatchObject({ index: 0, type: 'function', function: { name: 'note' } });
    expect(toolDeltas.map((d) => d.function.arguments).join('')).toBe('{"n":1}');
    expect(chunks.at(-2).choices[0].finish_reason).toBe('tool_calls');

    const last = chunks.at(-1);
    expect(last.choices).toEqual([]);
    const recorded = server.requests[0]?.usage;
    expect(last.usage).toEqual({
      prompt_tokens: recorded?.prompt_tokens,
      completion_tokens: recorded?.completion_tokens,
      total_tokens: recorded?.total_tokens,
      prompt_tokens_details: { cached_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0 },
    });
    expect(server.totals().usage.completion_tokens).toBe(Math.ceil(('The quick brown fox.'.length + '{"n":1}'.length) / 4));
  });

  it('streams without a usage chunk when include_usage is not set', async () => {
    const server = await start({ script: [{ reply: { content: 'hi there' } }] });
    const text = await (await post(server, ask('stream', { stream: true }))).text();
    const chunks = text
      .split('\n\n')
      .filter((e) => e.startsWith('data: {'))
      .map((e) => JSON.parse(e.slice(6)));
    expect(chunks.some((c) => 'usage' in c)).toBe(false);
    expect(chunks.at(-1).choices[0].finish_reason).toBe('stop');
    expect(server.totals().completed).toBe(1);
  });

  it('lists the script and requested models at GET /v1/models, owned by the scripted model server', async () => {
    const server = await start({ script: [{ match: { model: 'scripted-a' }, reply: { content: 'a' } }, { reply: { content: 'b' } }] });
    await post(server, ask('hi', { model: 'requested-b' }));
    const list = await (await fetch(`${server.url}/models`)).json();
    expect(list).toEqual({
      object: 'list',
      data: [
        { id: 'scripted-a', object: 'model', created: 0, owned_by: 'spine-scripted-model' },
        { id: 'requested-b', object: 'model', created: 0, owned_by: 'spine-scripted-model' },
      ],
    });
    const model = (await (await fetch(`${server.url}/models/anything`)).json()) as { id: string };
    expect(model.id).toBe('anything');
    expect(server.requests).toHaveLength(1);
  });

  it('answers unknown paths with 404 and other methods on chat completions with 405', async () => {
    const server = await start();
    const notFound = await fetch(`${server.url.replace(/\/v1$/, '')}/chat/completions`, { method: 'POST', body: '{}' });
    expect(notFound.status).toBe(404);
    expect(((await notFound.json()) as { error: { message: string } }).error.message).toContain('base URL ends in /v1');
    const wrongMethod = await fetch(`${server.url}/chat/completions`);
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('POST');
  });

  it('requires the bearer key when started with apiKey, answering 401 otherwise', async () => {
    const server = await start({ apiKey: 'sk-test', script: [{ reply: { content: 'ok' } }] });
    const denied = await post(server, ask('hi'), { authorization: 'Bearer wrong' });
    expect(denied.status).toBe(401);
    expect((await denied.json()).error.code).toBe('invalid_api_key');
    expect((await post(server, ask('hi'), { authorization: 'Bearer sk-test' })).status).toBe(200);
  });

  it('refuses prompts larger than contextWindowTokens with the context_length error', async () => {
    const server = await start({ contextWindowTokens: 10, script: [{ reply: { content: 'fits' } }] });
    expect((await post(server, ask('short'))).status).toBe(200);
    const res = await post(server, ask('x'.repeat(100)));
    expect(res.status).toBe(400);
    const { error } = await res.json();
    expect(error.code).toBe('context_length_exceeded');
    // 'You are terse.' (14) + 100 chars -> 29 tokens.
    expect(error.message).toContain("This model's maximum context length is 10 tokens. However, your messages resulted in 29 tokens.");
  });

  it('delays successful replies by latencyMs and records a client that left before the reply as client_closed', async () => {
    const server = await start({ latencyMs: 300, script: [{ reply: { content: 'slow' } }] });
    const started = Date.now();
    expect((await post(server, ask('hi'))).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);

    await expect(
      fetch(`${server.url}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(ask('bye')),
        signal: AbortSignal.timeout(50),
      }),
    ).rejects.toThrow();
    await expect.poll(() => server.requests[1]?.outcome, { timeout: 2000 }).toBe('client_closed');
    expect(server.totals().completed).toBe(1);
  });

  it('closes promptly even while a request is stalled', async () => {
    const server = await startScriptedModelServer({ stallMs: 60_000, script: [{ fault: { kind: 'stall' } }] });
    const pending = post(server, ask('hang')).catch((error: unknown) => error);
    await expect.poll(() => server.requests.length).toBe(1);
    const started = Date.now();
    await server.close();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await pending).toBeInstanceOf(Error);
    await server.close(); // closing twice is harmless
  });

  it('streams a reply chunkDelayMs apart, counting it ok only once the last chunk is out', async () => {
    const server = await start({ chunkDelayMs: 40, script: [{ reply: { content: 'one two three four five' } }] });
    const res = await post(server, ask('hi', { stream: true }));
    const reader = res.body!.getReader();
    const arrivals: number[] = [];
    let text = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      arrivals.push(Date.now());
      text += new TextDecoder().decode(value);
      if (!text.includes('[DONE]')) expect(server.requests[0]!.outcome).toBe('pending');
    }
    const contents = [...text.matchAll(/"content":"([^"]*)"/g)].map((m) => m[1]).join('');
    expect(contents).toBe('one two three four five');
    expect(arrivals.at(-1)! - arrivals[0]!).toBeGreaterThanOrEqual(40 * 5);
    expect(server.requests[0]!.outcome).toBe('ok');
  });

  it('counts a client that leaves a slow stream as client_closed, not completed', async () => {
    const server = await start({ chunkDelayMs: 50, script: [{ reply: { content: 'one two three four five six' } }] });
    const res = await post(server, ask('hi', { stream: true }));
    const reader = res.body!.getReader();
    await reader.read();
    await reader.cancel();
    await expect.poll(() => server.requests[0]!.outcome, { timeout: 2000 }).toBe('client_closed');
    expect(server.totals().completed).toBe(0);
  });

  it('drops a stream mid-answer with the disconnect fault, after its partial text; a plain request loses its connection', async () => {
    const server = await start({ chunkDelayMs: 5, script: [{ fault: { kind: 'disconnect', partial: 'so far so' } }] });
    const res = await post(server, ask('hi', { stream: true }));
    expect(res.headers.get('x-scripted-fault')).toBe('disconnect');
    let text = '';
    const reader = res.body!.getReader();
    await expect(
      (async () => {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return;
          text += new TextDecoder().decode(value);
        }
      })(),
    ).rejects.toThrow();
    expect([...text.matchAll(/"content":"([^"]*)"/g)].map((m) => m[1]).join('')).toBe('so far so');
    expect(text).not.toContain('[DONE]');
    await expect(post(server, ask('hi'))).rejects.toThrow();
    expect(server.totals()).toMatchObject({ calls: 2, completed: 0, faulted: 2 });
  });

  it('refuses invalid options with a ScriptedModelError', async () => {
    await expect(startScriptedModelServer({ stallMs: -1 })).rejects.toMatchObject({ code: 'invalid_options' });
    await expect(startScriptedModelServer({ contextWindowTokens: 0 })).rejects.toThrow(/contextWindowTokens must be a positive integer/);
  });
});
