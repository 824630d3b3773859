import { describe, expect, it } from 'vitest';
import type { ChatMessage } from './ChatMessage.js';
import { estimateCallCost, estimateTokens } from './estimateTokens.js';
import { loadPriceTable } from './loadPriceTable.js';

describe('estimateTokens', () => {
  it('counts about a token per four characters plus a few per message', () => {
    const messages: ChatMessage[] = [{ role: 'user', content: 'x'.repeat(400) }];
    expect(estimateTokens(messages)).toBe(100 + 4);
  });

  it('counts tool calls, tool results and tool schemas', () => {
    const base = estimateTokens([{ role: 'assistant', content: '' }]);
    const withCall = estimateTokens([
      { role: 'assistant', content: '', toolCalls: [{ id: '1', name: 'search', input: { q: 'a long query here' } }] },
    ]);
    expect(withCall).toBeGreaterThan(base);
    const tool = { name: 'search', description: 'Search the web.', inputSchema: { type: 'object', properties: { q: { type: 'string' } } } };
    expect(estimateTokens([], [tool])).toBeGreaterThan(10);
  });
});

describe('estimateCallCost', () => {
  const table = loadPriceTable(undefined);

  it('adds maxOutputTokens to the prompt estimate and prices both', () => {
    const estimate = estimateCallCost(
      { model: 'gpt-4o', system: 's'.repeat(396), messages: [{ role: 'user', content: 'u'.repeat(396) }], maxOutputTokens: 1000 },
      table,
    );
    expect(estimate).toMatchObject({ inputTokens: 99 + 4 + 99 + 4, outputTokens: 1000, tokens: 1206, priced: true });
    expect(estimate.usd).toBeCloseTo((206 * 2.5 + 1000 * 10) / 1e6, 9);
  });

  it('assumes 1024 output tokens when the request sets no maximum, and 0 USD for an unknown model', () => {
    const estimate = estimateCallCost({ model: 'mystery', messages: [] }, table);
    expect(estimate).toMatchObject({ outputTokens: 1024, usd: 0, priced: false });
  });
});
