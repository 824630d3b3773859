import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { z } from 'zod';
import { assertToolName, type Tool } from './defineTool.js';
import { ToolError } from './errors.js';
import type { JsonSchema } from './toJsonSchema.js';
import { formatIssues, issuesOf } from './zodIssues.js';

/** How to start an MCP server over stdio. */
export interface McpServerOptions {
  command: string;
  args?: string[];
  /** Added to a minimal safe environment (PATH, HOME, ...), not to the whole of `process.env`. */
  env?: Record<string, string>;
  cwd?: string;
  /** Prefixes tool names (`${prefix}_${name}`) to keep several servers apart. */
  prefix?: string;
  /** Per-call timeout of the MCP request. Default 60 000. */
  timeoutMs?: number;
  /** What to do with the server's stderr. Default `inherit`. */
  stderr?: 'inherit' | 'ignore' | 'pipe';
}

/** Tools from an MCP server, and how to stop it. */
export interface McpToolSource {
  tools: Tool[];
  /** The server's name and version, as it reports them. */
  server: { name: string; version: string } | undefined;
  /** Closes the connection and stops the server process. */
  close(): Promise<void>;
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

/**
 * Starts an MCP server over stdio and turns its tools into Spine tools: each tool's JSON Schema goes
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
  const transport = new StdioClientTransport({
    command: options.command,
    ...(options.args === undefined ? {} : { args: options.args }),
    env: { ...getDefaultEnvironment(), ...options.env },
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    stderr: options.stderr ?? 'inherit',
  });
  const client = new Client({ name: 'spine', version: '0.1.0' });
  await client.connect(transport);

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
    return {
      tools,
      server: version ? { name: version.name, version: version.version } : undefined,
      close: () => client.close(),
    };
  } catch (error) {
    await client.close();
    throw error;
  }
}
