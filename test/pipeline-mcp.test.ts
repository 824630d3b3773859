import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mcpTools, type McpToolSource } from '@spine/llm';
import { afterEach, describe, expect, it } from 'vitest';
import { startPipelineHost, type PipelineHost } from './fixtures-pipeline/harness.js';

const fixture = fileURLToPath(new URL('./fixtures-pipeline/searchMcpServer.mjs', import.meta.url));

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

describe('an MCP server as a tool source', () => {
  it('gives the researcher its search tool from an MCP server process, with the activity key as idempotency key', async () => {
    const keysFile = join(mkdtempSync(join(tmpdir(), 'spine-mcp-')), 'keys.txt');
    const source: McpToolSource = await mcpTools({ command: process.execPath, args: [fixture], env: { MCP_KEYS_FILE: keysFile }, stderr: 'ignore' });
    cleanup.push(() => source.close());
    const search = source.tools.find((t) => t.name === 'search')!;
    const host: PipelineHost = await startPipelineHost({ search });
    cleanup.push(() => host.close());

    const { runId } = await host.runtime.startRun('supervisor', { input: { topic: 'journal idempotency key' } });
    expect(await host.finish(runId)).toMatchObject({ status: 'done', output: { status: 'published' } });

    const notesReady = (await host.store.history(runId)).map((s) => JSON.parse(s.event)).find((e) => e.type === 'notes.ready');
    expect(notesReady.notes.map((n: { source: string }) => n.source)).toEqual(['mcp:journal.md', 'mcp:keys.md']);
    const toolJob = (await host.jobs(runId)).find((j) => j.src === 'useTool')!;
    expect(readFileSync(keysFile, 'utf8').trim().split('\n')).toEqual([toolJob.key]);
  });
});
