import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from './runCli.js';
import type { ScriptedModelServer } from './ScriptedModelServer.js';

const servers: ScriptedModelServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function scriptFile(script: unknown): Promise<string> {
  const file = join(await mkdtemp(join(tmpdir(), 'scripted-model-')), 'script.json');
  await writeFile(file, JSON.stringify(script));
  return file;
}

describe('runCli', () => {
  it('serves a JSON script file and prints the base URL to point OPENAI_BASE_URL at', async () => {
    const file = await scriptFile([{ match: { lastUser: '/^ping$/' }, reply: { content: 'pong' } }]);
    const lines: string[] = [];
    const server = await runCli(['--script', file, '--port', '0'], (line) => lines.push(line));
    if (!server) throw new Error('runCli started no server');
    servers.push(server);
    expect(lines).toEqual([server.url]);
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);

    const res = await fetch(`${server.url}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'any', messages: [{ role: 'user', content: 'ping' }] }),
    });
    const body = (await res.json()) as { choices: { message: { content: string } }[] };
    expect(body.choices[0]?.message.content).toBe('pong');
  });

  it('sets up a seeded fault plan from flags', async () => {
    const server = await runCli(['--fault-rate', '1', '--fault-seed', '5', '--fault-kinds', 'unavailable'], () => {});
    if (!server) throw new Error('runCli started no server');
    servers.push(server);
    const res = await fetch(`${server.url}/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({ model: 'any', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(res.status).toBe(503);
  });

  it('prints usage for --help without starting a server', async () => {
    const lines: string[] = [];
    expect(await runCli(['--help'], (line) => lines.push(line))).toBeUndefined();
    expect(lines[0]).toMatch(/not a model/);
  });

  it('refuses a missing file, an invalid script and a non-numeric port with clear errors', async () => {
    await expect(runCli(['--script', '/nonexistent/script.json'], () => {})).rejects.toThrow(/Cannot read the script file/);
    const bad = await scriptFile([{ reply: { content: 1 } }]);
    await expect(runCli(['--script', bad], () => {})).rejects.toThrow(/script\.json: Invalid JSON script/);
    await expect(runCli(['--port', 'eighty'], () => {})).rejects.toThrow(/--port expects a number/);
    await expect(runCli(['--bogus'], () => {})).rejects.toThrow(/bogus/);
  });
});
