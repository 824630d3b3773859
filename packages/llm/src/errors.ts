import { ensureError as ensureRuntimeError, markError } from '@spine/runtime';
import type { Failure, FailureKind, OutputIssue } from './Failure.js';
import type { Usage } from './Usage.js';

/** Every code an `LlmError` can carry; the failure kinds of a model call come first. */
export type LlmErrorCode =
  | FailureKind
  | 'circuit_open'
  | 'budget_exceeded'
  | 'tool_not_allowed'
  | 'tool_failed'
  | 'invalid_tool_input'
  | 'invalid_tool_output'
  | 'config';

/** Fields every `LlmError` is built from. */
export interface LlmErrorOptions {
  code: LlmErrorCode;
  message: string;
  /** True when running the same thing again later may succeed. */
  retryable: boolean;
  retryAfterMs?: number;
  /** What the host records as the failure kind; defaults to `code`. */
  kind?: string;
  cause?: unknown;
}

/**
 * The base of every error `@spine/llm` throws: a `code`, whether it is worth retrying, and how long to wait.
 *
 * The runtime maps `retryable: true` onto its durable `RetryableError({ retryAfterMs, kind })` and
 * everything else onto `TerminalError`.
 */
export class LlmError extends Error {
  override readonly name: string = 'LlmError';
  readonly code: LlmErrorCode;
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
  readonly kind: string;

  constructor(options: LlmErrorOptions) {
    super(options.message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = options.code;
    this.retryable = options.retryable;
    this.retryAfterMs = options.retryAfterMs;
    this.kind = options.kind ?? options.code;
    // One error model: a retryable LlmError is the runtime's RetryableError (durable back-off,
    // `retryAfterMs`), any other is its TerminalError, for `is()` and `instanceof` alike.
    markError(this, options.retryable ? 'retryable' : 'terminal');
  }
}

const RETRYABLE_KINDS: ReadonlySet<FailureKind> = new Set(['rate_limit', 'transient', 'timeout']);

/**
 * Thrown by `callModel` when a model call fails; `failure` is its classification, ready for `decide`.
 *
 * `retryable` is true for rate limits, transient failures and timeouts (the same request may succeed);
 * context overflow and malformed answers need a changed request (`shrink`, `reask`), so they are not.
 */
export class ModelCallError extends LlmError {
  override readonly name = 'ModelCallError';
  readonly failure: Failure;
  readonly provider: string;
  readonly model: string;
  /** The answer text, when the call returned one that failed the schema. */
  readonly text: string | undefined;
  /** Tokens the failed call still spent (a malformed answer is paid for). */
  readonly usage: Usage | undefined;

  constructor(options: {
    failure: Failure;
    provider: string;
    model: string;
    text?: string;
    usage?: Usage;
    cause?: unknown;
  }) {
    const { failure } = options;
    super({
      code: failure.kind,
      message: `Model call to ${options.provider} (model ${options.model}) failed: ${failure.message}`,
      retryable: RETRYABLE_KINDS.has(failure.kind),
      retryAfterMs: failure.retryAfterMs,
      kind: failure.kind,
      cause: options.cause,
    });
    this.failure = failure;
    this.provider = options.provider;
    this.model = options.model;
    this.text = options.text;
    this.usage = options.usage;
  }
}

/** Thrown by `callStructured` when the model still answers outside the schema after every allowed re-ask (terminal). */
export class MalformedOutputError extends LlmError {
  override readonly name = 'MalformedOutputError';
  /** The path of the first failing field (`"items[0].price"`), or `"(root)"`. */
  readonly field: string;
  readonly issues: OutputIssue[];
  readonly attempts: number;
  readonly usage: Usage;

  constructor(options: { issues: OutputIssue[]; attempts: number; usage: Usage; model: string; cause?: unknown }) {
    const first = options.issues[0];
    const field = first?.path || '(root)';
    super({
      code: 'malformed_output',
      message:
        `Model ${options.model} gave no valid structured answer after ${options.attempts} attempts; ` +
        `field "${field}": ${first?.message ?? 'invalid'}. Simplify the schema or use a stronger model.`,
      retryable: false,
      cause: options.cause,
    });
    this.field = field;
    this.issues = options.issues;
    this.attempts = options.attempts;
    this.usage = options.usage;
  }
}

/** Thrown when a circuit breaker is open (or its single half-open probe is taken); retry after `retryAfterMs`. */
export class CircuitOpenError extends LlmError {
  override readonly name = 'CircuitOpenError';
  readonly breaker: string;

  constructor(options: { breaker: string; retryAfterMs: number }) {
    super({
      code: 'circuit_open',
      message:
        `Circuit "${options.breaker}" is open after repeated failures; ` +
        `the next probe is allowed in ${Math.ceil(options.retryAfterMs / 1000)}s.`,
      retryable: true,
      retryAfterMs: options.retryAfterMs,
    });
    this.breaker = options.breaker;
  }
}

/** Thrown when a call would exceed its token or dollar budget (terminal: stop or hand to a human, never keep spending). */
export class BudgetExceededError extends LlmError {
  override readonly name = 'BudgetExceededError';
  readonly exceeded: 'tokens' | 'usd';
  readonly spent: number;
  readonly estimate: number;
  readonly limit: number;

  constructor(options: { exceeded: 'tokens' | 'usd'; spent: number; estimate: number; limit: number }) {
    const unit = options.exceeded === 'usd' ? 'USD' : 'tokens';
    super({
      code: 'budget_exceeded',
      message:
        `Budget exceeded: ${options.spent} ${unit} spent + ${options.estimate} ${unit} estimated for the next call ` +
        `> limit ${options.limit} ${unit}. Raise the budget or hand the run to a human.`,
      retryable: false,
    });
    this.exceeded = options.exceeded;
    this.spent = options.spent;
    this.estimate = options.estimate;
    this.limit = options.limit;
  }
}

/** Thrown when an agent calls a tool it was not granted (terminal; least privilege). */
export class ToolNotAllowedError extends LlmError {
  override readonly name = 'ToolNotAllowedError';
  readonly tool: string;
  readonly agent: string;

  constructor(options: { tool: string; agent: string; allowed: readonly string[] }) {
    super({
      code: 'tool_not_allowed',
      message:
        `Agent "${options.agent}" may not call tool "${options.tool}"; it was granted ` +
        `${options.allowed.length === 0 ? 'no tools' : options.allowed.map((n) => `"${n}"`).join(', ')}. ` +
        `Add the tool to the agent's grant list if it should have it.`,
      retryable: false,
    });
    this.tool = options.tool;
    this.agent = options.agent;
  }
}

/**
 * Thrown by a tool: its input or output failed its schema, or its `run` threw.
 *
 * `code` says which: `invalid_tool_input` (the model sent bad arguments; not retryable as is),
 * `invalid_tool_output` (the tool broke its contract), or `tool_failed` (retryable).
 */
export class ToolError extends LlmError {
  override readonly name = 'ToolError';
  readonly tool: string;

  constructor(options: {
    tool: string;
    code: 'tool_failed' | 'invalid_tool_input' | 'invalid_tool_output';
    message: string;
    retryable?: boolean;
    cause?: unknown;
  }) {
    super({
      code: options.code,
      message: options.message,
      retryable: options.retryable ?? options.code === 'tool_failed',
      cause: options.cause,
    });
    this.tool = options.tool;
  }
}

/** Thrown when configuration is missing or unusable: no provider, a bad price file (terminal). */
export class ConfigError extends LlmError {
  override readonly name = 'ConfigError';

  constructor(message: string) {
    super({ code: 'config', message, retryable: false });
  }
}

/** Normalises anything thrown into an `Error`, once, at a boundary (the runtime's `ensureError`). */
export const ensureError: (value: unknown) => Error = ensureRuntimeError;
