// The Anthropic path of callModel against a minimal local server speaking the Messages API.
// (@spine/scripted-model speaks Chat Completions only.)
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { callModel } from './callModel.js';
import { decide } from './decide.js';
import { ModelCallError } from './errors.js';
import { resolveProvider } from './resolveProvider.js';

const KEY = 'sk-ant-test-SECRET-abcdef0123456789';
type Answer = { status: number; body: unknown; headers?: Record<string, string> };

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

async function anthropicServer(answers: Answer[]) {
  const seen: { path: string; headers: IncomingHttpHeaders; body: any }[] = [];
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk) => (raw += chunk));
    req.on('end', () => {
      seen.push({ path: req.url ?? '', headers: req.headers, body: JSON.parse(raw) });
      const answer = answers.shift() ?? { status: 500, body: { type: 'error', error: { type: 'api_error', message: 'no answer' } } };
      res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
      res.end(JSON.stringify(answer.body));
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const provider = resolveProvider({ ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: `http://127.0.0.1:${port}/v1` }, { model: 'claude-sonnet-4-20250514' });
  return { seen, provider };
}

const message = (usage: Record<string, number>) => ({
  id: 'msg_01',
  type: 'message',
  role: 'assistant',
  model: 'claude-sonnet-4-20250514',
  content: [{ type: 'text', text: 'Bonjour.' }],
  stop_reason: 'end_turn',
  stop_sequence: null,
  usage,
});

const error = (type: string, text: string) => ({ type: 'error', error: { type, message: text } });

describe('callModel with Anthropic', () => {
  it('maps the answer and cache usage, and sends the key and the idempotency key as headers', async () => {
    const { seen, provider } = await anthropicServer([
      { status: 200, body: message({ input_tokens: 10, output_tokens: 3, cache_read_input_tokens: 20, cache_creation_input_tokens: 5 }) },
    ]);
    const result = await callModel(
      { system: 'Answer in French.', messages: [{ role: 'user', content: 'Hello' }], maxOutputTokens: 100 },
      { provider, idempotencyKey: 'run:3:0' },
    );
    expect(result).toMatchObject({
      text: 'Bonjour.',
      usage: { inputTokens: 35, outputTokens: 3, cacheReadTokens: 20, cacheWriteTokens: 5 },
      finishReason: 'stop',
      model: 'claude-sonnet-4-20250514',
      responseId: 'msg_01',
    });
    expect(seen[0]!.path).toBe('/v1/messages');
    expect(seen[0]!.headers['x-api-key']).toBe(KEY);
    expect(seen[0]!.headers['idempotency-key']).toBe('run:3:0');
    expect(seen[0]!.body).toMatchObject({ model: 'claude-sonnet-4-20250514', max_tokens: 100, system: [{ type: 'text', text: 'Answer in French.' }] });
  });

  it('classifies an overloaded 529 as transient and a 429 as a rate limit with its retry-after', async () => {
    const { provider } = await anthropicServer([
      { status: 529, body: error('overloaded_error', 'Overloaded') },
      { status: 429, body: error('rate_limit_error', 'Number of request tokens has exceeded your rate limit'), headers: { 'retry-after': '3' } },
    ]);
    const options = { provider, idempotencyKey: 'k' };
    const request = { messages: [{ role: 'user' as const, content: 'Hi' }] };
    const overloaded = await callModel(request, options).catch((e: unknown) => e as ModelCallError);
    expect(overloaded).toBeInstanceOf(ModelCallError);
    expect((overloaded as ModelCallError).failure).toMatchObject({ kind: 'transient', status: 529 });
    const limited = await callModel(request, options).catch((e: unknown) => e as ModelCallError);
    expect((limited as ModelCallError).failure).toMatchObject({ kind: 'rate_limit', retryAfterMs: 3000 });
  });

  it("classifies 'prompt is too long' as context overflow, to be shrunk", async () => {
    const { provider } = await anthropicServer([
      { status: 400, body: error('invalid_request_error', 'prompt is too long: 212345 tokens > 200000 maximum') },
    ]);
    const failure = await callModel({ messages: [{ role: 'user', content: 'Hi' }] }, { provider, idempotencyKey: 'k' }).catch(
      (e: unknown) => (e as ModelCallError).failure,
    );
    expect(failure).toMatchObject({ kind: 'context_overflow', status: 400 });
    expect(decide(failure as never, 1)).toEqual({ action: 'shrink' });
  });

  it('keeps the key out of an authentication error', async () => {
    const { provider } = await anthropicServer([{ status: 401, body: error('authentication_error', `invalid x-api-key ${KEY}`) }]);
    const failed = (await callModel({ messages: [{ role: 'user', content: 'Hi' }] }, { provider, idempotencyKey: 'k' }).catch(
      (e: unknown) => e,
    )) as ModelCallError;
    expect(failed).toBeInstanceOf(ModelCallError);
    expect(failed.failure.kind).toBe('bad_request');
    expect(failed.message).not.toContain('SECRET');
  });
});
