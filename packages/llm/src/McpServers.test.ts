import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from './errors.js';
import { McpServers, mcpServers } from './McpServers.js';

// Configuration only: connecting to real servers is covered by test/mcp-config.test.ts.
describe('McpServers configuration', () => {
  it('accepts the mcpServers shape of other MCP clients, keeping keys it does not use', () => {
    const servers = new McpServers({
      mcpServers: {
        files: { command: 'npx', args: ['-y', '@modelcontextprotocol/server-filesystem', '/data'], env: { A: '1' }, disabled: false },
        docs: { type: 'http', url: 'https://example.test/mcp', headers: { Authorization: 'Bearer x' } },
      },
      globalShortcut: 'Ctrl+Space',
    });
    expect(servers.names()).toEqual(['files', 'docs']);
  });

  it.each([
    [{ mcpServers: { a: { command: 'x', url: 'http://x/mcp' } } }, 'mcpServers.a: a server has either `command` (stdio) or `url` (Streamable HTTP)'],
    [{ mcpServers: { a: {} } }, 'mcpServers.a: a server has either'],
    [{ mcpServers: { a: { command: 'x', args: 'not-a-list' } } }, 'mcpServers.a.args'],
    [{ mcpServers: { 'a b': { command: 'x' } } }, 'a server name is 1-32 letters'],
    [{ servers: {} }, 'mcpServers'],
    [{ mcpServers: { a: { command: 'x' } }, agents: { reader: ['a'] } }, 'agents.reader[0]: an allowlist entry is `server/tool` or `server/*`'],
  ])('refuses %j naming the field', (config, message) => {
    expect(() => new McpServers(config, { source: 'mcp.json' })).toThrow(ConfigError);
    expect(() => new McpServers(config, { source: 'mcp.json' })).toThrow(message);
  });

  it('refuses an allowlist that names a server the file does not configure, listing the ones it does', () => {
    expect(() => new McpServers({ mcpServers: { files: { command: 'x' } }, agents: { reader: ['web/search'] } }, { source: 'mcp.json' })).toThrow(
      'Agent "reader" is granted tools of MCP server "web", which is not configured in mcp.json. Configured servers: "files".',
    );
  });

  it('refuses to grant an agent that has no allowlist, saying where to add one', async () => {
    const servers = new McpServers({ mcpServers: { files: { command: 'x' } } });
    await expect(servers.grant('writer')).rejects.toThrow('Agent "writer" has no MCP allowlist: add "agents": { "writer": ["server/tool"] }.');
    await servers.close();
  });

  it('reads the file named by SPINE_MCP, and names it when it is missing or not JSON', () => {
    const dir = mkdtempSync(join(tmpdir(), 'spine-mcp-config-'));
    expect(() => mcpServers({ SPINE_MCP: join(dir, 'none.json') })).toThrow(`SPINE_MCP names ${join(dir, 'none.json')}, which does not exist`);
    writeFileSync(join(dir, 'bad.json'), '{ "mcpServers": ');
    expect(() => McpServers.fromFile(join(dir, 'bad.json'))).toThrow(`The MCP configuration ${join(dir, 'bad.json')} is not valid JSON`);
  });
});
