import { describe, expect, it } from 'vitest';
import { estimateCallCost, estimateTokens } from './estimateTokens.js';
import { loadPriceTable } from './loadPriceTable.js';
import { tokenizerFor } from './tokenizerFor.js';

describe('estimateTokens', () => {
  it("counts with the model's tokenizer plus a few tokens per message", () => {
    expect(estimateTokens([{ role: 'user', content: 'hello world' }], [], { model: 'gpt-4o-mini' })).toBe(2 + 4);
    expect(estimateTokens([{ role: 'user', content: ' hello'.repeat(100) }], [], { model: 'gpt-4.1' })).toBe(100 + 4);
  });

  it('counts Chinese text and JSON as the tokenizer does, where characters / 4 was 2-3x too low', () => {
    const chinese = '我们明天在北京开会，请准时参加。'.repeat(20); // 320 characters
    const json = JSON.stringify(Array.from({ length: 40 }, (_, i) => ({ id: i, ok: i % 2 === 0, tags: ['a', 'b'] })));
    const chineseTokens = estimateTokens([{ role: 'user', content: chinese }], [], { model: 'gpt-4o' }) - 4;
    const jsonTokens = estimateTokens([{ role: 'user', content: json }], [], { model: 'gpt-4o' }) - 4;
    expect(chineseTokens).toBe(tokenizerFor('gpt-4o').count(chinese));
    expect(chineseTokens).toBeGreaterThan(1.5 * (chinese.length / 4));
    expect(jsonTokens).toBeGreaterThan(1.2 * (json.length / 4));
  });

  it("uses each OpenAI model's own encoding and says when a family falls back to o200k_base", () => {
    expect(tokenizerFor('gpt-4o-mini')).toMatchObject({ encoding: 'o200k_base', exact: true });
    expect(tokenizerFor('openai/gpt-5-mini')).toMatchObject({ encoding: 'o200k_base', exact: true });
    expect(tokenizerFor('o3')).toMatchObject({ encoding: 'o200k_base', exact: true });
    expect(tokenizerFor('gpt-4')).toMatchObject({ encoding: 'cl100k_base', exact: true });
    expect(tokenizerFor('gpt-3.5-turbo')).toMatchObject({ encoding: 'cl100k_base', exact: true });
    expect(tokenizerFor('claude-sonnet-4-5')).toMatchObject({ encoding: 'o200k_base', exact: false });
    expect(tokenizerFor('llama3.1')).toMatchObject({ encoding: 'o200k_base', exact: false });
    // cl100k and o200k really differ: the same text counts differently.
    const text = '東京都は日本の首都です。'.repeat(10);
    expect(tokenizerFor('gpt-4').count(text)).not.toBe(tokenizerFor('gpt-4o').count(text));
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
      { model: 'gpt-4o', system: ' hello'.repeat(99), messages: [{ role: 'user', content: ' hello'.repeat(99) }], maxOutputTokens: 1000 },
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
