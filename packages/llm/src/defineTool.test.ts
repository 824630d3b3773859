import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTool } from './defineTool.js';
import { ConfigError, ToolError, ToolNotAllowedError } from './errors.js';
import { grantTools } from './grantTools.js';

const context = { idempotencyKey: 'run:1:tool:1', signal: new AbortController().signal };

const add = defineTool({
  name: 'add',
  description: 'Adds two numbers.',
  input: z.object({ a: z.number(), b: z.number() }),
  output: z.object({ sum: z.number() }),
  run: ({ a, b }) => ({ sum: a + b }),
});

describe('defineTool', () => {
  it('publishes its input as JSON Schema for the model', () => {
    expect(add.inputSchema).toEqual({
      type: 'object',
      properties: { a: { type: 'number' }, b: { type: 'number' } },
      required: ['a', 'b'],
      additionalProperties: false,
    });
  });

  it('validates input, runs, validates output', async () => {
    await expect(add.call({ a: 1, b: 2 }, context)).resolves.toEqual({ sum: 3 });
  });

  it('refuses bad input before running, naming the field', async () => {
    let ran = false;
    const tool = defineTool({
      name: 't',
      description: 'd',
      input: z.object({ a: z.number() }),
      output: z.unknown(),
      run: () => {
        ran = true;
      },
    });
    await expect(tool.call({ a: 'x' }, context)).rejects.toMatchObject({ code: 'invalid_tool_input', retryable: false, message: expect.stringMatching(/a: .*expected number/i) });
    expect(ran).toBe(false);
  });

  it('refuses output outside the schema', async () => {
    const tool = defineTool({ name: 't', description: 'd', input: z.object({}), output: z.object({ n: z.number() }), run: () => ({ n: 'one' }) as never });
    await expect(tool.call({}, context)).rejects.toMatchObject({ code: 'invalid_tool_output', tool: 't' });
  });

  it('wraps a throw from run as a retryable tool failure and passes the idempotency key in', async () => {
    let key = '';
    const tool = defineTool({
      name: 't',
      description: 'd',
      input: z.object({}),
      output: z.unknown(),
      run: (_input, ctx) => {
        key = ctx.idempotencyKey;
        throw new Error('upstream 503');
      },
    });
    const promise = tool.call({}, context);
    await expect(promise).rejects.toBeInstanceOf(ToolError);
    await expect(promise).rejects.toMatchObject({ code: 'tool_failed', retryable: true, message: 'Tool "t" failed: upstream 503' });
    expect(key).toBe('run:1:tool:1');
  });

  it('refuses a name providers would reject', () => {
    expect(() => defineTool({ name: 'has space', description: '', input: z.object({}), output: z.unknown(), run: () => null })).toThrow(ConfigError);
  });
});

describe('grantTools', () => {
  const search = defineTool({ name: 'search', description: 'Searches.', input: z.object({ q: z.string() }), output: z.string(), run: ({ q }) => `results for ${q}` });

  it('gives an agent only the tools it was granted', () => {
    const tools = grantTools([add, search], ['search'], { agent: 'researcher' });
    expect(tools.names()).toEqual(['search']);
    expect(tools.list()).toEqual([search]);
  });

  it('refuses and records a call to a tool not granted, naming the tool and the agent', async () => {
    const tools = grantTools([add, search], ['search'], { agent: 'researcher' });
    let error: unknown;
    try {
      await tools.call('add', { a: 1, b: 2 }, context);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ToolNotAllowedError);
    expect(error).toMatchObject({ tool: 'add', agent: 'researcher', retryable: false, code: 'tool_not_allowed' });
    expect((error as Error).message).toBe('Agent "researcher" may not call tool "add"; it was granted "search". Add the tool to the agent\'s grant list if it should have it.');
    expect(tools.refusals).toEqual([{ tool: 'add', agent: 'researcher' }]);
  });

  it('refuses to grant a tool that does not exist', () => {
    expect(() => grantTools([add], ['serach'], { agent: 'a' })).toThrow(/unknown tools: "serach"/);
  });
});
