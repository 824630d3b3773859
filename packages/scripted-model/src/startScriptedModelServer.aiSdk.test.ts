// Drives the server with the real Vercel AI SDK client, the one Spine's llm package uses: if the
// SDK accepts these answers (text, usage, tools, structured output, streaming, errors), the
// server speaks the protocol faithfully enough to stand in for a provider. The SDK runs in a
// child process (see aiSdkClient.fixture.mjs for why), talking to the server over real HTTP.
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import type { ScriptedModelServer, ScriptedModelServerOptions } from './ScriptedModelServer.js';
import { startScriptedModelServer } from './startScriptedModelServer.js';

const require = createRequire(import.meta.url);
const installed = ['ai', '@ai-sdk/openai-compatible'].every((name) => {
  try {
    require.resolve(name);
    return true;
  } catch {
    return false;
  }
});
const fixture = fileURLToPath(new URL('./aiSdkClient.fixture.mjs', import.meta.url));

const servers: ScriptedModelServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** Starts a server and runs one client scenario against it, returning what the SDK gave back. */
async function runClient(scenario: string, options: ScriptedModelServerOptions) {
  const server = await startScriptedModelServer(options);
  servers.push(server);
  const { stdout } = await promisify(execFile)(process.execPath, [fixture, scenario, server.url], {
    env: { ...process.env, NODE_OPTIONS: '' },
    timeout: 20_000,
  });
  const result: any = JSON.parse(stdout); // the client's JSON report
  return { server, result };
}

describe.skipIf(!installed)('with the AI SDK client (@ai-sdk/openai-compatible)', () => {
  it('generateText receives the scripted text and the usage the server counted', async () => {
    const { server, result } = await runClient('text', {
      script: [{ match: { system: 'geography', lastUser: 'France' }, reply: { content: 'Paris.', usage: { cached_tokens: 2 } } }],
    });
    const sent = server.totals().usage;
    expect(result.text).toBe('Paris.');
    expect(result.finishReason).toBe('stop');
    expect(result.usage.inputTokens).toBe(sent.prompt_tokens);
    expect(result.usage.outputTokens).toBe(sent.completion_tokens);
    expect(result.usage.totalTokens).toBe(sent.total_tokens);
    expect(result.usage.inputTokenDetails.cacheReadTokens).toBe(2);
    expect(sent.prompt_tokens).toBe(Math.ceil(('You answer geography questions.'.length + 'What is the capital of France?'.length) / 4));
    expect(result.modelId).toBe('scripted-test');
    expect(server.requests[0]?.chat?.model).toBe('scripted-test');
  });

  it('runs a tool loop: the scripted tool call is executed and its result reaches the next request', async () => {
    const { server, result } = await runClient('tools', {
      script: [
        { match: { toolResultFor: 'get_weather' }, reply: { content: 'It is sunny in Paris.' } },
        { match: { hasTools: true }, reply: { toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }] } },
      ],
    });
    expect(result.cities).toEqual(['Paris']);
    expect(result.text).toBe('It is sunny in Paris.');
    expect(result.steps).toBe(2);
    expect(server.totals()).toMatchObject({ calls: 2, completed: 2 });
    expect(result.totalUsage.totalTokens).toBe(server.totals().usage.total_tokens);
    const toolMessage = server.requests[1]?.chat?.messages.at(-1);
    expect(toolMessage?.role).toBe('tool');
    expect(JSON.stringify(toolMessage?.content)).toContain('sunny');
  });

  it('returns a structured answer from a json_schema request', async () => {
    const { server, result } = await runClient('structured', {
      script: [{ match: { hasResponseFormat: true }, reply: { json: { city: 'Paris', country: 'France' } } }],
    });
    expect(result.output).toEqual({ city: 'Paris', country: 'France' });
    expect(server.requests[0]?.chat?.response_format?.type).toBe('json_schema');
  });

  it('streamText receives the streamed text in several deltas and, with includeUsage, the usage', async () => {
    const { server, result } = await runClient('stream', { script: [{ reply: { content: 'Streaming works, word by word.' } }] });
    expect(result.text).toBe('Streaming works, word by word.');
    expect(result.deltas).toBeGreaterThan(1);
    expect(result.finishReason).toBe('stop');
    expect(result.usage.outputTokens).toBe(server.totals().usage.completion_tokens);
    expect(result.usage.inputTokens).toBe(server.totals().usage.prompt_tokens);
    expect(server.requests[0]?.chat?.stream).toBe(true);
  });

  it('surfaces a scripted rate limit as a retryable APICallError with status 429 and retry-after', async () => {
    const { result } = await runClient('rateLimit', { script: [{ fault: { kind: 'rate_limit', retryAfterSeconds: 3 } }] });
    expect(result.error).toMatchObject({ statusCode: 429, isRetryable: true, retryAfter: '3' });
    expect(result.error.message).toMatch(/Rate limit reached/);
  });
});
