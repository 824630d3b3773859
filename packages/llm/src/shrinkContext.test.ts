import { describe, expect, it } from 'vitest';
import type { ChatMessage } from './ChatMessage.js';
import { estimateTokens } from './estimateTokens.js';
import { shrinkContext } from './shrinkContext.js';

const text = (n: number) => ' hello'.repeat(n); // n tokens of text (o200k_base, the fallback tokenizer)

function conversation(): ChatMessage[] {
  return [
    { role: 'system', content: 'You are careful.' },
    { role: 'user', content: `first ${text(100)}` },
    { role: 'assistant', content: `reply one ${text(100)}` },
    { role: 'user', content: `second ${text(100)}` },
    { role: 'assistant', content: '', toolCalls: [{ id: 'c1', name: 'search', input: { q: 'a' } }, { id: 'c2', name: 'search', input: { q: 'b' } }] },
    { role: 'tool', toolCallId: 'c1', toolName: 'search', content: text(100) },
    { role: 'tool', toolCallId: 'c2', toolName: 'search', content: text(100) },
    { role: 'assistant', content: `reply two ${text(50)}` },
    { role: 'user', content: `latest question ${text(50)}` },
  ];
}

describe('shrinkContext', () => {
  it('returns the messages untouched when they already fit', async () => {
    const messages = conversation();
    const result = await shrinkContext(messages, { targetTokens: 10_000 });
    expect(result.messages).toEqual(messages);
    expect(result.dropped).toEqual([]);
    expect(result.fits).toBe(true);
  });

  it('drops the oldest turns first and keeps the system message and the latest user turn', async () => {
    const messages = conversation();
    const result = await shrinkContext(messages, { targetTokens: 450 });
    expect(result.fits).toBe(true);
    expect(result.tokensAfter).toBeLessThanOrEqual(450);
    expect(result.messages[0]).toEqual(messages[0]);
    expect(result.messages.at(-1)).toEqual(messages.at(-1));
    expect(result.dropped[0]).toEqual(messages[1]);
    expect(result.messages[1]).toMatchObject({ role: 'system', content: expect.stringMatching(/earlier messages were omitted/) });
    expect(estimateTokens(result.messages)).toBe(result.tokensAfter);
  });

  it('never separates a tool call from its results', async () => {
    const messages = conversation();
    for (let target = 100; target <= 700; target += 25) {
      const { messages: kept } = await shrinkContext(messages, { targetTokens: target });
      const callIds = new Set(kept.flatMap((m) => (m.role === 'assistant' ? (m.toolCalls ?? []).map((c) => c.id) : [])));
      const resultIds = new Set(kept.flatMap((m) => (m.role === 'tool' ? [m.toolCallId] : [])));
      expect([...resultIds].every((id) => callIds.has(id)), `target ${target}`).toBe(true);
      expect([...callIds].every((id) => resultIds.has(id)), `target ${target}`).toBe(true);
    }
  });

  it('replaces the dropped turns with a summary when a summarizer is given', async () => {
    const messages = conversation();
    let seen: ChatMessage[] = [];
    const result = await shrinkContext(messages, {
      targetTokens: 450,
      summarize: (dropped) => {
        seen = dropped;
        return 'The user asked two things; search found a and b.';
      },
    });
    expect(seen).toEqual(result.dropped);
    expect(result.summary).toBe('The user asked two things; search found a and b.');
    expect(result.messages[1]).toMatchObject({ role: 'system', content: expect.stringContaining('search found a and b') });
    expect(result.fits).toBe(true);
  });

  it('cuts a summary that is longer than the room kept for it', async () => {
    const result = await shrinkContext(conversation(), {
      targetTokens: 450,
      summaryTokens: 20,
      summarize: () => ' hello'.repeat(10_000),
    });
    expect(estimateTokens([{ role: 'system', content: result.summary! }])).toBeLessThanOrEqual(20 + 4);
    expect(result.summary!.endsWith('…')).toBe(true);
    expect(result.fits).toBe(true);
  });

  it('says so when even the system message and the latest turn do not fit', async () => {
    const messages: ChatMessage[] = [
      { role: 'system', content: 'sys' },
      { role: 'user', content: text(1000) },
    ];
    const result = await shrinkContext(messages, { targetTokens: 100 });
    expect(result.fits).toBe(false);
    expect(result.messages).toEqual(messages);
  });
});
