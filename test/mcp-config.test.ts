import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, spawnSpine } from './support/spawnSpine.js';

// The real `spine run` with tools from a real MCP server package (@modelcontextprotocol/server-everything),
// configured by an mcp.json in the shape Claude Desktop and Cursor use: one server over stdio, one over
// Streamable HTTP, and the agent's allowlist in the same file.
const everything = createRequire(import.meta.url).resolve('@modelcontextprotocol/server-everything/dist/index.js');
const machines = join(repoRoot, 'test/fixtures/mcp-machines');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

describe('MCP servers from an mcpServers config file', () => {
  let http: ChildProcess | undefined;
  let url = '';
  beforeAll(async () => {
    const port = await freePort();
    http = spawn(process.execPath, [everything, 'streamableHttp'], { env: { ...process.env, PORT: String(port), NODE_OPTIONS: '' }, stdio: ['ignore', 'ignore', 'pipe'] });
    await new Promise<void>((resolve, reject) => {
      let text = '';
      http!.stderr!.on('data', (chunk) => {
        text += chunk;
        if (text.includes('listening on port')) resolve();
      });
      http!.once('exit', (code) => reject(new Error(`server-everything exited (${code}): ${text}`)));
    });
    url = `http://127.0.0.1:${port}/mcp`;
  }, 30_000);
  afterAll(() => {
    http?.kill();
  });

  it('runs an agent on tools of a stdio server and a Streamable HTTP server, refuses an unlisted one, and exits', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spine-mcp-'));
    const config = join(dir, 'mcp.json');
    writeFileSync(
      config,
      JSON.stringify({
        mcpServers: {
          stdio: { command: process.execPath, args: [everything, 'stdio'], env: { NODE_OPTIONS: '' } },
          http: { url, headers: { 'x-spine-test': '1' } },
        },
        agents: { reader: ['stdio/echo', 'http/get-sum'] },
      }),
    );
    const started = Date.now();
    const run = await spawnSpine(['run', 'reader', '--machines', machines, '--db', join(dir, 'spine.db'), '--json'], { env: { SPINE_MCP: config }, killAfterMs: 30_000 });
    expect(run.signal, `spine run was killed: it did not exit\n${run.stderr}`).toBeNull();
    expect(run.code, run.stderr).toBe(0);
    expect(Date.now() - started).toBeLessThan(30_000);
    const outcome = JSON.parse(run.stdout) as { status: string; output: { result: Record<string, unknown>; error: string | null } };
    expect(outcome.status).toBe('done');
    expect(outcome.output.error).toBeNull();
    expect(outcome.output.result).toEqual({
      granted: ['stdio_echo', 'http_get-sum'],
      echo: 'Echo: over stdio',
      sum: 'The sum of 2 and 40 is 42.',
      refused: expect.stringContaining('may not call tool "stdio_get-env"'),
    });
  }, 90_000);

  it('fails the step with the file and the field named when the configuration asks for the SSE transport', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spine-mcp-'));
    const config = join(dir, 'mcp.json');
    writeFileSync(config, JSON.stringify({ mcpServers: { stdio: { type: 'sse', url: 'http://127.0.0.1:1/sse' } }, agents: { reader: ['stdio/echo'] } }));
    const run = await spawnSpine(['run', 'reader', '--machines', machines, '--db', join(dir, 'spine.db'), '--json'], { env: { SPINE_MCP: config }, killAfterMs: 60_000 });
    expect(run.signal).toBeNull();
    const outcome = JSON.parse(run.stdout) as { output: { error: string } };
    expect(outcome.output.error).toContain(`Invalid MCP configuration in ${config}`);
    expect(outcome.output.error).toContain('mcpServers.stdio');
    expect(outcome.output.error).toContain('SSE transport is not supported');
  }, 60_000);
});
