import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { z } from 'zod';
import { assertToolName, type Tool } from './defineTool.js';
import { ConfigError, ToolError } from './errors.js';
import type { JsonSchema } from './toJsonSchema.js';
import { formatIssues, issuesOf } from './zodIssues.js';

/** How to reach an MCP server: a process over stdio (`command`) or a Streamable HTTP endpoint (`url`). */
export type McpServerOptions = (McpStdioServer | McpHttpServer) & McpSourceOptions;

/** An MCP server started as a child process, spoken to over stdio. */
export interface McpStdioServer {
  command: string;
  args?: string[];
  /** Added to a minimal safe environment (PATH, HOME, ...), not to the whole of `process.env`. */
  env?: Record<string, string>;
  cwd?: string;
  /** What to do with the server's stderr. Default `inherit`. */
  stderr?: 'inherit' | 'ignore' | 'pipe';
  url?: undefined;
}

/** An MCP server reached over the Streamable HTTP transport. */
export interface McpHttpServer {
  url: string;
  /** Sent with every request (e.g. `Authorization`). */
  headers?: Record<string, string>;
  command?: undefined;
}

/** Options of any MCP tool source. */
export interface McpSourceOptions {
  /** Prefixes tool names (`${prefix}_${name}`) to keep several servers apart. */
  prefix?: string;
  /** Per-call timeout of the MCP request. Default 60 000. */
  timeoutMs?: number;
}

/** Tools from an MCP server, and how to stop it. */
export interface McpToolSource {
  tools: Tool[];
  /** The server's name and version, as it reports them. */
  server: { name: string; version: string } | undefined;
  /** Closes the connection and stops the server process (idempotent). */
  close(): Promise<void>;
}

/** Every tool source opened in this process and not closed yet. */
const openSources = new Set<{ close(): Promise<void> }>();

/**
 * Closes every MCP tool source this process opened and has not closed (their child processes
 * and HTTP sessions). A host calls it when it stops: the `spine` command does after every
 * command, so a stdio server never keeps the process alive.
 */
export async function closeToolSources(): Promise<void> {
  const sources = [...openSources];
  openSources.clear();
  await Promise.allSettled(sources.map((source) => source.close()));
}

/** Tracks a closeable so `closeToolSources` reaches it; its own `close` untracks it. */
export function trackToolSource<T extends { close(): Promise<void> }>(source: T): T {
  const close = source.close.bind(source);
  let closing: Promise<void> | undefined;
  source.close = () => {
    openSources.delete(source);
    return (closing ??= close());
  };
  openSources.add(source);
  return source;
}

/** The idempotency key travels in the MCP request's `_meta` under this name. */
export const MCP_IDEMPOTENCY_META_KEY = 'spine/idempotencyKey';

const argumentsSchema = z.record(z.string(), z.unknown());

const contentPartSchema = z.looseObject({ type: z.string(), text: z.string().optional() });
const callResultSchema = z.looseObject({
  content: z.array(contentPartSchema).default([]),
  structuredContent: z.record(z.string(), z.unknown()).optional(),
  isError: z.boolean().optional(),
});

// The MCP SDK (~0.2 s of module loading) is imported when a server is first connected, not by every
// process that loads @spine/llm (each `spine` command that loads machines).
async function transportOf(options: McpServerOptions): Promise<Transport> {
  if (options.url !== undefined) {
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      throw new ConfigError(`MCP server url "${options.url}" is not a URL.`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(`MCP server url "${options.url}" must be http: or https: (Streamable HTTP).`);
    const { StreamableHTTPClientTransport } = await import('@modelcontextprotocol/sdk/client/streamableHttp.js');
    return new StreamableHTTPClientTransport(url, options.headers ? { requestInit: { headers: options.headers } } : undefined);
  }
  const { getDefaultEnvironment, StdioClientTransport } = await import('@modelcontextprotocol/sdk/client/stdio.js');
  return new StdioClientTransport({
    command: options.command,
    ...(options.args === undefined ? {} : { args: options.args }),
    env: { ...getDefaultEnvironment(), ...options.env },
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    stderr: options.stderr ?? 'inherit',
  });
}

/**
 * Connects to an MCP server (a child process over stdio, or a Streamable HTTP endpoint) and turns its tools into Spine tools: each tool's JSON Schema goes
 * to the model as is; arguments must be a JSON object; the result envelope is checked with zod and a
 * tool result marked `isError` becomes a `ToolError`. The idempotency key goes in `_meta`.
 *
 * @example
 * ```ts
 * const files = await mcpTools({ command: 'npx', args: ['-y', '@modelcontextprotocol/server-filesystem', '/data'] });
 * try {
 *   await runToolLoop(request, { ...options, tools: grantTools(files.tools, ['read_file'], { agent: 'reader' }) });
 * } finally {
 *   await files.close();
 * }
 * ```
 */
export async function mcpTools(options: McpServerOptions): Promise<McpToolSource> {
  const transport = await transportOf(options);
  const { Client } = await import('@modelcontextprotocol/sdk/client/index.js');
  const client: Client = new Client({ name: 'spine', version: '0.1.0' });
  try {
    await client.connect(transport);
  } catch (error) {
    await client.close().catch(() => {});
    const where = options.url ?? [options.command, ...(options.args ?? [])].join(' ');
    throw new ToolError({ tool: options.prefix ?? where, code: 'tool_failed', message: `Could not connect to the MCP server ${where}: ${(error as Error).message}`, cause: error });
  }

  try {
    const listed: Awaited<ReturnType<Client['listTools']>>['tools'] = [];
    let cursor: string | undefined;
    do {
      const page = await client.listTools(cursor === undefined ? {} : { cursor });
      listed.push(...page.tools);
      cursor = page.nextCursor;
    } while (cursor);

    const timeout = options.timeoutMs ?? 60_000;
    const tools = listed.map((remote): Tool => {
      const name = options.prefix ? `${options.prefix}_${remote.name}` : remote.name;
      assertToolName(name);
      return {
        name,
        description: remote.description ?? remote.title ?? remote.name,
        inputSchema: remote.inputSchema as JsonSchema,
        async call(input, context) {
          const args = argumentsSchema.safeParse(input ?? {});
          if (!args.success) {
            throw new ToolError({
              tool: name,
              code: 'invalid_tool_input',
              message: `Invalid input for tool "${name}": arguments must be a JSON object (${formatIssues(issuesOf(args.error))})`,
            });
          }
          let raw: unknown;
          try {
            raw = await client.callTool(
              {
                name: remote.name,
                arguments: args.data,
                _meta: { [MCP_IDEMPOTENCY_META_KEY]: context.idempotencyKey },
              },
              undefined,
              { signal: context.signal, timeout },
            );
          } catch (error) {
            throw new ToolError({
              tool: name,
              code: 'tool_failed',
              message: `MCP tool "${name}" failed: ${(error as Error).message}`,
              cause: error,
            });
          }
          const result = callResultSchema.safeParse(raw);
          if (!result.success) {
            throw new ToolError({
              tool: name,
              code: 'invalid_tool_output',
              message: `MCP tool "${name}" returned a malformed result: ${formatIssues(issuesOf(result.error))}`,
              retryable: false,
            });
          }
          const text = result.data.content
            .map((part) => (part.type === 'text' ? (part.text ?? '') : `[${part.type}]`))
            .join('\n');
          if (result.data.isError) {
            throw new ToolError({ tool: name, code: 'tool_failed', message: `MCP tool "${name}" reported an error: ${text}` });
          }
          return result.data.structuredContent ?? text;
        },
      };
    });

    const version = client.getServerVersion();
    return trackToolSource({
      tools,
      server: version ? { name: version.name, version: version.version } : undefined,
      close: () => client.close(),
    });
  } catch (error) {
    await client.close();
    throw error;
  }
}
