import { ScriptedModelError } from './ScriptedModelError.js';
import type { Usage } from './tokens.js';

/** A tool call the scripted reply makes. */
export interface ScriptedToolCall {
  name: string;
  /** Serialized with `JSON.stringify`; a string is sent verbatim, so a test can send malformed arguments. */
  arguments: unknown;
  /** The tool call id (default `call_<n>`, numbered by the server). */
  id?: string;
}

/** What the server answers a request with, as written in a script rule. */
export interface ScriptedReply {
  /** The assistant message's text. */
  content?: string;
  /** A value serialized into the content as JSON, for `response_format` requests; excludes `content`. */
  json?: unknown;
  toolCalls?: readonly ScriptedToolCall[];
  /** Default `tool_calls` when there are tool calls, else `stop`; say `length` to imitate a cut-off answer. */
  finishReason?: string;
  /** Overrides the counted usage field by field; `total_tokens` defaults to prompt + completion. */
  usage?: Partial<Usage>;
}

/** A tool call as Chat Completions sends it. */
export interface ChatCompletionToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

/** A scripted reply turned into the pieces of an assistant message. */
export interface RenderedReply {
  content: string | null;
  toolCalls: ChatCompletionToolCall[];
  finishReason: string;
}

const usageFields = ['prompt_tokens', 'completion_tokens', 'total_tokens', 'cached_tokens'] as const;

/** Throws a {@link ScriptedModelError} unless `reply` is a well-formed scripted reply; `where` names it in the message. */
export function assertReply(reply: unknown, where: string): asserts reply is ScriptedReply {
  const fail = (problem: string): never => {
    throw new ScriptedModelError('invalid_script', `${where} ${problem}`);
  };
  if (typeof reply !== 'object' || reply === null || Array.isArray(reply)) fail('is not a reply object.');
  const r = reply as Record<string, unknown>;
  if (r.content !== undefined && typeof r.content !== 'string') fail('has a content that is not a string.');
  if (r.content !== undefined && r.json !== undefined) fail('gives both content and json; give one.');
  if (r.finishReason !== undefined && typeof r.finishReason !== 'string') fail('has a finishReason that is not a string.');
  if (r.toolCalls !== undefined) {
    if (!Array.isArray(r.toolCalls)) fail('has toolCalls that is not an array.');
    (r.toolCalls as unknown[]).forEach((call, i) => {
      const c = call as Record<string, unknown> | null;
      if (typeof c?.name !== 'string' || c.name === '') fail(`has toolCalls[${i}] without a name.`);
      if (c?.id !== undefined && typeof c.id !== 'string') fail(`has toolCalls[${i}].id that is not a string.`);
    });
  }
  if (r.usage !== undefined) {
    if (typeof r.usage !== 'object' || r.usage === null) fail('has a usage that is not an object.');
    const usage = r.usage as Record<string, unknown>;
    for (const field of usageFields) {
      const n = usage[field];
      if (n !== undefined && !(Number.isInteger(n) && (n as number) >= 0)) fail(`has usage.${field} that is not an integer >= 0.`);
    }
  }
}

/**
 * Turns a scripted reply into message content, tool calls and a finish reason; `nextToolCallId`
 * numbers unnamed calls. Throws a {@link ScriptedModelError} when a value cannot be serialized to JSON.
 */
export function renderReply(reply: ScriptedReply, nextToolCallId: () => string): RenderedReply {
  const toolCalls = (reply.toolCalls ?? []).map(
    (call): ChatCompletionToolCall => ({
      id: call.id ?? nextToolCallId(),
      type: 'function',
      function: {
        name: call.name,
        arguments: typeof call.arguments === 'string' ? call.arguments : toJson(call.arguments ?? {}, `tool call ${call.name}'s arguments`),
      },
    }),
  );
  const content =
    reply.json !== undefined ? toJson(reply.json, 'json') : (reply.content ?? (toolCalls.length > 0 ? null : ''));
  return { content, toolCalls, finishReason: reply.finishReason ?? (toolCalls.length > 0 ? 'tool_calls' : 'stop') };
}

function toJson(value: unknown, what: string): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (error) {
    throw new ScriptedModelError('invalid_script', `The reply's ${what} cannot be serialized to JSON: ${(error as Error).message}`, { cause: error });
  }
  if (json === undefined) throw new ScriptedModelError('invalid_script', `The reply's ${what} cannot be serialized to JSON.`);
  return json;
}
