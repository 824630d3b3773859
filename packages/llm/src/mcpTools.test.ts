import { fileURLToPath } from 'node:url';
import { startScriptedModelServer } from '@spine/scripted-model';
import { afterEach, describe, expect, it } from 'vitest';
import { ToolError } from './errors.js';
import { grantTools } from './grantTools.js';
import { mcpTools, type McpToolSource } from './mcpTools.js';
import { resolveProvider } from './resolveProvider.js';
import { runToolLoop } from './runToolLoop.js';

const serverScript = fileURLToPath(new URL('./test-fixtures/mcpServer.mjs', import.meta.url));
const sources: McpToolSource[] = [];
afterEach(async () => {
  await Promise.all(sources.splice(0).map((source) => source.close()));
});

async function open(options: { prefix?: string; env?: Record<string, string> } = {}) {
  // Plain node: no conditions or loaders from the test worker.
  const source = await mcpTools({ ...options, command: process.execPath, args: [serverScript], stderr: 'pipe', env: { NODE_OPTIONS: '', ...options.env } });
  sources.push(source);
  return source;
}

const context = (key = 'run:1:tool:1') => ({ idempotencyKey: key, signal: new AbortController().signal });

describe('mcpTools over stdio', () => {
  it("lists the server's tools with their JSON Schemas passed through", async () => {
    const source = await open();
    expect(source.server).toEqual({ name: 'spine-test-server', version: '1.2.3' });
    expect(source.tools.map((t) => t.name).sort()).toEqual(['add', 'echo_key', 'fail', 'flaky']);
    const add = source.tools.find((t) => t.name === 'add')!;
    expect(add.description).toBe('Adds two numbers.');
    expect(add.inputSchema).toMatchObject({ type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } }, required: ['a', 'b'] });
  });

  it('calls a tool and returns its structured result', async () => {
    const source = await open();
    const add = source.tools.find((t) => t.name === 'add')!;
    await expect(add.call({ a: 2, b: 40 }, context())).resolves.toEqual({ sum: 42 });
  });

  it('passes the idempotency key to the server in _meta', async () => {
    const source = await open();
    const echo = source.tools.find((t) => t.name === 'echo_key')!;
    await expect(echo.call({}, context('run:9:tool:3'))).resolves.toBe('run:9:tool:3');
  });

  it('turns an error result into a retryable ToolError carrying the server text', async () => {
    const source = await open();
    const fail = source.tools.find((t) => t.name === 'fail')!;
    const promise = fail.call({ reason: 'no disk' }, context());
    await expect(promise).rejects.toBeInstanceOf(ToolError);
    await expect(promise).rejects.toMatchObject({ code: 'tool_failed', retryable: true, message: expect.stringContaining('cannot do that: no disk') });
  });

  it('refuses arguments that are not an object before calling the server', async () => {
    const source = await open();
    const add = source.tools.find((t) => t.name === 'add')!;
    await expect(add.call([1, 2], context())).rejects.toMatchObject({ code: 'invalid_tool_input' });
  });

  it('reports arguments the server rejects as a tool failure', async () => {
    const source = await open();
    const add = source.tools.find((t) => t.name === 'add')!;
    await expect(add.call({ a: 'two', b: 1 }, context())).rejects.toBeInstanceOf(ToolError);
  });

  it('prefixes tool names to keep servers apart, and the tools can be granted like any other', async () => {
    const source = await open({ prefix: 'math' });
    const tools = grantTools(source.tools, ['math_add'], { agent: 'calculator' });
    await expect(tools.call('math_add', { a: 1, b: 1 }, context())).resolves.toEqual({ sum: 2 });
    expect(() => tools.get('math_fail')).toThrow(/may not call tool "math_fail"/);
  });

  it('stops the server process on close', async () => {
    const source = await open();
    await source.close();
    sources.splice(sources.indexOf(source), 1);
    const add = source.tools.find((t) => t.name === 'add')!;
    await expect(add.call({ a: 1, b: 1 }, context())).rejects.toBeInstanceOf(ToolError);
  });

  it('serves a model in a tool loop, retrying a flaky MCP tool until it works', async () => {
    const source = await open({ env: { FLAKY_FAILURES: '2' } });
    const server = await startScriptedModelServer({
      script: [
        { match: { toolResultFor: 'flaky' }, reply: { content: 'The service answered: ok now.' } },
        { reply: { toolCalls: [{ name: 'flaky', arguments: {} }] } },
      ],
    });
    try {
      const provider = resolveProvider({ OPENAI_BASE_URL: server.url }, { model: 'scripted' });
      const result = await runToolLoop(
        { messages: [{ role: 'user', content: 'Check the service.' }] },
        { provider, idempotencyKey: 'run:2:0', tools: source.tools, sleep: async () => {} },
      );
      expect(result.text).toBe('The service answered: ok now.');
      expect(result.toolCalls).toEqual([{ n: 1, tool: 'flaky', idempotencyKey: 'run:2:0:tool:1', attempts: 3, outcome: 'ok' }]);
      expect(result.messages[2]).toMatchObject({ role: 'tool', content: 'ok now' });
    } finally {
      await server.close();
    }
  });
});
