import { afterEach, describe, expect, it } from 'vitest';
import { createFaultDraw, faultKinds, type FaultKind, type FaultPlan } from './faults.js';
import type { ScriptedModelServer, ScriptedModelServerOptions } from './ScriptedModelServer.js';
import { startScriptedModelServer } from './startScriptedModelServer.js';

const servers: ScriptedModelServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(options: ScriptedModelServerOptions): Promise<ScriptedModelServer> {
  const server = await startScriptedModelServer(options);
  servers.push(server);
  return server;
}

const request = (content = 'hello', extra: Record<string, unknown> = {}) => ({
  model: 'gpt-test',
  messages: [{ role: 'user', content }],
  ...extra,
});

/** A fetch Response whose JSON the test reads without declaring every OpenAI shape. */
interface JsonResponse extends Response {
  json(): Promise<any>;
}

function post(server: ScriptedModelServer, body: unknown, init: RequestInit = {}): Promise<JsonResponse> {
  return fetch(`${server.url}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    ...init,
  });
}

async function faulted(kind: FaultKind, extra: Record<string, unknown> = {}) {
  const server = await start({ script: [{ fault: { kind, ...extra } }] });
  const res = await post(server, request());
  return { server, res };
}

describe('scripted faults', () => {
  it('answers rate_limit with 429, a retry-after header and an OpenAI rate_limit_error body', async () => {
    const { server, res } = await faulted('rate_limit', { retryAfterSeconds: 7 });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('7');
    expect(res.headers.get('retry-after-ms')).toBe('7000');
    expect(res.headers.get('x-scripted-fault')).toBe('rate_limit');
    const { error } = await res.json();
    expect(error).toMatchObject({ type: 'rate_limit_error', code: 'rate_limit_exceeded' });
    expect(error.message).toContain('Please try again in 7s');
    expect(server.requests[0]?.outcome).toBe('rate_limit');
  });

  it('rounds a fractional retry-after up to whole seconds and gives the exact value in retry-after-ms', async () => {
    const { res } = await faulted('rate_limit', { retryAfterSeconds: 0.25 });
    expect(res.headers.get('retry-after')).toBe('1');
    expect(res.headers.get('retry-after-ms')).toBe('250');
  });

  it('answers server_error with 500 and unavailable with 503, both of type server_error', async () => {
    const error500 = (await faulted('server_error')).res;
    expect(error500.status).toBe(500);
    expect((await error500.json()).error.type).toBe('server_error');
    const error503 = (await faulted('unavailable')).res;
    expect(error503.status).toBe(503);
    expect((await error503.json()).error.message).toMatch(/overloaded/);
  });

  it('answers context_length with the 400 OpenAI sends for an overflowing context', async () => {
    const { res } = await faulted('context_length');
    expect(res.status).toBe(400);
    const { error } = await res.json();
    expect(error).toMatchObject({ type: 'invalid_request_error', code: 'context_length_exceeded', param: 'messages' });
    expect(error.message).toMatch(/^This model's maximum context length is \d+ tokens\. However, your messages resulted in \d+ tokens\./);
  });

  it('answers bad_request with 400 and unauthorized with 401 invalid_api_key', async () => {
    const bad = (await faulted('bad_request', { message: 'Unsupported parameter: temperature' })).res;
    expect(bad.status).toBe(400);
    expect((await bad.json()).error).toMatchObject({ type: 'invalid_request_error', message: 'Unsupported parameter: temperature' });
    const denied = (await faulted('unauthorized')).res;
    expect(denied.status).toBe(401);
    expect((await denied.json()).error.code).toBe('invalid_api_key');
  });

  it('answers malformed with a 200 whose JSON body is cut off', async () => {
    const { server, res } = await faulted('malformed');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    const text = await res.text();
    expect(text.startsWith('{"id":"chatcmpl-')).toBe(true);
    expect(() => JSON.parse(text)).toThrow(SyntaxError);
    expect(server.totals()).toMatchObject({ completed: 0, faulted: 1 });
  });

  it('answers a streamed malformed request with an SSE event whose JSON is cut off and no [DONE]', async () => {
    const server = await start({ script: [{ fault: { kind: 'malformed' } }] });
    const text = await (await post(server, request('hi', { stream: true }))).text();
    expect(text.startsWith('data: {')).toBe(true);
    expect(text).not.toContain('[DONE]');
    expect(() => JSON.parse(text.slice('data: '.length))).toThrow(SyntaxError);
  });

  it('stalls without answering until the client times out, then counts the request as faulted', async () => {
    const server = await start({ stallMs: 10_000, script: [{ fault: { kind: 'stall' } }] });
    const started = Date.now();
    const controller = new AbortController();
    const timeout = setTimeout(() => controller.abort(new Error('client timeout')), 200);
    await expect(post(server, request(), { signal: controller.signal })).rejects.toThrow('client timeout');
    clearTimeout(timeout);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(server.requests[0]?.outcome).toBe('stall');
    expect(server.totals()).toMatchObject({ calls: 1, completed: 0, faulted: 1 });
  });

  it('drops a stalled connection once stallMs passes', async () => {
    const server = await start({ stallMs: 100, script: [{ fault: { kind: 'stall' } }] });
    const started = Date.now();
    await expect(post(server, request())).rejects.toThrow();
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
  });

  it('lets a respond function return a fault', async () => {
    let calls = 0;
    const server = await start({ script: [{ respond: () => (++calls === 1 ? { kind: 'unavailable' } : { content: 'recovered' }) }] });
    expect((await post(server, request())).status).toBe(503);
    expect((await (await post(server, request())).json()).choices[0].message.content).toBe('recovered');
  });
});

describe('fault plans', () => {
  const outcomes = async (plan: FaultPlan, n: number) => {
    const server = await start({ faults: plan, script: [{ reply: { content: 'fine' } }] });
    for (let i = 0; i < n; i++) await post(server, request(`call ${i}`));
    return server.requests.map((r) => r.outcome);
  };

  it('reproduces the same fault sequence from the same seed', async () => {
    const plan: FaultPlan = { rate: 0.5, seed: 1234, retryAfterSeconds: 0 };
    const first = await outcomes(plan, 40);
    const second = await outcomes(plan, 40);
    expect(second).toEqual(first);
    expect(first.filter((o) => o === 'ok').length).toBeGreaterThan(5);
    expect(first.filter((o) => o !== 'ok').length).toBeGreaterThan(5);
    expect(new Set(first.filter((o) => o !== 'ok'))).toEqual(new Set(['rate_limit', 'server_error', 'unavailable', 'malformed']));

    const other = await outcomes({ ...plan, seed: 99 }, 40);
    expect(other).not.toEqual(first);
  });

  it('draws only the listed kinds, at roughly the given rate', () => {
    const draw = createFaultDraw({ rate: 0.2, seed: 7, kinds: ['context_length', 'bad_request'] });
    const draws = Array.from({ length: 5000 }, draw);
    const kinds = draws.flatMap((f) => (f === undefined ? [] : [f.kind]));
    expect(new Set(kinds)).toEqual(new Set(['context_length', 'bad_request']));
    expect(kinds.length / draws.length).toBeGreaterThan(0.17);
    expect(kinds.length / draws.length).toBeLessThan(0.23);
  });

  it('never faults at rate 0 and always faults at rate 1', () => {
    const never = createFaultDraw({ rate: 0, seed: 1 });
    const always = createFaultDraw({ rate: 1, seed: 1 });
    for (let i = 0; i < 500; i++) {
      expect(never()).toBeUndefined();
      expect(faultKinds).toContain(always()?.kind);
    }
  });

  it('restarts the sequence from the seed when setFaults is called again, and stops faulting when cleared', async () => {
    const plan: FaultPlan = { rate: 0.5, seed: 42 };
    const server = await start({ faults: plan, script: [{ reply: { content: 'fine' } }] });
    for (let i = 0; i < 10; i++) await post(server, request());
    const first = server.requests.map((r) => r.outcome);
    server.reset();
    server.setFaults(plan);
    for (let i = 0; i < 10; i++) await post(server, request());
    expect(server.requests.map((r) => r.outcome)).toEqual(first);
    server.reset();
    server.setFaults(undefined);
    for (let i = 0; i < 10; i++) await post(server, request());
    expect(server.totals()).toMatchObject({ completed: 10, faulted: 0 });
  });

  it('does not use up a rule with times when a planned fault answers instead', async () => {
    const server = await start({ faults: { rate: 1, seed: 3 }, script: [{ times: 1, reply: { content: 'only once' } }] });
    await post(server, request());
    server.setFaults(undefined);
    expect((await (await post(server, request())).json()).choices[0].message.content).toBe('only once');
  });

  it('refuses an invalid plan with a message that says what is wrong', () => {
    expect(() => createFaultDraw({ rate: 1.5, seed: 1 })).toThrow(/rate must be a probability in \[0, 1\]/);
    expect(() => createFaultDraw({ rate: 0.1, seed: 0.5 })).toThrow(/seed must be an integer/);
    expect(() => createFaultDraw({ rate: 0.1, seed: 1, kinds: [] })).toThrow(/kinds must list at least one/);
    expect(() => createFaultDraw({ rate: 0.1, seed: 1, kinds: ['nope' as FaultKind] })).toThrow(/unknown: nope/);
  });
});
