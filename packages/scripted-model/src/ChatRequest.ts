import { z } from 'zod';

// OpenAI accepts these names for functions and json_schema formats and refuses anything else.
const openAIName = z
  .string()
  .regex(/^[a-zA-Z0-9_-]{1,64}$/, 'must be 1-64 characters of a-z, A-Z, 0-9, _ or -');

const contentPart = z
  .looseObject({ type: z.string(), text: z.string().optional() })
  .refine((part) => part.type !== 'text' || typeof part.text === 'string', {
    message: "a part of type 'text' needs a string 'text'",
    path: ['text'],
  });

const textPart = z.looseObject({ type: z.literal('text'), text: z.string() });
const textContent = z.union([z.string(), z.array(textPart)]);

const toolCall = z.looseObject({
  id: z.string(),
  type: z.literal('function'),
  function: z.looseObject({ name: z.string(), arguments: z.string() }),
});

const message = z.discriminatedUnion('role', [
  z.looseObject({ role: z.literal('system'), content: textContent, name: z.string().optional() }),
  z.looseObject({ role: z.literal('developer'), content: textContent, name: z.string().optional() }),
  z.looseObject({
    role: z.literal('user'),
    content: z.union([z.string(), z.array(contentPart)]),
    name: z.string().optional(),
  }),
  z.looseObject({
    role: z.literal('assistant'),
    content: z.union([z.string(), z.array(contentPart)]).nullish(),
    tool_calls: z.array(toolCall).nullish(),
    name: z.string().optional(),
  }),
  z.looseObject({ role: z.literal('tool'), tool_call_id: z.string(), content: textContent }),
]);

const tool = z.looseObject({
  type: z.literal('function'),
  function: z.looseObject({
    name: openAIName,
    description: z.string().optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
    strict: z.boolean().nullish(),
  }),
});

const responseFormat = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('text') }),
  z.looseObject({ type: z.literal('json_object') }),
  z.looseObject({
    type: z.literal('json_schema'),
    json_schema: z.looseObject({
      name: openAIName,
      description: z.string().optional(),
      schema: z.record(z.string(), z.unknown()).optional(),
      strict: z.boolean().nullish(),
    }),
  }),
]);

/** The zod schema a `POST /v1/chat/completions` body must satisfy; unknown top-level fields pass through. */
export const chatRequestSchema = z.looseObject({
  model: z.string().min(1),
  messages: z.array(message).min(1),
  tools: z.array(tool).nullish(),
  tool_choice: z
    .union([
      z.enum(['none', 'auto', 'required']),
      z.looseObject({ type: z.literal('function'), function: z.looseObject({ name: z.string() }) }),
    ])
    .nullish(),
  response_format: responseFormat.nullish(),
  max_tokens: z.number().int().positive().nullish(),
  max_completion_tokens: z.number().int().positive().nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().nullish() }).nullish(),
});

/** A validated Chat Completions request, as the server hands it to script rules. */
export type ChatRequest = z.infer<typeof chatRequestSchema>;

/** One message of a {@link ChatRequest}. */
export type ChatMessage = ChatRequest['messages'][number];

/** The plain text of a message's content: the string itself, or its text parts joined. */
export function contentText(content: ChatMessage['content']): string {
  if (content == null) return '';
  if (typeof content === 'string') return content;
  return content.map((part) => (typeof part.text === 'string' ? part.text : '')).join('');
}

/** The text of the last user message, or undefined when the request has none. */
export function lastUserText(request: ChatRequest): string | undefined {
  const last = request.messages.findLast((m) => m.role === 'user');
  return last === undefined ? undefined : contentText(last.content);
}

/** The system and developer messages' text, joined by newlines. */
export function systemText(request: ChatRequest): string {
  return request.messages
    .filter((m) => m.role === 'system' || m.role === 'developer')
    .map((m) => contentText(m.content))
    .join('\n');
}

/** The name of the tool whose result is the request's last message, when it is one. */
export function lastToolResultName(request: ChatRequest): string | undefined {
  const last = request.messages.at(-1);
  if (last?.role !== 'tool') return undefined;
  for (const m of request.messages.toReversed()) {
    if (m.role !== 'assistant') continue;
    const call = m.tool_calls?.find((c) => c.id === last.tool_call_id);
    if (call) return call.function.name;
  }
  return undefined;
}
