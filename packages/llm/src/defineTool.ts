import { z } from 'zod';
import { ConfigError, LlmError, ToolError } from './errors.js';
import { toJsonSchema, type JsonSchema } from './toJsonSchema.js';
import { issuesOf, formatIssues } from './zodIssues.js';

/** What a tool's `run` receives besides its input. */
export interface ToolContext {
  /** Stable across retries of this tool call; pass it to the system the tool calls. */
  idempotencyKey: string;
  signal: AbortSignal;
}

/**
 * A tool a model may call: a name, a description and a JSON Schema for the model, and `call`,
 * which validates the raw input, runs the tool and validates its output.
 */
export interface Tool<Input = unknown, Output = unknown> {
  readonly name: string;
  readonly description: string;
  /** The JSON Schema of the input, as sent to the model. */
  readonly inputSchema: JsonSchema;
  /** The zod schema of the input, when the tool was defined with one (`defineTool`): approvals check edited proposals against it. */
  readonly input?: z.ZodType<Input>;
  /**
   * Validates `input`, runs the tool, validates the output.
   *
   * @throws ToolError `invalid_tool_input`, `invalid_tool_output`, or `tool_failed`.
   */
  call(input: unknown, context: ToolContext): Promise<Output>;
  /** Marker for type inference only. */
  readonly _types?: { input: Input; output: Output };
}

/** What `defineTool` takes. */
export interface ToolDefinition<InputSchema extends z.ZodType, OutputSchema extends z.ZodType> {
  /** 1-64 letters, digits, `_` or `-` (what providers accept). */
  name: string;
  description: string;
  input: InputSchema;
  output: OutputSchema;
  run(input: z.output<InputSchema>, context: ToolContext): Promise<z.input<OutputSchema>> | z.input<OutputSchema>;
}

const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

/**
 * Defines a tool with zod input and output schemas; input is validated before `run`, output after.
 *
 * @throws ConfigError when the name is not one providers accept.
 * @example
 * ```ts
 * const lookup = defineTool({
 *   name: 'lookup_order',
 *   description: 'Finds an order by id.',
 *   input: z.object({ orderId: z.string() }),
 *   output: z.object({ status: z.string() }),
 *   run: async ({ orderId }, { idempotencyKey, signal }) => orders.get(orderId, { idempotencyKey, signal }),
 * });
 * ```
 */
export function defineTool<InputSchema extends z.ZodType, OutputSchema extends z.ZodType>(
  definition: ToolDefinition<InputSchema, OutputSchema>,
): Tool<z.output<InputSchema>, z.output<OutputSchema>> {
  const { name, description, input, output, run } = definition;
  assertToolName(name);
  const inputSchema = toJsonSchema(input);
  return {
    name,
    description,
    inputSchema,
    input: input as z.ZodType<z.output<InputSchema>>,
    async call(raw, context) {
      const parsedInput = input.safeParse(raw);
      if (!parsedInput.success) {
        throw new ToolError({
          tool: name,
          code: 'invalid_tool_input',
          message: `Invalid input for tool "${name}": ${formatIssues(issuesOf(parsedInput.error))}`,
        });
      }
      let result: unknown;
      try {
        result = await run(parsedInput.data, context);
      } catch (error) {
        throw toToolError(name, error);
      }
      const parsedOutput = output.safeParse(result);
      if (!parsedOutput.success) {
        throw new ToolError({
          tool: name,
          code: 'invalid_tool_output',
          message: `Tool "${name}" returned output outside its schema: ${formatIssues(issuesOf(parsedOutput.error))}`,
          retryable: false,
        });
      }
      return parsedOutput.data;
    },
  };
}

/** Checks a tool name against what providers accept. */
export function assertToolName(name: string): void {
  if (!TOOL_NAME.test(name)) {
    throw new ConfigError(
      `Tool name "${name}" is not allowed: use 1-64 letters, digits, "_" or "-" (what model providers accept).`,
    );
  }
}

/** Wraps whatever a tool's `run` threw as a `ToolError`, keeping an `LlmError`'s retryability. */
export function toToolError(tool: string, error: unknown): ToolError {
  if (error instanceof ToolError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new ToolError({
    tool,
    code: 'tool_failed',
    message: `Tool "${tool}" failed: ${message}`,
    retryable: error instanceof LlmError ? error.retryable : true,
    cause: error,
  });
}
