import { RetryableError, TerminalError, type Activity, type ActivityContext } from '@spine/runtime';
import { z } from 'zod';
import type { ToolCall } from './ChatMessage.js';
import type { CircuitBreaker } from './CircuitBreaker.js';
import { backoffDelay } from './decide.js';
import { toToolError, type Tool } from './defineTool.js';
import { CircuitOpenError, ToolError } from './errors.js';
import type { ToolRegistry } from './grantTools.js';
import { type CallFacts } from './ledger.js';
import type { LlmEnvironment } from './LlmEnvironment.js';
import { breakerFacts } from './modelActivity.js';
import { zeroUsage } from './Usage.js';

/** What a model-chosen tool call produced: what the model is told next, and what happened. */
export interface ToolStep {
  /** The model's id for the call, for the tool message that answers it. */
  callId: string;
  tool: string;
  /**
   * `ok`: the tool ran; `invalid_input`: the arguments failed the tool's schema (the model is asked
   * to fix them); `disabled`: the tool kept failing and is now disabled for this run;
   * `skipped_disabled`: the tool was disabled earlier; `refused`: the agent was not granted it.
   */
  status: 'ok' | 'invalid_input' | 'disabled' | 'skipped_disabled' | 'refused';
  /** The tool message's content: the result as JSON, or why there is none. */
  content: string;
  isError: boolean;
  output?: unknown;
}

/** Options of `toolCallActivity`. */
export interface ToolCallActivityOptions {
  agent: string;
  llm: LlmEnvironment | (() => LlmEnvironment);
  /** The tools the agent was granted (`grantTools`); any other tool is refused. */
  tools: ToolRegistry | (() => ToolRegistry);
  /** Builds the job's input from the invoking actor's context and event when the step asks for the call. */
  mapInput?: (args: { context: any; event: { type: string }; input: unknown }) => unknown;
  /** Picks the call to run, and the tools disabled so far in this run, from the job's input (or the actor's context). */
  call(source: { input: any; context: any }): { call: ToolCall; disabled?: readonly string[] };
}

/**
 * A runtime activity that runs ONE tool call a model asked for, with the activity's stable key as
 * the tool's idempotency key. A tool the agent was not granted is refused (journaled with
 * `refused`, never run); a failing tool is retried durably with back-off, then disabled for the
 * rest of the run; in every case the output tells the model what happened, so the agent's loop
 * goes on.
 *
 * @example
 * ```ts
 * useTool: toolCallActivity({ agent: 'researcher', llm, tools: grantTools(all, ['search'], { agent: 'researcher' }),
 *   call: ({ context }) => ({ call: context.pendingCalls[0], disabled: context.disabledTools }) }),
 * ```
 */
export function toolCallActivity(options: ToolCallActivityOptions): Activity<unknown, ToolStep> {
  const env = typeof options.llm === 'function' ? options.llm : () => options.llm as LlmEnvironment;
  const registry = typeof options.tools === 'function' ? options.tools : () => options.tools as ToolRegistry;
  const { agent } = options;
  return {
    ...(options.mapInput ? { mapInput: options.mapInput } : {}),
    maxAttempts: 40,
    async run(input, ctx) {
      const llm = env();
      const tools = registry();
      const { call, disabled = [] } = options.call({ input, context: ctx.context });
      const record = toolRecorder(ctx, agent, call.name);
      const answer = (status: ToolStep['status'], content: string, output?: unknown): ToolStep => ({
        callId: call.id,
        tool: call.name,
        status,
        content,
        isError: status !== 'ok',
        ...(output === undefined ? {} : { output }),
      });

      if (!tools.has(call.name)) {
        const allowed = tools.names();
        record({ decision: 'refused', refused: { tool: call.name, agent, allowed } });
        return answer(
          'refused',
          `Tool "${call.name}" is not available to you (agent "${agent}"); you may use ${allowed.length ? allowed.map((n) => `"${n}"`).join(', ') : 'no tools'}. Do not call it again.`,
        );
      }
      if (disabled.includes(call.name)) {
        record({ decision: 'skipped_disabled' });
        return answer('skipped_disabled', `Tool "${call.name}" is disabled for the rest of this run after repeated failures. Continue without it.`);
      }

      const tool = tools.get(call.name);
      const outcome = await runOnce(tool, call.input, ctx, llm);
      if (outcome.ok) {
        record({ decision: 'ok', latencyMs: outcome.latencyMs }, outcome.breaker);
        return answer('ok', stringify(outcome.output), outcome.output);
      }
      const { error, breaker, latencyMs } = outcome;
      const failure = { kind: 'tool_failed' as const, message: error.message };
      if (error instanceof ToolError && error.code === 'invalid_tool_input') {
        record({ decision: 'invalid_input', latencyMs, failure }, breaker);
        return answer('invalid_input', `${error.message}. Fix the arguments and call the tool again.`);
      }
      const { failures } = retryToolDurably(outcome, ctx, llm, record);
      record({ decision: 'disable', latencyMs, failure }, breaker);
      return answer(
        'disabled',
        `Tool "${call.name}" failed ${failures} time${failures === 1 ? '' : 's'} (${error.message}) and is disabled for the rest of this run. Continue without it.`,
      );
    },
  };
}

/** Options of `toolActivity`. */
export interface ToolActivityOptions<Input> {
  agent: string;
  llm: LlmEnvironment | (() => LlmEnvironment);
  /** Builds the job's input from the invoking actor's context and event when the step asks for the call. */
  mapInput?: (args: { context: any; event: { type: string }; input: unknown }) => unknown;
  /**
   * Builds the tool's input from the job's input (or the actor's context). Default: the job's
   * input is the tool's input, and the tool's zod schema is the activity's input schema.
   */
  input?(source: { input: any; context: any }): Input;
  /**
   * The schema of the job's input (what an approval shows as the proposal and checks an edit
   * against). Default: the tool's input schema when `input` is not given; with a custom `input`
   * and no `proposal`, a held call can be approved or rejected but not edited.
   */
  proposal?: z.ZodType;
}

/**
 * A runtime activity that calls one tool directly (not chosen by a model: a side effect such as
 * `publish`), passing the activity's stable key as the idempotency key. A failing tool is retried
 * durably with back-off up to the tool retry policy, then the step fails (`TerminalError`); bad
 * input fails at once.
 *
 * @example
 * ```ts
 * publish: toolActivity(publishTool, { agent: 'supervisor', llm, mapInput: ({ context }) => ({ title: context.draft.title, body: context.draft.body }) }),
 * ```
 */
export function toolActivity<Input, Output>(tool: Tool<Input, Output>, options: ToolActivityOptions<Input>): Activity<unknown, Output> {
  const env = typeof options.llm === 'function' ? options.llm : () => options.llm as LlmEnvironment;
  const { agent } = options;
  const schema = options.proposal ?? (options.input ? undefined : (tool.input ?? zodOfJsonSchema(tool)));
  const toToolInput = options.input ?? (({ input }: { input: unknown }) => input as Input);
  return {
    ...(options.mapInput ? { mapInput: options.mapInput } : {}),
    ...(schema ? { input: schema } : {}),
    maxAttempts: 40,
    async run(input, ctx) {
      const llm = env();
      const record = toolRecorder(ctx, agent, tool.name);
      const outcome = await runOnce(tool, toToolInput({ input, context: ctx.context }), ctx, llm);
      if (outcome.ok) {
        record({ decision: 'ok', latencyMs: outcome.latencyMs }, outcome.breaker);
        return outcome.output as Output;
      }
      const { error, breaker, latencyMs } = outcome;
      const failure = { kind: 'tool_failed' as const, message: error.message };
      const { retryable, failures } = retryToolDurably(outcome, ctx, llm, record);
      record({ decision: 'fail', latencyMs, failure }, breaker);
      const kind = error instanceof ToolError ? error.code : 'tool_failed';
      throw new TerminalError(`Tool "${tool.name}" of ${agent} failed${retryable ? ` ${failures} times` : ''}: ${error.message}`, { kind, cause: error });
    },
  };
}

/** A tool without a zod schema (an MCP tool) is checked against its JSON Schema, converted once; undefined when zod cannot read it. */
function zodOfJsonSchema(tool: Tool): z.ZodType | undefined {
  try {
    return z.fromJSONSchema(tool.inputSchema as Parameters<typeof z.fromJSONSchema>[0]);
  } catch {
    return undefined;
  }
}

type Recorder = (more: Partial<CallFacts>, breaker?: CircuitBreaker) => void;

/** Journals one tool call: each call merges more facts (and the breaker's state) into the attempt's entry. */
function toolRecorder(ctx: ActivityContext, agent: string, tool: string): Recorder {
  const facts: CallFacts = { call: 'tool', agent, tool, idempotencyKey: ctx.key, usage: { ...zeroUsage }, costUsd: 0, latencyMs: 0, decision: 'ok' };
  return (more, breaker) => {
    Object.assign(facts, more, breaker ? { breaker: breakerFacts(breaker) } : {});
    ctx.record(facts as unknown as Record<string, unknown>);
  };
}

/**
 * A failed tool call is tried again later, durably, while it is retryable and the tool retry
 * policy has attempts left: this journals the retry and throws `RetryableError`. Otherwise it
 * returns whether the failure was retryable and how many times the tool has failed.
 */
function retryToolDurably(
  outcome: Extract<RunOutcome, { ok: false }>,
  ctx: ActivityContext,
  llm: LlmEnvironment,
  record: Recorder,
): { retryable: boolean; failures: number } {
  const { error, breaker, latencyMs } = outcome;
  const retryable = error instanceof CircuitOpenError || (error instanceof ToolError && error.retryable);
  const failures = ctx.previousAttempts.filter((e) => e['call'] === 'tool' && e['decision'] === 'retry').length + 1;
  if (retryable && failures < llm.toolRetry.maxAttempts) {
    const delayMs =
      error instanceof CircuitOpenError ? error.retryAfterMs : backoffDelay({ ...llm.toolRetry, honorRetryAfter: false }, failures, undefined, llm.random);
    record({ decision: 'retry', latencyMs, failure: { kind: 'tool_failed', message: error.message }, delayMs }, breaker);
    throw new RetryableError(error.message, { retryAfterMs: delayMs, kind: 'tool_failed', cause: error });
  }
  return { retryable, failures };
}

type RunOutcome =
  | { ok: true; output: unknown; latencyMs: number; breaker: CircuitBreaker }
  | { ok: false; error: ToolError | CircuitOpenError; latencyMs: number; breaker: CircuitBreaker };

/** Calls a tool once through its breaker (only `tool_failed` counts against it). */
async function runOnce(tool: Tool, input: unknown, ctx: ActivityContext, llm: LlmEnvironment): Promise<RunOutcome> {
  const breaker = llm.breaker(`tool:${tool.name}`);
  const started = performance.now();
  const latency = () => Math.round(performance.now() - started);
  try {
    const output = await breaker.run(() => tool.call(input, { idempotencyKey: ctx.key, signal: ctx.signal }), {
      isFailure: (error) => error instanceof ToolError && error.code === 'tool_failed',
    });
    return { ok: true, output, latencyMs: latency(), breaker };
  } catch (thrown) {
    if (ctx.signal.aborted) throw thrown;
    const error = thrown instanceof CircuitOpenError ? thrown : toToolError(tool.name, thrown);
    return { ok: false, error, latencyMs: latency(), breaker };
  }
}

function stringify(value: unknown): string {
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value) ?? 'null';
  } catch {
    return String(value);
  }
}
