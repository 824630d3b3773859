import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from './errors.js';
import { costOf, findPrice, loadPriceTable } from './loadPriceTable.js';

const usage = (input: number, output: number, cacheRead = 0, cacheWrite = 0) => ({
  inputTokens: input,
  outputTokens: output,
  cacheReadTokens: cacheRead,
  cacheWriteTokens: cacheWrite,
});

function tempFile(content: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'spine-prices-'));
  const path = join(dir, 'prices.json');
  writeFileSync(path, content);
  return path;
}

describe('loadPriceTable', () => {
  it('ships prices for the common OpenAI and Anthropic models and a nominal scripted entry', () => {
    const table = loadPriceTable(undefined);
    for (const model of ['gpt-4o', 'gpt-4o-mini', 'gpt-4.1', 'gpt-4.1-mini', 'o4-mini', 'claude-sonnet-4', 'claude-3-5-haiku', 'claude-opus-4', 'scripted']) {
      expect(table.models[model], model).toBeDefined();
    }
    expect(table.models['scripted']!.comment).toMatch(/nominal/i);
  });

  it('lays a user file over the built-in table', () => {
    const path = tempFile(JSON.stringify({ models: { 'gpt-4o': { input: 1, output: 1 }, 'my-model': { input: 5, output: 6 } } }));
    const table = loadPriceTable(path);
    expect(table.models['gpt-4o']).toEqual({ input: 1, output: 1 });
    expect(table.models['my-model']).toEqual({ input: 5, output: 6 });
    expect(table.models['claude-sonnet-4']).toBeDefined();
  });

  it('refuses a user file that is not valid JSON, naming the file', () => {
    const path = tempFile('{ nope');
    expect(() => loadPriceTable(path)).toThrow(ConfigError);
    expect(() => loadPriceTable(path)).toThrow(path);
  });

  it('refuses a user file with a bad price, naming the field', () => {
    const path = tempFile(JSON.stringify({ models: { x: { input: 'cheap', output: 1 } } }));
    expect(() => loadPriceTable(path)).toThrow(/models\.x\.input/);
  });

  it('refuses a missing user file with a hint about SPINE_PRICES', () => {
    expect(() => loadPriceTable('/nonexistent/prices.json')).toThrow(/SPINE_PRICES/);
  });
});

describe('costOf', () => {
  const table = loadPriceTable(undefined);

  it('prices input and output per million tokens', () => {
    // gpt-4o-mini: 0.15 in, 0.60 out
    expect(costOf('gpt-4o-mini', usage(1_000_000, 1_000_000), table)).toEqual({ usd: 0.75, priced: true, priceKey: 'gpt-4o-mini' });
  });

  it('prices cached prompt tokens at the cache prices', () => {
    // claude-sonnet-4: 3 in, 15 out, 0.30 cache read, 3.75 cache write
    const cost = costOf('claude-sonnet-4', usage(1_000_000, 0, 500_000, 100_000), table);
    expect(cost.usd).toBeCloseTo(0.4 * 3 + 0.5 * 0.3 + 0.1 * 3.75, 9);
  });

  it('prices dated snapshots and vendor-prefixed ids by their family, the longest match winning', () => {
    expect(findPrice('gpt-4o-mini-2024-07-18', table)?.key).toBe('gpt-4o-mini');
    expect(findPrice('gpt-4o-2024-08-06', table)?.key).toBe('gpt-4o');
    expect(findPrice('openai/gpt-4.1-mini', table)?.key).toBe('gpt-4.1-mini');
    expect(findPrice('claude-sonnet-4-20250514', table)?.key).toBe('claude-sonnet-4');
    expect(findPrice('gpt-4omni', table)).toBeUndefined();
    expect(findPrice('o4', table)).toBeUndefined();
  });

  it('costs an unknown model nothing and says it is unpriced, never throwing', () => {
    expect(costOf('llama3.2', usage(1000, 1000), table)).toEqual({ usd: 0, priced: false });
  });
});
