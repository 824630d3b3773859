// An MCP server over stdio with one tool, `search`, over a fixed in-memory corpus: the research
// pipeline's search tool from another process. Each call's idempotency key (sent by Spine in
// `_meta["spine/idempotencyKey"]`) is appended to the file named by MCP_KEYS_FILE.
import { appendFileSync } from 'node:fs';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';

const corpus = [
  { source: 'mcp:journal.md', text: 'A journal records each completed step, so a resumed workflow skips the steps it already finished.' },
  { source: 'mcp:keys.md', text: 'Reusing the idempotency key of a step when it runs again lets the receiving system ignore the repeat.' },
];

const server = new McpServer({ name: 'spine-test-search', version: '1.0.0' });
server.registerTool(
  'search',
  {
    description: 'Searches a small corpus about durable workflows.',
    inputSchema: { query: z.string() },
    outputSchema: { results: z.array(z.object({ source: z.string(), text: z.string() })) },
  },
  async ({ query }, extra) => {
    if (process.env.MCP_KEYS_FILE) appendFileSync(process.env.MCP_KEYS_FILE, `${extra._meta?.['spine/idempotencyKey'] ?? 'none'}\n`);
    const words = query.toLowerCase().split(/\W+/).filter((w) => w.length > 3);
    const results = corpus.filter((doc) => words.some((w) => doc.text.toLowerCase().includes(w))).slice(0, 3);
    return { content: [{ type: 'text', text: JSON.stringify({ results }) }], structuredContent: { results } };
  },
);
await server.connect(new StdioServerTransport());
