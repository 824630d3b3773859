import type { ChatMessage } from './ChatMessage.js';
import type { Tool } from './defineTool.js';
import { costOf, type PriceTable } from './loadPriceTable.js';
import { tokenizerFor } from './tokenizerFor.js';

/** Tokens a message costs beyond its text (role, separators), as Chat Completions formats it. */
const PER_MESSAGE = 4;
/** Output tokens assumed for a call that sets no `maxOutputTokens`. */
const DEFAULT_OUTPUT_ESTIMATE = 1024;

/**
 * Counts the prompt tokens of some messages and tools with the model's tokenizer (see
 * `tokenizerFor`: OpenAI's own encodings for OpenAI models, o200k_base as the fallback for other
 * families), plus the few tokens each message costs in the Chat Completions format.
 *
 * @example
 * ```ts
 * estimateTokens([{ role: 'user', content: '你好' }], [], { model: 'gpt-4o' });
 * ```
 */
export function estimateTokens(
  messages: readonly ChatMessage[],
  tools: readonly Pick<Tool, 'name' | 'description' | 'inputSchema'>[] = [],
  options: { model?: string | undefined } = {},
): number {
  const { count } = tokenizerFor(options.model);
  let tokens = 0;
  for (const message of messages) {
    tokens += PER_MESSAGE + count(message.content);
    if (message.role === 'assistant' && message.toolCalls) {
      for (const call of message.toolCalls) tokens += count(call.name) + count(JSON.stringify(call.input ?? null));
    }
    if (message.role === 'tool') tokens += count(message.toolName);
  }
  for (const tool of tools) {
    tokens += PER_MESSAGE + count(tool.name) + count(tool.description) + count(JSON.stringify(tool.inputSchema));
  }
  return tokens;
}

/** What a call is estimated to cost before it is made. */
export interface CallEstimate {
  inputTokens: number;
  /** `maxOutputTokens`, or 1024 when the request sets none. */
  outputTokens: number;
  tokens: number;
  usd: number;
  /** False when the model has no price in the table (`usd` is then 0). */
  priced: boolean;
}

/**
 * Estimates a call's tokens and cost for a budget check: the estimated prompt (system, messages,
 * tools) plus `maxOutputTokens` as the worst case of the answer.
 */
export function estimateCallCost(
  request: {
    model?: string;
    system?: string;
    messages: readonly ChatMessage[];
    tools?: readonly Pick<Tool, 'name' | 'description' | 'inputSchema'>[];
    maxOutputTokens?: number;
  },
  table: PriceTable,
): CallEstimate {
  const system: ChatMessage[] = request.system ? [{ role: 'system', content: request.system }] : [];
  const inputTokens = estimateTokens([...system, ...request.messages], request.tools ?? [], { model: request.model });
  const outputTokens = request.maxOutputTokens ?? DEFAULT_OUTPUT_ESTIMATE;
  const cost = request.model
    ? costOf(request.model, { inputTokens, outputTokens, cacheReadTokens: 0, cacheWriteTokens: 0 }, table)
    : { usd: 0, priced: false };
  return { inputTokens, outputTokens, tokens: inputTokens + outputTokens, usd: cost.usd, priced: cost.priced };
}
