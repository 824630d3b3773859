import type { z } from 'zod';
import { callModel, type CallModelOptions, type ModelRequest, type ModelResult } from './callModel.js';
import type { ChatMessage } from './ChatMessage.js';
import { decide, defaultRetryPolicies, type RetryPolicies } from './decide.js';
import { MalformedOutputError, ModelCallError } from './errors.js';
import type { OutputIssue } from './Failure.js';
import { addUsage, zeroUsage, type Usage } from './Usage.js';

/** One attempt of `callStructured`: whether it passed the schema, and what it spent. */
export interface StructuredAttempt {
  attempt: number;
  ok: boolean;
  usage: Usage;
  issues?: OutputIssue[];
  /** The rejected answer. */
  text?: string;
}

/** What `callStructured` returns: the validated object and the cost of getting it. */
export interface StructuredResult<T> extends Omit<ModelResult<T>, 'object' | 'usage'> {
  object: T;
  /** Usage summed over every attempt, the rejected ones included. */
  usage: Usage;
  attempts: StructuredAttempt[];
}

/** Options of `callStructured`: those of `callModel` plus the retry table (its `malformed_output` row caps re-asks). */
export interface CallStructuredOptions extends CallModelOptions {
  policies?: RetryPolicies;
  /** Overrides `policies.malformed_output.maxReasks`. Default 2. */
  maxReasks?: number;
}

/**
 * Asks for a structured answer and validates it with zod; an answer that misses the schema is
 * re-asked with the zod issues (path and message) and the JSON Schema, up to `maxReasks` times.
 *
 * @throws MalformedOutputError (terminal) naming the failing field when the cap is reached.
 * @throws ModelCallError for every other failure, to be decided by the caller.
 * @example
 * ```ts
 * const { object } = await callStructured(
 *   { messages, schema: z.object({ title: z.string(), tags: z.array(z.string()) }) },
 *   { provider, idempotencyKey: ctx.key },
 * );
 * ```
 */
export async function callStructured<T>(
  request: ModelRequest<T> & { schema: z.ZodType<T> },
  options: CallStructuredOptions,
): Promise<StructuredResult<T>> {
  const policies: RetryPolicies =
    options.maxReasks === undefined
      ? (options.policies ?? defaultRetryPolicies)
      : { ...(options.policies ?? defaultRetryPolicies), malformed_output: { action: 'reask', maxReasks: options.maxReasks } };
  const attempts: StructuredAttempt[] = [];
  let usage: Usage = { ...zeroUsage };
  let messages: ChatMessage[] = [...request.messages];
  let latencyMs = 0;

  for (let attempt = 1; ; attempt++) {
    const started = performance.now();
    try {
      // Each attempt is its own request, so it gets its own idempotency key.
      const key = attempt === 1 ? options.idempotencyKey : `${options.idempotencyKey}:reask:${attempt - 1}`;
      const result = await callModel({ ...request, messages }, { ...options, idempotencyKey: key });
      usage = addUsage(usage, result.usage);
      attempts.push({ attempt, ok: true, usage: result.usage });
      const { object, ...rest } = result;
      return { ...rest, object: object as T, usage, latencyMs: latencyMs + result.latencyMs, attempts };
    } catch (error) {
      if (!(error instanceof ModelCallError) || error.failure.kind !== 'malformed_output') throw error;
      latencyMs += Math.round(performance.now() - started);
      const spent = error.usage ?? zeroUsage;
      const issues = error.failure.issues ?? [];
      usage = addUsage(usage, spent);
      attempts.push({ attempt, ok: false, usage: spent, issues, ...(error.text === undefined ? {} : { text: error.text }) });
      const decision = decide(error.failure, attempt, policies);
      if (decision.action !== 'reask') {
        throw new MalformedOutputError({ issues, attempts: attempt, usage, model: error.model, cause: error });
      }
      messages = [
        ...messages,
        { role: 'assistant', content: error.text ?? '' },
        { role: 'user', content: decision.message },
      ];
    }
  }
}
