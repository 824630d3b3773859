import type { ChatMessage } from './ChatMessage.js';
import { estimateTokens } from './estimateTokens.js';

/** Options of `shrinkContext`. */
export interface ShrinkOptions {
  /** The estimated prompt size (see `estimateTokens`) to get under. */
  targetTokens: number;
  /**
   * Summarises the dropped turns; the summary replaces them as a system note. Without it the
   * dropped turns are replaced by a one-line note saying how many were omitted.
   */
  summarize?: (dropped: ChatMessage[]) => Promise<string> | string;
  /** The model the conversation is for: its tokenizer counts (see `tokenizerFor`). Default: the o200k_base fallback. */
  model?: string;
  /** Tokens kept free for the summary; a longer summary is cut to fit. Default: a tenth of the target. */
  summaryTokens?: number;
}

/** What `shrinkContext` did. */
export interface ShrinkResult {
  messages: ChatMessage[];
  /** The turns taken out, oldest first. */
  dropped: ChatMessage[];
  summary?: string;
  tokensBefore: number;
  tokensAfter: number;
  /** False when even the system messages and the latest user turn exceed the target. */
  fits: boolean;
}

/**
 * Shrinks a conversation to fit a context window: keeps every system message and the latest user
 * turn (that user message and all after it), and drops the oldest turns until the estimate is under
 * `targetTokens`, replacing them with a summary when `summarize` is given. An assistant message with
 * tool calls and the results of those calls are dropped together, never split.
 *
 * @example
 * ```ts
 * const { messages } = await shrinkContext(request.messages, { targetTokens: 6_000 });
 * ```
 */
export async function shrinkContext(messages: readonly ChatMessage[], options: ShrinkOptions): Promise<ShrinkResult> {
  const count = (list: readonly ChatMessage[]) => estimateTokens(list, [], { model: options.model });
  const tokensBefore = count(messages);
  if (tokensBefore <= options.targetTokens) {
    return { messages: [...messages], dropped: [], tokensBefore, tokensAfter: tokensBefore, fits: true };
  }

  const lastUser = findLastIndex(messages, (m) => m.role === 'user');
  const tailStart = lastUser === -1 ? messages.length : lastUser;
  const leadingSystem: ChatMessage[] = [];
  let i = 0;
  while (i < tailStart && messages[i]!.role === 'system') leadingSystem.push(messages[i++]!);
  const middle = messages.slice(i, tailStart);
  const tail = messages.slice(tailStart);
  const units = groupTurns(middle);

  const reserve = options.summarize ? (options.summaryTokens ?? Math.floor(options.targetTokens / 10)) : 12;
  const budget = options.targetTokens - reserve;
  const droppedUnits: ChatMessage[][] = [];
  let kept = units;
  const assemble = (rest: ChatMessage[][]) => [...leadingSystem, ...rest.flat(), ...tail];
  // Drop the oldest droppable unit (system notes in the middle stay) until under budget.
  while (count(assemble(kept)) > budget) {
    const index = kept.findIndex((unit) => unit[0]!.role !== 'system');
    if (index === -1) break;
    droppedUnits.push(kept[index]!);
    kept = [...kept.slice(0, index), ...kept.slice(index + 1)];
  }
  const dropped = droppedUnits.flat();
  if (dropped.length === 0) {
    return { messages: [...messages], dropped, tokensBefore, tokensAfter: tokensBefore, fits: false };
  }

  let note: string;
  let summary: string | undefined;
  if (options.summarize) {
    summary = truncateToTokens(await options.summarize(dropped), reserve, (text) => count([{ role: 'system', content: text }]) - 4);
    note = `Summary of the earlier conversation (${dropped.length} messages condensed to fit the context window):\n${summary}`;
  } else {
    note = `[${dropped.length} earlier messages were omitted to fit the context window.]`;
  }
  const result = [...leadingSystem, { role: 'system' as const, content: note }, ...kept.flat(), ...tail];
  const tokensAfter = count(result);
  return {
    messages: result,
    dropped,
    ...(summary === undefined ? {} : { summary }),
    tokensBefore,
    tokensAfter,
    fits: tokensAfter <= options.targetTokens,
  };
}

/** Groups messages into droppable units: an assistant message with tool calls plus the results of those calls. */
function groupTurns(messages: readonly ChatMessage[]): ChatMessage[][] {
  const units: ChatMessage[][] = [];
  for (let i = 0; i < messages.length; i++) {
    const message = messages[i]!;
    if (message.role === 'assistant' && message.toolCalls?.length) {
      const ids = new Set(message.toolCalls.map((call) => call.id));
      const unit: ChatMessage[] = [message];
      while (i + 1 < messages.length) {
        const next = messages[i + 1]!;
        if (next.role !== 'tool' || !ids.has(next.toolCallId)) break;
        unit.push(next);
        i++;
      }
      units.push(unit);
    } else {
      units.push([message]);
    }
  }
  return units;
}

/** Cuts text to at most `tokens` tokens (the longest prefix that fits, by binary search, with an ellipsis). */
function truncateToTokens(text: string, tokens: number, count: (text: string) => number): string {
  if (count(text) <= tokens) return text;
  let fits = 0;
  let over = text.length;
  while (over - fits > 1) {
    const mid = (fits + over) >> 1;
    if (count(`${text.slice(0, mid)}…`) <= tokens) fits = mid;
    else over = mid;
  }
  return fits === 0 ? '' : `${text.slice(0, fits)}…`;
}

function findLastIndex<T>(items: readonly T[], predicate: (item: T) => boolean): number {
  for (let i = items.length - 1; i >= 0; i--) if (predicate(items[i]!)) return i;
  return -1;
}
