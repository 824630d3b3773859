import {
  generateText,
  jsonSchema,
  streamText,
  tool as sdkTool,
  type FinishReason,
  type JSONSchema7,
  type LanguageModelUsage,
  type OutputInterface,
  type ToolSet,
} from 'ai';
import type { z } from 'zod';
import { checkBudget, type Budget, type Spent } from './Budget.js';
import type { ChatMessage, ToolCall } from './ChatMessage.js';
import { toModelMessages } from './ChatMessage.js';
import type { CircuitBreaker } from './CircuitBreaker.js';
import { classifyFailure } from './classifyFailure.js';
import { countsTowardBreaker, defaultRetryPolicies, type RetryPolicies } from './decide.js';
import type { Tool } from './defineTool.js';
import { BudgetExceededError, ModelCallError } from './errors.js';
import { estimateCallCost } from './estimateTokens.js';
import type { Failure } from './Failure.js';
import type { PriceTable } from './loadPriceTable.js';
import type { FetchFunction, ProviderConfig } from './resolveProvider.js';
import { isStrictJsonSchema, toJsonSchema, type JsonSchema } from './toJsonSchema.js';
import type { Usage } from './Usage.js';
import { issuesOf } from './zodIssues.js';

/** One model call: what to send. Plain data apart from `tools` and `schema`. */
export interface ModelRequest<T = unknown> {
  /** The model id; defaults to the provider's model. */
  model?: string;
  system?: string;
  messages: ChatMessage[];
  tools?: readonly Tool[];
  /** A zod schema for a structured answer, sent as JSON Schema (`response_format: json_schema`). */
  schema?: z.ZodType<T>;
  /** The name of the structured answer, for providers that use one. Default `answer`. */
  schemaName?: string;
  maxOutputTokens?: number;
  temperature?: number;
}

/** How to make one model call. */
export interface CallModelOptions {
  provider: ProviderConfig;
  /** Sent as the `Idempotency-Key` header; the host's stable key for this activity execution. */
  idempotencyKey: string;
  signal?: AbortSignal;
  /** Default 60 000. */
  timeoutMs?: number;
  fetch?: FetchFunction;
  /** Refuses the call (`BudgetExceededError`) when its estimate would overrun the budget. */
  budget?: { limit: Budget; spent: Spent; prices: PriceTable };
  /** Guards the call; failures that count (per `policies`) are recorded on it. */
  breaker?: CircuitBreaker;
  policies?: RetryPolicies;
  /** Emits OpenTelemetry spans through the AI SDK (`@opentelemetry/api`). Default false. */
  telemetry?: boolean;
  /**
   * Streams the answer (the AI SDK's `streamText`) and calls this with the text so far as it
   * grows (throttled to one call per `partialIntervalMs`, and once more with the whole text).
   * Display only: the result is the same complete answer as without it.
   */
  onPartial?: (partial: { text: string }) => void;
  /** Least time between two `onPartial` calls (default 50 ms). */
  partialIntervalMs?: number;
}

/** What a model call returned. Plain JSON: journal it as the activity result. */
export interface ModelResult<T = unknown> {
  text: string;
  /** The structured answer, validated by the request's schema. */
  object?: T;
  toolCalls: ToolCall[];
  usage: Usage;
  finishReason: FinishReason;
  model: string;
  /** The provider's `id` (e.g. `openai-compatible@api.openai.com`). */
  provider: string;
  latencyMs: number;
  responseId?: string;
}

const DEFAULT_TIMEOUT_MS = 60_000;

/**
 * Makes one model call through the AI SDK, with the SDK's retries off: Spine decides retries.
 *
 * @throws ModelCallError with a classified `failure` (`decide` says what to do); a structured answer
 *   that fails its schema throws one of kind `malformed_output` carrying the text and usage.
 * @throws BudgetExceededError, CircuitOpenError before calling, when asked to guard.
 * @example
 * ```ts
 * const result = await callModel(
 *   { messages: [{ role: 'user', content: 'Hello' }] },
 *   { provider: resolveProvider(), idempotencyKey: ctx.key, signal: ctx.signal },
 * );
 * ```
 */
export async function callModel<T = unknown>(
  request: ModelRequest<T>,
  options: CallModelOptions,
): Promise<ModelResult<T>> {
  const { provider } = options;
  const modelId = request.model ?? provider.model;

  if (options.budget) {
    const estimate = estimateCallCost({ ...request, model: modelId }, options.budget.prices);
    const check = checkBudget(options.budget.limit, options.budget.spent, { tokens: estimate.tokens, usd: estimate.usd, priced: estimate.priced, model: modelId });
    if (!check.ok) throw new BudgetExceededError(check);
  }

  const attempt = () => doCall(request, options, modelId);
  if (!options.breaker) return attempt();
  const policies = options.policies ?? defaultRetryPolicies;
  return options.breaker.run(attempt, {
    isFailure: (error) => countsTowardBreaker(classifyFailure(error), policies),
  });
}

async function doCall<T>(request: ModelRequest<T>, options: CallModelOptions, modelId: string): Promise<ModelResult<T>> {
  const { provider } = options;
  const timeoutSignal = AbortSignal.timeout(options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const signal = options.signal ? AbortSignal.any([options.signal, timeoutSignal]) : timeoutSignal;
  const answerSchema = request.schema ? toJsonSchema(request.schema) : undefined;
  const started = performance.now();

  const fail = (failure: Failure, extra: { cause?: unknown; text?: string; usage?: Usage } = {}) =>
    new ModelCallError({
      failure: { ...failure, message: provider.redact(failure.message) },
      provider: provider.id,
      model: modelId,
      ...extra,
    });

  let result: CallOutcome;
  try {
    const call = {
      model: provider.languageModel(modelId, options.fetch ? { fetch: options.fetch } : {}),
      ...(request.system === undefined ? {} : { system: request.system }),
      messages: toModelMessages(request.messages),
      allowSystemInMessages: true,
      ...(request.tools?.length ? { tools: toToolSet(request.tools) } : {}),
      ...(answerSchema ? { output: jsonOutput(answerSchema, request.schemaName ?? 'answer') } : {}),
      ...(answerSchema
        ? { providerOptions: { openaiCompatible: { strictJsonSchema: isStrictJsonSchema(answerSchema) } } }
        : {}),
      ...(request.maxOutputTokens === undefined ? {} : { maxOutputTokens: request.maxOutputTokens }),
      ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
      maxRetries: 0,
      abortSignal: signal,
      headers: { 'Idempotency-Key': options.idempotencyKey },
      experimental_telemetry: {
        isEnabled: options.telemetry ?? false,
        functionId: 'spine.callModel',
        metadata: { idempotencyKey: options.idempotencyKey },
      },
    } satisfies Parameters<typeof generateText>[0];
    result = options.onPartial ? await streamCall(call, options.onPartial, options.partialIntervalMs ?? 50) : await generateText(call);
  } catch (error) {
    if (options.signal?.aborted) {
      throw fail({ kind: 'aborted', message: 'The model call was cancelled by its caller.' }, { cause: error });
    }
    if (timeoutSignal.aborted) {
      throw fail(
        { kind: 'timeout', message: `No answer within ${options.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms.` },
        { cause: error },
      );
    }
    throw fail(classifyFailure(error), { cause: error });
  }

  const latencyMs = Math.round(performance.now() - started);
  const usage = toUsage(result.usage);
  const toolCalls: ToolCall[] = result.toolCalls.map((call) => ({
    id: call.toolCallId,
    name: call.toolName,
    input: call.input,
  }));
  const base: ModelResult<T> = {
    text: result.text,
    toolCalls,
    usage,
    finishReason: result.finishReason,
    model: result.response.modelId || modelId,
    provider: provider.id,
    latencyMs,
    ...(result.response.id ? { responseId: result.response.id } : {}),
  };

  if (!request.schema || toolCalls.length > 0) return base;

  const parsed = parseJsonAnswer(result.text);
  if (!parsed.ok) {
    throw fail(
      {
        kind: 'malformed_output',
        message: `The answer is not valid JSON: ${parsed.error}`,
        issues: [{ path: '', message: `Not valid JSON: ${parsed.error}` }],
        expected: answerSchema,
      },
      { text: result.text, usage },
    );
  }
  const validated = request.schema.safeParse(parsed.value);
  if (!validated.success) {
    const issues = issuesOf(validated.error);
    const first = issues[0];
    throw fail(
      {
        kind: 'malformed_output',
        message: `The answer does not match the schema at "${first?.path || '(root)'}": ${first?.message ?? 'invalid'}`,
        issues,
        expected: answerSchema,
      },
      { text: result.text, usage },
    );
  }
  return { ...base, object: validated.data };
}

/** What `doCall` reads of a finished call, streamed or not. */
interface CallOutcome {
  text: string;
  toolCalls: { toolCallId: string; toolName: string; input: unknown }[];
  usage: LanguageModelUsage;
  finishReason: FinishReason;
  response: { id?: string | undefined; modelId: string };
}

/**
 * Streams a call with `streamText`, reporting the text so far (throttled), and returns what
 * `generateText` would. A stream that fails (before or during the answer) throws its error, so it
 * is classified like any failed call; nothing partial is ever returned.
 */
async function streamCall(call: Parameters<typeof generateText>[0], onPartial: (partial: { text: string }) => void, intervalMs: number): Promise<CallOutcome> {
  const stream = streamText({ ...(call as Parameters<typeof streamText>[0]), onError: () => {} });
  let text = '';
  let reported = '';
  let lastAt = 0;
  const report = (force: boolean) => {
    const now = Date.now();
    if (text === reported || (!force && now - lastAt < intervalMs)) return;
    reported = text;
    lastAt = now;
    onPartial({ text });
  };
  let finish: { finishReason: FinishReason; usage: LanguageModelUsage } | undefined;
  for await (const part of stream.fullStream) {
    if (part.type === 'text-delta') {
      text += part.text;
      report(false);
    } else if (part.type === 'error') {
      throw part.error;
    } else if (part.type === 'abort') {
      throw call.abortSignal?.reason ?? new Error('The model call was aborted.');
    } else if (part.type === 'finish') {
      finish = { finishReason: part.finishReason, usage: part.totalUsage };
    }
  }
  if (!finish) throw new Error('The model stream ended without finishing.');
  report(true);
  const [toolCalls, response] = await Promise.all([stream.toolCalls, stream.response]);
  return { text, toolCalls, usage: finish.usage, finishReason: finish.finishReason, response };
}

/** Spine tools as AI SDK tools without `execute`: the SDK returns the calls, Spine runs them. */
function toToolSet(tools: readonly Tool[]): ToolSet {
  const set: ToolSet = {};
  for (const tool of tools) {
    set[tool.name] = sdkTool({
      description: tool.description,
      inputSchema: jsonSchema(tool.inputSchema as JSONSchema7),
    });
  }
  return set;
}

/**
 * An AI SDK output spec that asks for JSON by schema but leaves the text unparsed, so Spine
 * validates it with zod and can re-ask with the exact issues.
 */
function jsonOutput(schema: JsonSchema, name: string): OutputInterface<string, string, never> {
  return {
    name: 'object',
    responseFormat: Promise.resolve({ type: 'json', schema: schema as JSONSchema7, name }),
    parseCompleteOutput: async ({ text }) => text,
    parsePartialOutput: async ({ text }) => ({ partial: text }),
    createElementStreamTransform: () => undefined,
  };
}

/** Parses a JSON answer, tolerating a Markdown code fence around it (common with local models). */
export function parseJsonAnswer(text: string): { ok: true; value: unknown } | { ok: false; error: string } {
  const trimmed = text.trim();
  const fenced = /^```(?:json)?\s*\n?([\s\S]*?)\n?```$/i.exec(trimmed);
  const body = fenced ? fenced[1]! : trimmed;
  try {
    return { ok: true, value: JSON.parse(body) };
  } catch (error) {
    return { ok: false, error: body === '' ? 'the answer is empty' : (error as Error).message };
  }
}

function toUsage(usage: LanguageModelUsage): Usage {
  return {
    inputTokens: usage.inputTokens ?? 0,
    outputTokens: usage.outputTokens ?? 0,
    cacheReadTokens: usage.inputTokenDetails?.cacheReadTokens ?? 0,
    cacheWriteTokens: usage.inputTokenDetails?.cacheWriteTokens ?? 0,
  };
}
