import type { ChatMessage } from './ChatMessage.js';
import type { Tool } from './defineTool.js';
import { costOf, type PriceTable } from './loadPriceTable.js';

/** Tokens a message costs beyond its text (role, separators), as Chat Completions formats it. */
const PER_MESSAGE = 4;
/** Output tokens assumed for a call that sets no `maxOutputTokens`. */
const DEFAULT_OUTPUT_ESTIMATE = 1024;

/**
 * Estimates the prompt tokens of some messages and tools: characters / 4 plus a few tokens per
 * message. An estimate for budget checks and context trimming, not a tokenizer: real counts vary
 * by model and language (code and non-Latin text run higher).
 */
export function estimateTokens(
  messages: readonly ChatMessage[],
  tools: readonly Pick<Tool, 'name' | 'description' | 'inputSchema'>[] = [],
): number {
  let chars = 0;
  let overhead = 0;
  for (const message of messages) {
    overhead += PER_MESSAGE;
    chars += message.content.length;
    if (message.role === 'assistant' && message.toolCalls) {
      for (const call of message.toolCalls) chars += call.name.length + JSON.stringify(call.input ?? null).length;
    }
    if (message.role === 'tool') chars += message.toolName.length;
  }
  for (const tool of tools) {
    overhead += PER_MESSAGE;
    chars += tool.name.length + tool.description.length + JSON.stringify(tool.inputSchema).length;
  }
  return Math.ceil(chars / 4) + overhead;
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
  const inputTokens = estimateTokens([...system, ...request.messages], request.tools ?? []);
  const outputTokens = request.maxOutputTokens ?? DEFAULT_OUTPUT_ESTIMATE;
  const cost = request.model
    ? costOf(request.model, { inputTokens, outputTokens, cacheReadTokens: 0, cacheWriteTokens: 0 }, table)
    : { usd: 0, priced: false };
  return { inputTokens, outputTokens, tokens: inputTokens + outputTokens, usd: cost.usd, priced: cost.priced };
}
