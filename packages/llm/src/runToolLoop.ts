import type { FinishReason } from 'ai';
import { callModel, type CallModelOptions, type ModelRequest } from './callModel.js';
import type { ChatMessage } from './ChatMessage.js';
import type { CircuitBreaker } from './CircuitBreaker.js';
import { backoffDelay, decide, defaultRetryPolicies, type RetryPolicies } from './decide.js';
import { toToolError, type Tool } from './defineTool.js';
import { CircuitOpenError, ModelCallError, ToolError } from './errors.js';
import { ToolRegistry } from './grantTools.js';
import { addUsage, zeroUsage, type Usage } from './Usage.js';

/** How tool calls are retried inside the loop (in process, not durably: keep it short). */
export interface ToolRetryPolicy {
  /** Attempts per tool call, the first included. Default 3. */
  maxAttempts: number;
  /** Default 100. */
  baseDelayMs: number;
  /** Default 2 000. */
  maxDelayMs: number;
}

/** Options of `runToolLoop`: those of `callModel` plus the tools and the loop's limits. */
export interface ToolLoopOptions extends CallModelOptions {
  /** The agent's granted tools (`grantTools`), or a plain list (all granted, agent "agent"). */
  tools: ToolRegistry | readonly Tool[];
  /** Model calls at most. Default 8. */
  maxSteps?: number;
  toolRetry?: Partial<ToolRetryPolicy>;
  /** Per tool call. Default 60 000. */
  toolTimeoutMs?: number;
  /** A breaker per tool name, if any. */
  breakers?: (tool: string) => CircuitBreaker | undefined;
  /** The retry table; its `malformed_output` row caps re-asks of a structured final answer. */
  policies?: RetryPolicies;
  random?: () => number;
  /** Waits between tool retries. Default: a timer that the signal cancels. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** What happened to one tool call the model asked for. */
export interface ToolCallRecord {
  /** 1-based ordinal of the tool call in this run; part of its idempotency key. */
  n: number;
  tool: string;
  idempotencyKey: string;
  attempts: number;
  outcome: 'ok' | 'invalid_input' | 'failed_and_disabled' | 'skipped_disabled' | 'not_allowed';
  error?: string;
}

/** The result of a tool loop: the final answer, the whole conversation, and what every tool call did. */
export interface ToolLoopResult<T = unknown> {
  text: string;
  object?: T;
  finishReason: FinishReason;
  model: string;
  provider: string;
  /** The conversation, tool calls, results and final answer included. */
  messages: ChatMessage[];
  /** Summed over every model call of the loop. */
  usage: Usage;
  latencyMs: number;
  /** Model calls made. */
  steps: number;
  toolCalls: ToolCallRecord[];
  disabledTools: string[];
  /** `max_steps` when the model was still calling tools at the last allowed step. */
  stoppedBy: 'answer' | 'max_steps';
}

/**
 * Runs a model with tools until it answers: executes the tool calls it asks for (idempotency key
 * `${key}:tool:${n}`), feeds the results back, and repeats, up to `maxSteps` model calls. A failing
 * tool is retried; when it keeps failing it is disabled for the rest of the run and the model is told
 * so in the tool result. Invalid arguments go back to the model to fix.
 *
 * @throws ToolNotAllowedError when the model calls a tool the agent was not granted (terminal).
 * @throws ModelCallError for model failures (decide them as for `callModel`).
 * @example
 * ```ts
 * const result = await runToolLoop(
 *   { messages: [{ role: 'user', content: 'Where is order 42?' }] },
 *   { provider, idempotencyKey: ctx.key, tools: grantTools(allTools, ['lookup_order'], { agent: 'support' }) },
 * );
 * ```
 */
export async function runToolLoop<T = unknown>(
  request: ModelRequest<T>,
  options: ToolLoopOptions,
): Promise<ToolLoopResult<T>> {
  const registry = options.tools instanceof ToolRegistry ? options.tools : new ToolRegistry('agent', options.tools);
  const maxSteps = options.maxSteps ?? 8;
  const retry: ToolRetryPolicy = { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 2_000, ...options.toolRetry };
  const policies = options.policies ?? defaultRetryPolicies;
  const random = options.random ?? Math.random;
  const sleep = options.sleep ?? defaultSleep;
  const { tools: _tools, ...callOptions } = options;

  const messages: ChatMessage[] = [...request.messages];
  const records: ToolCallRecord[] = [];
  const disabled = new Set<string>();
  let usage: Usage = { ...zeroUsage };
  let latencyMs = 0;
  let reasks = 0;
  let toolCallCount = 0;
  let last: { finishReason: FinishReason; model: string; provider: string } = {
    finishReason: 'other',
    model: request.model ?? options.provider.model,
    provider: options.provider.id,
  };

  for (let step = 1; step <= maxSteps; step++) {
    const available = registry.list().filter((tool) => !disabled.has(tool.name));
    let result;
    try {
      result = await callModel(
        { ...request, messages, tools: available },
        { ...callOptions, idempotencyKey: `${options.idempotencyKey}:model:${step}` },
      );
    } catch (error) {
      if (!(error instanceof ModelCallError) || error.failure.kind !== 'malformed_output') throw error;
      usage = addUsage(usage, error.usage ?? zeroUsage);
      const decision = decide(error.failure, ++reasks, policies);
      if (decision.action !== 'reask') throw error;
      messages.push({ role: 'assistant', content: error.text ?? '' }, { role: 'user', content: decision.message });
      continue;
    }
    usage = addUsage(usage, result.usage);
    latencyMs += result.latencyMs;
    last = { finishReason: result.finishReason, model: result.model, provider: result.provider };

    if (result.toolCalls.length === 0) {
      messages.push({ role: 'assistant', content: result.text });
      return {
        text: result.text,
        ...(result.object === undefined ? {} : { object: result.object }),
        ...last,
        messages,
        usage,
        latencyMs,
        steps: step,
        toolCalls: records,
        disabledTools: [...disabled],
        stoppedBy: 'answer',
      };
    }

    messages.push({ role: 'assistant', content: result.text, toolCalls: result.toolCalls });
    for (const call of result.toolCalls) {
      const n = ++toolCallCount;
      const key = `${options.idempotencyKey}:tool:${n}`;
      if (disabled.has(call.name)) {
        records.push({ n, tool: call.name, idempotencyKey: key, attempts: 0, outcome: 'skipped_disabled' });
        messages.push(toolMessage(call, disabledNotice(call.name), true));
        continue;
      }
      let tool: Tool;
      try {
        tool = registry.get(call.name);
      } catch (error) {
        records.push({
          n,
          tool: call.name,
          idempotencyKey: key,
          attempts: 0,
          outcome: 'not_allowed',
          error: (error as Error).message,
        });
        throw error;
      }
      const outcome = await runTool(tool, call.input, key, {
        retry,
        random,
        sleep,
        breaker: options.breakers?.(tool.name),
        timeoutMs: options.toolTimeoutMs ?? 60_000,
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
      if (outcome.ok) {
        records.push({ n, tool: tool.name, idempotencyKey: key, attempts: outcome.attempts, outcome: 'ok' });
        messages.push(toolMessage(call, stringify(outcome.output), false));
      } else if (outcome.error.code === 'invalid_tool_input') {
        records.push({
          n,
          tool: tool.name,
          idempotencyKey: key,
          attempts: outcome.attempts,
          outcome: 'invalid_input',
          error: outcome.error.message,
        });
        messages.push(toolMessage(call, `${outcome.error.message}. Fix the arguments and call the tool again.`, true));
      } else {
        disabled.add(tool.name);
        records.push({
          n,
          tool: tool.name,
          idempotencyKey: key,
          attempts: outcome.attempts,
          outcome: 'failed_and_disabled',
          error: outcome.error.message,
        });
        messages.push(
          toolMessage(
            call,
            `Tool "${tool.name}" failed ${outcome.attempts} time${outcome.attempts === 1 ? '' : 's'} ` +
              `(last error: ${outcome.error.message}). ${disabledNotice(tool.name)}`,
            true,
          ),
        );
      }
    }
  }

  return {
    text: '',
    ...last,
    messages,
    usage,
    latencyMs,
    steps: maxSteps,
    toolCalls: records,
    disabledTools: [...disabled],
    stoppedBy: 'max_steps',
  };
}

async function runTool(
  tool: Tool,
  input: unknown,
  idempotencyKey: string,
  options: {
    retry: ToolRetryPolicy;
    random: () => number;
    sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
    breaker: CircuitBreaker | undefined;
    timeoutMs: number;
    signal?: AbortSignal;
  },
): Promise<{ ok: true; output: unknown; attempts: number } | { ok: false; error: ToolError; attempts: number }> {
  for (let attempt = 1; ; attempt++) {
    const timeout = AbortSignal.timeout(options.timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    try {
      const run = () => tool.call(input, { idempotencyKey, signal });
      const output = options.breaker
        ? await options.breaker.run(run, {
            isFailure: (error) => !(error instanceof ToolError && error.code === 'invalid_tool_input'),
          })
        : await run();
      return { ok: true, output, attempts: attempt };
    } catch (caught) {
      if (options.signal?.aborted) throw caught;
      const error =
        caught instanceof CircuitOpenError
          ? new ToolError({ tool: tool.name, code: 'tool_failed', message: caught.message, retryable: false })
          : timeout.aborted
            ? new ToolError({ tool: tool.name, code: 'tool_failed', message: `no result within ${options.timeoutMs} ms` })
            : toToolError(tool.name, caught);
      if (!error.retryable || attempt >= options.retry.maxAttempts) return { ok: false, error, attempts: attempt };
      await options.sleep(
        backoffDelay({ ...options.retry, honorRetryAfter: false }, attempt, undefined, options.random),
        options.signal,
      );
    }
  }
}

function toolMessage(call: { id: string; name: string }, content: string, isError: boolean): ChatMessage {
  return { role: 'tool', toolCallId: call.id, toolName: call.name, content, ...(isError ? { isError: true } : {}) };
}

function disabledNotice(name: string): string {
  return `Tool "${name}" is disabled for the rest of this run after repeated failures. Do not call it again; continue without it.`;
}

function stringify(output: unknown): string {
  if (typeof output === 'string') return output;
  return JSON.stringify(output) ?? 'null';
}

function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
