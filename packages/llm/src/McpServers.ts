import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import type { Tool } from './defineTool.js';
import { ConfigError } from './errors.js';
import { grantTools, type ToolRegistry } from './grantTools.js';
import { mcpTools, trackToolSource, type McpServerOptions, type McpToolSource } from './mcpTools.js';
import { formatIssues, issuesOf } from './zodIssues.js';

const SERVER_NAME = /^[A-Za-z0-9-]{1,32}$/;
const stringMap = z.record(z.string(), z.string());
// Other clients add keys of their own (`disabled`, `autoApprove`, `timeout`, ...): kept, ignored.
const stdioServer = z.looseObject({
  type: z.literal('stdio').optional(),
  command: z.string().min(1),
  args: z.array(z.string()).optional(),
  env: stringMap.optional(),
  cwd: z.string().optional(),
});
const httpServer = z.looseObject({
  type: z.enum(['http', 'streamable-http', 'streamableHttp']).optional(),
  url: z.string().url(),
  headers: stringMap.optional(),
});
const serverEntry = z.unknown().transform((value, ctx) => {
  const entry = value && typeof value === 'object' ? (value as Record<string, unknown>) : {};
  if (entry.type === 'sse') {
    ctx.addIssue({ code: 'custom', message: 'the SSE transport is not supported: use the Streamable HTTP endpoint (`url`, usually ending in /mcp)' });
    return z.NEVER;
  }
  if ('command' in entry === 'url' in entry) {
    ctx.addIssue({ code: 'custom', message: 'a server has either `command` (stdio) or `url` (Streamable HTTP), not both or neither' });
    return z.NEVER;
  }
  const parsed = 'url' in entry ? httpServer.safeParse(entry) : stdioServer.safeParse(entry);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path });
    return z.NEVER;
  }
  return parsed.data;
});

/**
 * An MCP configuration file in the shape other MCP clients use (Claude Desktop, Cursor):
 * `{ "mcpServers": { "<name>": { "command", "args", "env" } | { "url", "headers" } } }`, plus
 * Spine's optional `agents`: the tools each agent may use, as `server/tool` or `server/*`.
 */
export const mcpConfigSchema = z.looseObject({
  mcpServers: z.record(z.string(), serverEntry).superRefine((servers, ctx) => {
    for (const name of Object.keys(servers)) {
      if (!SERVER_NAME.test(name)) ctx.addIssue({ code: 'custom', path: [name], message: `"${name}": a server name is 1-32 letters, digits or "-" (it prefixes its tool names)` });
    }
  }),
  agents: z.record(z.string().min(1), z.array(z.string().regex(/^[A-Za-z0-9-]{1,32}\/(\*|[A-Za-z0-9_.-]{1,64})$/, 'an allowlist entry is `server/tool` or `server/*`'))).optional(),
});

/** A parsed MCP configuration. */
export type McpConfig = z.infer<typeof mcpConfigSchema>;

/** Options of McpServers. */
export interface McpServersOptions {
  /** Where the configuration came from, for error messages. */
  source?: string;
  /** What to do with stdio servers' stderr. Default `inherit`. */
  stderr?: 'inherit' | 'ignore' | 'pipe';
  /** Per-call timeout of MCP requests. Default 60 000. */
  timeoutMs?: number;
}

/**
 * The MCP servers of a configuration file, connected lazily (a server starts when an agent is
 * first granted one of its tools) and closed together. Tools are named `<server>_<tool>`.
 *
 * @example
 * ```ts
 * // mcp.json: { "mcpServers": { "files": { "command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/data"] } },
 * //             "agents": { "reader": ["files/read_text_file"] } }
 * const servers = McpServers.fromFile('mcp.json');
 * const tools = await servers.grant('reader');     // files_read_text_file only
 * await tools.call('files_read_text_file', { path: '/data/a.md' }, { idempotencyKey: ctx.key, signal: ctx.signal });
 * await servers.close();
 * ```
 */
export class McpServers {
  readonly config: McpConfig;
  readonly #options: McpServersOptions;
  readonly #sources = new Map<string, Promise<McpToolSource>>();

  constructor(config: unknown, options: McpServersOptions = {}) {
    const parsed = mcpConfigSchema.safeParse(config);
    if (!parsed.success) {
      throw new ConfigError(`Invalid MCP configuration${options.source ? ` in ${options.source}` : ''}: ${formatIssues(issuesOf(parsed.error))}`);
    }
    this.config = parsed.data;
    this.#options = options;
    for (const [agent, list] of Object.entries(this.config.agents ?? {})) this.#checkServers(agent, list);
    trackToolSource(this);
  }

  /**
   * Reads a configuration file.
   *
   * @throws ConfigError when it is missing, not JSON, or not a valid configuration (the field is named).
   */
  static fromFile(path: string, options: Omit<McpServersOptions, 'source'> = {}): McpServers {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      throw new ConfigError(`Cannot read the MCP configuration ${path}: ${(error as Error).message}`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw new ConfigError(`The MCP configuration ${path} is not valid JSON: ${(error as Error).message}`);
    }
    return new McpServers(json, { ...options, source: path });
  }

  /** The configured server names. */
  names(): string[] {
    return Object.keys(this.config.mcpServers);
  }

  /** The tools of one server (`<server>_<tool>`), connecting to it on first use. */
  tools(server: string): Promise<Tool[]> {
    const entry = Object.hasOwn(this.config.mcpServers, server) ? this.config.mcpServers[server] : undefined;
    if (!entry) return Promise.reject(this.#unknownServer(server));
    let source = this.#sources.get(server);
    if (!source) {
      const options = { ...(entry as McpServerOptions), prefix: server, ...(this.#options.timeoutMs ? { timeoutMs: this.#options.timeoutMs } : {}) } as McpServerOptions;
      if (options.command !== undefined && this.#options.stderr) options.stderr = this.#options.stderr;
      source = mcpTools(options);
      source.catch(() => this.#sources.delete(server));
      this.#sources.set(server, source);
    }
    return source.then((s) => s.tools);
  }

  /**
   * The tools an agent may use (least privilege): `allowlist` (default: the configuration's
   * `agents[agent]`) as `server/tool` or `server/*`. Only the servers it names are started.
   *
   * @throws ConfigError when the agent has no allowlist, or it names an unknown server or tool.
   */
  async grant(agent: string, allowlist?: readonly string[]): Promise<ToolRegistry> {
    const agents = this.config.agents ?? {};
    const list = allowlist ?? (Object.hasOwn(agents, agent) ? agents[agent] : undefined);
    if (!list) throw new ConfigError(`Agent "${agent}" has no MCP allowlist${this.#options.source ? ` in ${this.#options.source}` : ''}: add "agents": { "${agent}": ["server/tool"] }.`);
    this.#checkServers(agent, list);
    const servers = [...new Set(list.map((entry) => entry.split('/')[0]!))];
    const all = (await Promise.all(servers.map((server) => this.tools(server)))).flat();
    const names = list.flatMap((entry) => {
      const [server, tool] = entry.split('/') as [string, string];
      return tool === '*' ? all.filter((t) => t.name.startsWith(`${server}_`)).map((t) => t.name) : [`${server}_${tool}`];
    });
    return grantTools(all, names, { agent });
  }

  /** Closes every server started so far. */
  async close(): Promise<void> {
    const sources = [...this.#sources.values()];
    this.#sources.clear();
    await Promise.allSettled(sources.map(async (source) => (await source).close()));
  }

  #checkServers(agent: string, list: readonly string[]): void {
    for (const entry of list) {
      const server = entry.split('/')[0]!;
      if (!Object.hasOwn(this.config.mcpServers, server)) throw this.#unknownServer(server, agent);
    }
  }

  #unknownServer(server: string, agent?: string): ConfigError {
    const known = this.names().map((n) => `"${n}"`).join(', ') || 'none';
    return new ConfigError(`${agent ? `Agent "${agent}" is granted tools of` : 'No'} MCP server "${server}"${agent ? ', which is not configured' : ' is configured'}${this.#options.source ? ` in ${this.#options.source}` : ''}. Configured servers: ${known}.`);
  }
}

let processServers: McpServers | undefined;

/**
 * The process's MCP servers: from the file named by `SPINE_MCP`, else `mcp.json` in the working
 * directory. Machine implementations use it so that the `spine` command (which closes every tool
 * source when it stops) and the configuration file decide which servers run.
 *
 * @throws ConfigError when no configuration file is found or it is invalid.
 */
export function mcpServers(env: Record<string, string | undefined> = process.env): McpServers {
  if (processServers) return processServers;
  const path = resolve(env.SPINE_MCP || 'mcp.json');
  if (!existsSync(path)) throw new ConfigError(`No MCP configuration: ${env.SPINE_MCP ? `SPINE_MCP names ${path}, which does not exist` : `set SPINE_MCP to your mcp.json or put one in ${process.cwd()}`}.`);
  const servers = McpServers.fromFile(path);
  const close = servers.close.bind(servers);
  servers.close = () => {
    if (processServers === servers) processServers = undefined;
    return close();
  };
  return (processServers = servers);
}
