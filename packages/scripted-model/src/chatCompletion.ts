import type { ChatCompletionToolCall, RenderedReply } from './ScriptedReply.js';
import type { Usage } from './tokens.js';

/** The `usage` object as OpenAI sends it. */
export interface ChatCompletionUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number };
  completion_tokens_details: { reasoning_tokens: number };
}

/** A `chat.completion` response body. */
export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: [
    {
      index: 0;
      message: { role: 'assistant'; content: string | null; refusal: null; tool_calls?: ChatCompletionToolCall[] };
      finish_reason: string;
      logprobs: null;
    },
  ];
  usage: ChatCompletionUsage;
}

/** One `chat.completion.chunk` of a streamed response. */
export interface ChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: {
    index: 0;
    delta: {
      role?: 'assistant';
      content?: string | null;
      tool_calls?: { index: number; id?: string; type?: 'function'; function: { name?: string; arguments: string } }[];
    };
    finish_reason: string | null;
    logprobs: null;
  }[];
  usage?: ChatCompletionUsage | null;
}

/** Identifies one response: its id, creation time in seconds and the model name it echoes. */
export interface CompletionMeta {
  id: string;
  created: number;
  model: string;
}

/** Converts the server's flat usage into OpenAI's nested `usage` object. */
export function toChatCompletionUsage(usage: Usage): ChatCompletionUsage {
  return {
    prompt_tokens: usage.prompt_tokens,
    completion_tokens: usage.completion_tokens,
    total_tokens: usage.total_tokens,
    prompt_tokens_details: { cached_tokens: usage.cached_tokens },
    completion_tokens_details: { reasoning_tokens: 0 },
  };
}

/** Builds the non-streamed response body for a rendered reply. */
export function chatCompletion(reply: RenderedReply, meta: CompletionMeta, usage: Usage): ChatCompletion {
  return {
    id: meta.id,
    object: 'chat.completion',
    created: meta.created,
    model: meta.model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: reply.content,
          refusal: null,
          ...(reply.toolCalls.length > 0 ? { tool_calls: reply.toolCalls } : {}),
        },
        finish_reason: reply.finishReason,
        logprobs: null,
      },
    ],
    usage: toChatCompletionUsage(usage),
  };
}

/**
 * Builds the chunks of a streamed response, as OpenAI sends them: the role first, the content a
 * word at a time, each tool call as its name then its arguments, then the finish reason, and, when
 * `includeUsage` (from `stream_options.include_usage`), a last chunk with no choices and the usage.
 */
export function chatCompletionChunks(
  reply: RenderedReply,
  meta: CompletionMeta,
  usage: Usage,
  includeUsage: boolean,
): ChatCompletionChunk[] {
  const chunk = (delta: ChatCompletionChunk['choices'][number]['delta'], finishReason: string | null = null): ChatCompletionChunk => ({
    id: meta.id,
    object: 'chat.completion.chunk',
    created: meta.created,
    model: meta.model,
    choices: [{ index: 0, delta, finish_reason: finishReason, logprobs: null }],
    ...(includeUsage ? { usage: null } : {}),
  });

  const chunks = [chunk({ role: 'assistant', content: '' })];
  for (const piece of reply.content?.match(/\s*\S+\s*|\s+/g) ?? []) chunks.push(chunk({ content: piece }));
  reply.toolCalls.forEach((call, index) => {
    chunks.push(chunk({ tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.function.name, arguments: '' } }] }));
    chunks.push(chunk({ tool_calls: [{ index, function: { arguments: call.function.arguments } }] }));
  });
  chunks.push(chunk({}, reply.finishReason));
  if (includeUsage) {
    chunks.push({
      id: meta.id,
      object: 'chat.completion.chunk',
      created: meta.created,
      model: meta.model,
      choices: [],
      usage: toChatCompletionUsage(usage),
    });
  }
  return chunks;
}
