import { promptHash, RetryableError, TerminalError, type Activity } from '@spine/runtime';
import { checkBudget, type Budget } from './Budget.js';
import { callModel, type ModelRequest } from './callModel.js';
import type { ChatMessage, ToolCall } from './ChatMessage.js';
import { decide } from './decide.js';
import { CircuitOpenError, ConfigError, MalformedOutputError, ModelCallError, unpricedMessage } from './errors.js';
import { estimateCallCost, estimateTokens } from './estimateTokens.js';
import type { Failure } from './Failure.js';
import { spentOf, type BreakerFacts, type CallFacts } from './ledger.js';
import type { LlmEnvironment, ModelChoice } from './LlmEnvironment.js';
import { costOf } from './loadPriceTable.js';
import type { ProviderConfig } from './resolveProvider.js';
import { shrinkContext } from './shrinkContext.js';
import { zeroUsage, type Usage } from './Usage.js';

/** What an agent's model call asks for: a model request (the model comes from the agent) and its budgets. */
export interface AgentModelRequest<T = unknown> extends Omit<ModelRequest<T>, 'model'> {
  /** Checked before the call against what the journal says was spent: the agent's share and the whole run's. */
  budget?: { agent?: Budget | undefined; run?: Budget | undefined };
}

/** Options of `modelActivity`. */
export interface ModelActivityOptions<T = unknown> {
  /** The agent's name: journaled with each call, and the key of its budget share. */
  agent: string;
  llm: LlmEnvironment | (() => LlmEnvironment);
  /** The model the agent asks for (`SPINE_MODEL_<AGENT>` and `SPINE_MODEL` override it). */
  model?: ModelChoice;
  /**
   * Builds the job's input from the invoking actor's context and event when the step asks for the
   * call (journaled with the job, so `spine show` and the studio can show what was asked).
   */
  mapInput?: (args: { context: any; event: { type: string }; input: unknown }) => unknown;
  /**
   * Builds the request from the job's input (and the invoking actor's context as last committed).
   * Must be pure: a retried or re-executed attempt rebuilds it from the same input.
   */
  request(source: { input: any; context: any }): AgentModelRequest<T>;
  /** Attempts in all, retries, re-asks, shrinks and re-executions after crashes included (default 40). */
  maxAttempts?: number;
}

/** The result of one agent model call: plain JSON, delivered as `xstate.done.actor.<id>` output. */
export interface ModelStep<T = unknown> {
  text: string;
  object?: T;
  toolCalls: ToolCall[];
  usage: Usage;
  costUsd: number;
  model: string;
  provider: string;
  finishReason: string;
  latencyMs: number;
  /** The conversation the call was finally made with, when it had to be shrunk to fit the context window. */
  shrunkMessages?: ChatMessage[];
}

/**
 * A runtime activity that makes ONE model call per attempt and maps each failure onto the host:
 * a rate limit or a transient failure becomes a durable `RetryableError` (the `retry-after` or a
 * jittered back-off, capped per kind; the provider's breaker counts transient failures), a bad
 * request a `TerminalError` at once, a context overflow a shrunk retry, an answer that misses its
 * zod schema a re-ask with the issues (capped, then a `TerminalError` naming the field), and a
 * call that would overrun its budget is never made (`TerminalError` of kind `budget_exceeded`).
 *
 * Every attempt is journaled with `ctx.record` (see `CallFacts`): agent, provider, model, usage,
 * cost, latency, decision and breaker state. Re-asks and shrinks are rebuilt from the journal, so
 * a crash between attempts loses nothing and an attempt's request is the same when re-executed.
 *
 * @example
 * ```ts
 * activities: {
 *   draft: modelActivity({
 *     agent: 'writer',
 *     llm,
 *     model: { 'openai-compatible': 'gpt-4o-mini', anthropic: 'claude-haiku-4-5' },
 *     request: ({ context }) => ({ system: WRITER, messages: context.messages, schema: draftSchema, budget: { agent: context.budget } }),
 *   }),
 * }
 * ```
 */
export function modelActivity<T = unknown>(options: ModelActivityOptions<T>): Activity<unknown, ModelStep<T>> {
  const env = typeof options.llm === 'function' ? options.llm : () => options.llm as LlmEnvironment;
  const { agent } = options;
  return {
    ...(options.mapInput ? { mapInput: options.mapInput } : {}),
    maxAttempts: options.maxAttempts ?? 40,
    async run(input, ctx) {
      const llm = env();
      let provider: ProviderConfig;
      try {
        provider = llm.provider(agent, options.model);
      } catch (error) {
        if (error instanceof ConfigError) throw new TerminalError(error.message, { kind: 'config', cause: error });
        throw error;
      }
      const { budget, ...base } = options.request({ input, context: ctx.context });
      const modelId = provider.model;
      const previous = ctx.previousAttempts.filter((entry) => entry['call'] === 'model');

      // Replay what earlier attempts decided: shrinks and re-asks change the request, in order.
      let messages = base.messages;
      let conversation = base.messages; // without re-ask turns: what the agent keeps
      let key = ctx.key;
      let shrinks = 0;
      let reasks = 0;
      for (const entry of previous) {
        const facts = entry as unknown as Partial<CallFacts>;
        if (facts.decision === 'shrink' && facts.shrink) {
          shrinks++;
          conversation = (await shrinkContext(conversation, { targetTokens: facts.shrink.targetTokens, model: modelId })).messages;
          messages = (await shrinkContext(messages, { targetTokens: facts.shrink.targetTokens, model: modelId })).messages;
          key += `:shrink:${shrinks}`;
        } else if (facts.decision === 'reask' && facts.reask) {
          reasks++;
          messages = [...messages, { role: 'assistant', content: facts.reask.answer }, { role: 'user', content: facts.reask.message }];
          key += `:reask:${reasks}`;
        }
      }
      const request: ModelRequest<T> = { ...base, messages, model: modelId };
      const breaker = llm.breaker(`provider:${provider.id}`);
      const facts: CallFacts = {
        call: 'model',
        agent,
        provider: provider.id,
        ...genAiFacts(provider),
        operation: 'chat',
        model: modelId,
        ...(base.maxOutputTokens === undefined ? {} : { maxTokens: base.maxOutputTokens }),
        ...(base.system === undefined ? {} : { promptVersion: promptHash(base.system) }),
        idempotencyKey: key,
        usage: { ...zeroUsage },
        costUsd: 0,
        latencyMs: 0,
        decision: 'ok',
      };
      const record = (more: Partial<CallFacts>) => {
        Object.assign(facts, more, { breaker: breakerFacts(breaker) });
        ctx.record(facts as unknown as Record<string, unknown>);
      };

      if (budget?.agent || budget?.run) {
        const estimate = estimateCallCost(request, llm.prices());
        const journal = await ctx.runJournal();
        const checks = [
          { scope: 'agent' as const, limit: budget.agent, spent: spentOf(journal, { agent }) },
          { scope: 'run' as const, limit: budget.run, spent: spentOf(journal) },
        ];
        for (const { scope, limit, spent } of checks) {
          if (!limit) continue;
          const check = checkBudget(limit, spent, { tokens: estimate.tokens, usd: estimate.usd, priced: estimate.priced, model: modelId });
          if (check.ok) continue;
          const { ok: _ok, unpriced, ...over } = check;
          if (unpriced) {
            // A dollar budget on a model with no price: refuse rather than spend unmetered.
            record({ decision: 'budget_exceeded', budget: { scope, ...over }, unpriced });
            throw new TerminalError(`${agent}'s next model call was refused: ${unpricedMessage(unpriced.model, over.limit)}`, {
              kind: 'budget_exceeded',
              details: { agent, scope, ...over, unpriced },
            });
          }
          record({ decision: 'budget_exceeded', budget: { scope, ...over } });
          const unit = over.exceeded === 'usd' ? 'USD' : 'tokens';
          throw new TerminalError(
            `Budget exceeded: ${agent}'s next model call was not made. The ${scope === 'agent' ? `agent's share` : 'run'} has spent ` +
              `${round(over.spent)} ${unit}; the call is estimated at ${round(over.estimate)} ${unit}; the limit is ${over.limit} ${unit}. ` +
              'Raise the budget or hand the run to a human.',
            { kind: 'budget_exceeded', details: { agent, scope, ...over } },
          );
        }
      }

      let result;
      try {
        result = await callModel(request, {
          provider,
          idempotencyKey: key,
          signal: ctx.signal,
          timeoutMs: llm.timeoutMs,
          breaker,
          policies: llm.policies,
          ...(llm.fetch ? { fetch: llm.fetch } : {}),
          // With a live observer (the studio), the answer streams into it as it is written.
          ...(ctx.watched ? { onPartial: (partial: { text: string }) => ctx.progress(partial) } : {}),
        });
      } catch (thrown) {
        if (ctx.signal.aborted) throw thrown; // the host is stopping or the state was left: nothing to decide
        if (thrown instanceof CircuitOpenError) {
          record({ decision: 'circuit_open', delayMs: thrown.retryAfterMs, failure: { kind: 'circuit_open', message: thrown.message } });
          throw new RetryableError(thrown.message, { retryAfterMs: thrown.retryAfterMs, kind: 'circuit_open', cause: thrown });
        }
        if (!(thrown instanceof ModelCallError)) {
          const message = thrown instanceof Error ? thrown.message : String(thrown);
          record({ decision: 'fail', failure: { kind: 'bad_request', message } });
          throw new TerminalError(`Model call of ${agent} failed: ${message}`, { kind: 'bad_request', cause: thrown });
        }
        const failure = thrown.failure;
        const usage = thrown.usage ?? { ...zeroUsage };
        const thrownCost = thrown.usage ? costOf(thrown.model, usage, llm.prices()) : undefined;
        const spent = { usage, costUsd: thrownCost?.usd ?? 0, ...(thrownCost && !thrownCost.priced ? { unpriced: { model: thrown.model } } : {}) };
        const failureFacts = { kind: failure.kind, message: failure.message, ...(failure.status === undefined ? {} : { status: failure.status }) };
        const sameKind = previous.filter((entry) => (entry['failure'] as { kind?: string } | undefined)?.kind === failure.kind).length;
        const count = failure.kind === 'context_overflow' ? shrinks + 1 : failure.kind === 'malformed_output' ? reasks + 1 : sameKind + 1;
        const decision = decide(failure, count, llm.policies, llm.random);
        switch (decision.action) {
          case 'retry':
            record({
              ...spent,
              decision: 'retry',
              failure: failureFacts,
              delayMs: decision.delayMs,
              ...(failure.retryAfterMs === undefined ? {} : { retryAfterMs: failure.retryAfterMs }),
            });
            throw new RetryableError(thrown.message, { retryAfterMs: decision.delayMs, kind: failure.kind, cause: thrown });
          case 'shrink': {
            const targetTokens = shrinkTarget(failure, estimateTokens(conversation, request.tools ?? [], { model: modelId }));
            const shrunk = await shrinkContext(conversation, { targetTokens, model: modelId });
            if (shrunk.dropped.length > 0) {
              record({ ...spent, decision: 'shrink', failure: failureFacts, delayMs: 0, shrink: { targetTokens, droppedMessages: shrunk.dropped.length } });
              throw new RetryableError(`${thrown.message} Shrinking the conversation to ~${targetTokens} tokens.`, { retryAfterMs: 0, kind: 'context_overflow', cause: thrown });
            }
            record({ ...spent, decision: 'fail', failure: failureFacts });
            throw new TerminalError(
              `${agent}: the prompt exceeds the model's context window and nothing more can be dropped (the system prompt and the latest turn alone are too long); use a model with a larger context window. ${failure.message}`,
              { kind: 'context_overflow', cause: thrown },
            );
          }
          case 'reask':
            record({
              ...spent,
              decision: 'reask',
              failure: failureFacts,
              delayMs: 0,
              reask: { answer: (thrown.text ?? '').slice(0, 8_000), message: decision.message, issues: failure.issues ?? [] },
            });
            throw new RetryableError(`${thrown.message} Re-asking with the validation error.`, { retryAfterMs: 0, kind: 'malformed_output', cause: thrown });
          case 'fail': {
            record({ ...spent, decision: 'fail', failure: failureFacts });
            if (failure.kind === 'malformed_output') {
              const malformed = new MalformedOutputError({ issues: failure.issues ?? [], attempts: reasks + 1, usage, model: thrown.model, cause: thrown });
              throw new TerminalError(`${agent}: ${malformed.message}`, { kind: 'malformed_output', cause: thrown, details: { field: malformed.field, issues: malformed.issues } });
            }
            throw new TerminalError(`${agent}: ${decision.reason}`, {
              kind: failure.kind,
              cause: thrown,
              details: { provider: provider.id, model: modelId, ...(failure.status === undefined ? {} : { status: failure.status }) },
            });
          }
        }
      }

      const cost = costOf(result.model, result.usage, llm.prices());
      const costUsd = cost.usd;
      record({
        responseModel: result.model,
        ...(result.responseId === undefined ? {} : { responseId: result.responseId }),
        finishReasons: [finishReasonName(result.finishReason)],
        usage: result.usage,
        costUsd,
        latencyMs: result.latencyMs,
        decision: 'ok',
        ...(cost.priced ? {} : { unpriced: { model: result.model } }),
      });
      const step: ModelStep<T> = {
        text: result.text,
        toolCalls: result.toolCalls,
        usage: result.usage,
        costUsd,
        model: result.model,
        provider: result.provider,
        finishReason: result.finishReason,
        latencyMs: result.latencyMs,
      };
      if (result.object !== undefined) step.object = result.object;
      if (shrinks > 0) step.shrunkMessages = conversation;
      return step;
    },
  };
}

/** The breaker's state as journaled. */
export function breakerFacts(breaker: { name: string; toJSON(): { state: BreakerFacts['state']; consecutiveFailures: number; openedAt: number | null; probeStartedAt: number | null } }): BreakerFacts {
  const json = breaker.toJSON();
  return { name: breaker.name, state: json.state, consecutiveFailures: json.consecutiveFailures, openedAt: json.openedAt, probeStartedAt: json.probeStartedAt };
}

/**
 * The size to shrink an overflowing conversation to: three quarters of the window the provider
 * named ("maximum context length is 8192 tokens"), else 60% of the current estimate.
 */
function shrinkTarget(failure: Failure, currentTokens: number): number {
  const count = (pattern: RegExp) => {
    const match = pattern.exec(failure.message);
    return match ? Number(match[1]!.replace(/,/g, '')) : undefined;
  };
  // The provider counts with its own tokenizer: scale ours by its limit / what it counted.
  // OpenAI: "maximum context length is L tokens. However, your messages resulted in U tokens";
  // Anthropic: "prompt is too long: U tokens > L maximum".
  const limit = count(/maximum context length is (\d[\d,]*) tokens/i) ?? count(/tokens\s*>\s*(\d[\d,]*)\s*maximum/i);
  const used = count(/resulted in (\d[\d,]*) tokens/i) ?? count(/(\d[\d,]*) tokens\s*>/i);
  if (limit !== undefined && used !== undefined && used > limit && limit > 0) return Math.max(16, Math.floor(currentTokens * (limit / used) * 0.75));
  const named = /(\d[\d,]*)\s*tokens/i.exec(failure.message);
  const stated = named ? Number(named[1]!.replace(/,/g, '')) : undefined;
  if (stated !== undefined && stated > 0 && stated < currentTokens * 4) return Math.max(16, Math.floor(stated * 0.75));
  return Math.max(16, Math.floor(currentTokens * 0.6));
}

function round(n: number): number {
  return Math.round(n * 1e6) / 1e6;
}

/**
 * How the GenAI semantic conventions name a provider (`gen_ai.provider.name`: `openai` for any
 * endpoint spoken to with the OpenAI protocol, `anthropic`) and where it is (`server.address`,
 * `server.port`), for the call's span.
 */
export function genAiFacts(provider: Pick<ProviderConfig, 'kind' | 'baseURL'>): { providerName: string; serverAddress?: string; serverPort?: number } {
  const providerName = provider.kind === 'anthropic' ? 'anthropic' : 'openai';
  try {
    const url = new URL(provider.baseURL);
    const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
    return { providerName, serverAddress: url.hostname.replace(/^\[|\]$/g, ''), serverPort: port };
  } catch {
    return { providerName };
  }
}

/** A finish reason as the semantic conventions spell them (`tool_calls`, `content_filter`). */
function finishReasonName(reason: string): string {
  return reason.replace(/-/g, '_');
}
