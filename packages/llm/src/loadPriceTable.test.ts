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
  it('prices current OpenAI, Anthropic and Google models from the genai-prices catalog, offline, and the scripted stand-in nominally', () => {
    const table = loadPriceTable(undefined);
    for (const model of ['gpt-4o', 'gpt-4o-mini', 'gpt-4.1', 'gpt-5', 'gpt-5-mini', 'o4-mini', 'claude-sonnet-4-5', 'claude-opus-4-6', 'claude-haiku-4-5', 'gemini-2.5-pro']) {
      expect(findPrice(model, table), model).toMatchObject({ source: 'genai-prices' });
    }
    expect(findPrice('scripted', table)).toMatchObject({ source: 'table', price: { comment: expect.stringMatching(/nominal/i) } });
  });

  it('lays a user file over the built-in table', () => {
    const path = tempFile(JSON.stringify({ models: { 'gpt-4o': { input: 1, output: 1 }, 'my-model': { input: 5, output: 6 } } }));
    const table = loadPriceTable(path);
    expect(table.models['gpt-4o']).toEqual({ input: 1, output: 1 });
    expect(table.models['my-model']).toEqual({ input: 5, output: 6 });
    expect(costOf('gpt-4o', usage(1_000_000, 0), table)).toMatchObject({ usd: 1, source: 'table' });
    expect(costOf('my-model', usage(1_000_000, 1_000_000), table)).toMatchObject({ usd: 11, priced: true });
    expect(findPrice('claude-sonnet-4-5', table)).toMatchObject({ source: 'genai-prices' });
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
    expect(costOf('gpt-4o-mini', usage(1_000_000, 1_000_000), table)).toEqual({ usd: 0.75, priced: true, priceKey: 'openai:gpt-4o-mini', source: 'genai-prices' });
  });

  it('prices cached prompt tokens at the cache prices', () => {
    // claude-sonnet-4: 3 in, 15 out, 0.30 cache read, 3.75 cache write
    const cost = costOf('claude-sonnet-4-20250514', usage(1_000_000, 0, 500_000, 100_000), table);
    expect(cost.usd).toBeCloseTo(0.4 * 3 + 0.5 * 0.3 + 0.1 * 3.75, 9);
    const own = { models: { m: { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 } } };
    expect(costOf('m', usage(1_000_000, 0, 500_000, 100_000), own).usd).toBeCloseTo(0.4 * 3 + 0.5 * 0.3 + 0.1 * 3.75, 9);
  });

  it('applies tiered catalog prices by prompt size', () => {
    // gemini-2.5-pro: 1.25 per million input up to 200k tokens of prompt, 2.50 above.
    expect(costOf('gemini-2.5-pro', usage(100_000, 0), table).usd).toBeCloseTo(0.125, 9);
    expect(costOf('gemini-2.5-pro', usage(300_000, 0), table).usd).toBeCloseTo(0.75, 9);
  });

  it('matches exact ids, their dated snapshots and vendor-prefixed ids', () => {
    expect(findPrice('gpt-4o-mini-2024-07-18', table)?.key).toBe('openai:gpt-4o-mini');
    expect(findPrice('openai/gpt-4.1-mini', table)?.key).toBe('openai:gpt-4.1-mini');
    expect(findPrice('claude-sonnet-4-20250514', table)?.key).toBe('anthropic:claude-sonnet-4-0');
    expect(findPrice('claude-haiku-4-5-20251001', table)?.key).toBe('anthropic:claude-haiku-4-5');
    expect(findPrice('gpt-4omni', table)).toBeUndefined();
    expect(findPrice('o4', table)).toBeUndefined();
  });

  it('never prices a model by a prefix of its id', () => {
    // claude-opus-4-6 has its own (lower) price; it must never get claude-opus-4's.
    const opus46 = costOf('claude-opus-4-6', usage(1_000_000, 0), table);
    const opus4 = costOf('claude-opus-4', usage(1_000_000, 0), table);
    expect(opus4.usd).toBe(15);
    expect(opus46.usd).toBe(5);
    // In a user table too: a key prices only its own id.
    const own = { models: { 'claude-opus-4': { input: 15, output: 75 } } };
    expect(costOf('claude-opus-4-6', usage(1_000_000, 0), own)).toEqual({ usd: 0, priced: false });
    expect(costOf('claude-opus-4-20250514', usage(1_000_000, 0), own)).toEqual({ usd: 0, priced: false });
    // Nor a catalog prefix rule followed by anything but a snapshot date.
    expect(findPrice('claude-opus-4-0-experimental', table)).toBeUndefined();
    expect(findPrice('gpt-4o-mini-foo', table)).toBeUndefined();
  });

  it('costs an unknown model nothing and says it is unpriced, never throwing', () => {
    expect(costOf('llama3.2', usage(1000, 1000), table)).toEqual({ usd: 0, priced: false });
    for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      expect(costOf(name, usage(1000, 1000), table), name).toEqual({ usd: 0, priced: false });
    }
  });

  it('reads a price file whose model is named __proto__ as a model, not a prototype', () => {
    const path = tempFile('{ "models": { "__proto__": { "input": 1, "output": 1 }, "m": { "input": 2, "output": 2 } } }');
    const own = loadPriceTable(path);
    expect(Object.getPrototypeOf(own.models)).toBe(Object.prototype);
    expect(costOf('m', usage(1_000_000, 0), own).usd).toBe(2);
    expect(costOf('constructor', usage(1_000_000, 0), own).priced).toBe(false);
  });
});
