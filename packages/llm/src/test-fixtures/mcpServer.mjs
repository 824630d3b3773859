// A tiny MCP server over stdio for mcpTools.test.ts, started with `node mcpServer.mjs`.
// Tools: add (structured result), echo_key (returns the idempotency key it received in _meta),
// fail (reports an error result), and flaky (fails its first FLAKY_FAILURES calls, then works).
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';

const server = new McpServer({ name: 'spine-test-server', version: '1.2.3' });
let flakyFailures = Number(process.env.FLAKY_FAILURES ?? '0');

server.registerTool(
  'add',
  {
    description: 'Adds two numbers.',
    inputSchema: { a: z.number(), b: z.number() },
    outputSchema: { sum: z.number() },
  },
  async ({ a, b }) => ({
    content: [{ type: 'text', text: String(a + b) }],
    structuredContent: { sum: a + b },
  }),
);

server.registerTool(
  'echo_key',
  { description: 'Echoes the idempotency key of the call.', inputSchema: {} },
  async (_args, extra) => ({
    content: [{ type: 'text', text: String(extra._meta?.['spine/idempotencyKey'] ?? 'none') }],
  }),
);

server.registerTool(
  'fail',
  { description: 'Always reports an error.', inputSchema: { reason: z.string() } },
  async ({ reason }) => ({ content: [{ type: 'text', text: `cannot do that: ${reason}` }], isError: true }),
);

server.registerTool('flaky', { description: 'Fails at first.', inputSchema: {} }, async () => {
  if (flakyFailures > 0) {
    flakyFailures -= 1;
    return { content: [{ type: 'text', text: 'temporarily unavailable' }], isError: true };
  }
  return { content: [{ type: 'text', text: 'ok now' }] };
});

await server.connect(new StdioServerTransport());
