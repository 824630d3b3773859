import { contentText, type ChatRequest } from './ChatRequest.js';

/** Token counts of one response (OpenAI's `usage`, with `prompt_tokens_details.cached_tokens` lifted up). */
export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  cached_tokens: number;
}

/** A usage of zero tokens, the starting point for sums. */
export const zeroUsage: Readonly<Usage> = Object.freeze({
  prompt_tokens: 0,
  completion_tokens: 0,
  total_tokens: 0,
  cached_tokens: 0,
});

/** Counts tokens the way this server does: one token per four characters, rounded up. */
export function tokensForChars(chars: number): number {
  return Math.ceil(chars / 4);
}

/**
 * Counts a request's prompt tokens: the characters of every message's text, of every tool call
 * the assistant made earlier (name and arguments) and of the tool definitions' JSON, over four.
 */
export function countPromptTokens(request: ChatRequest): number {
  let chars = 0;
  for (const message of request.messages) {
    chars += contentText(message.content).length;
    if (message.role === 'assistant') {
      for (const call of message.tool_calls ?? []) {
        chars += call.function.name.length + call.function.arguments.length;
      }
    }
  }
  if (request.tools != null && request.tools.length > 0) chars += JSON.stringify(request.tools).length;
  return tokensForChars(chars);
}

/** Counts a reply's completion tokens: the characters of its content and tool call arguments, over four. */
export function countCompletionTokens(content: string | null, toolCallArguments: readonly string[]): number {
  let chars = content?.length ?? 0;
  for (const args of toolCallArguments) chars += args.length;
  return tokensForChars(chars);
}

/** Adds two usages field by field. */
export function addUsage(a: Readonly<Usage>, b: Readonly<Usage>): Usage {
  return {
    prompt_tokens: a.prompt_tokens + b.prompt_tokens,
    completion_tokens: a.completion_tokens + b.completion_tokens,
    total_tokens: a.total_tokens + b.total_tokens,
    cached_tokens: a.cached_tokens + b.cached_tokens,
  };
}
