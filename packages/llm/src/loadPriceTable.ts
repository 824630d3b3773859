import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from './errors.js';
import type { Usage } from './Usage.js';

/** What one model costs, in USD per million tokens. */
export interface ModelPrice {
  input: number;
  output: number;
  /** Price of prompt tokens read from the cache; defaults to `input`. */
  cacheRead?: number;
  /** Price of prompt tokens written to the cache; defaults to `input`. */
  cacheWrite?: number;
  comment?: string;
}

/** Prices by model id (or id prefix: `gpt-4o` prices `gpt-4o-2024-08-06`). */
export interface PriceTable {
  models: Record<string, ModelPrice>;
}

const modelPriceSchema = z.object({
  input: z.number().nonnegative(),
  output: z.number().nonnegative(),
  cacheRead: z.number().nonnegative().optional(),
  cacheWrite: z.number().nonnegative().optional(),
  comment: z.string().optional(),
});

const priceFileSchema = z.object({ models: z.record(z.string(), modelPriceSchema) });

const BUILT_IN_URL = new URL('../prices.json', import.meta.url);

/**
 * Loads the built-in price table (`prices.json` in this package) and lays a user file over it.
 *
 * The user file, `path` or else `SPINE_PRICES`, has the same shape (`{ "models": { id: price } }`);
 * its entries replace or add to the built-in ones.
 *
 * @example
 * ```ts
 * const table = loadPriceTable(); // honours SPINE_PRICES
 * costOf('gpt-4o-mini', usage, table).usd;
 * ```
 */
export function loadPriceTable(path: string | undefined = process.env['SPINE_PRICES']): PriceTable {
  const builtIn = readPriceFile(BUILT_IN_URL);
  if (!path) return builtIn;
  const user = readPriceFile(path);
  return { models: { ...builtIn.models, ...user.models } };
}

function readPriceFile(source: string | URL): PriceTable {
  const shown = source instanceof URL ? source.pathname : source;
  let text: string;
  try {
    text = readFileSync(source, 'utf8');
  } catch (error) {
    throw new ConfigError(`Cannot read the price table ${shown}: ${(error as Error).message}. Check SPINE_PRICES.`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`The price table ${shown} is not valid JSON: ${(error as Error).message}`);
  }
  const parsed = priceFileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(
      `The price table ${shown} is invalid at "${issue?.path.join('.') ?? ''}": ${issue?.message ?? 'invalid'}. ` +
        'Expected { "models": { "<model>": { "input": n, "output": n, "cacheRead"?: n, "cacheWrite"?: n } } } in USD per million tokens.',
    );
  }
  const models: Record<string, ModelPrice> = {};
  for (const [id, price] of Object.entries(parsed.data.models)) {
    models[id] = Object.fromEntries(Object.entries(price).filter(([, v]) => v !== undefined)) as unknown as ModelPrice;
  }
  return { models };
}

/**
 * Finds the price of a model: its exact id, else the longest table key that is a prefix of the id
 * followed by `-` (dated snapshots), ignoring any `vendor/` prefix.
 */
export function findPrice(model: string, table: PriceTable): { key: string; price: ModelPrice } | undefined {
  const candidates = [model, model.slice(model.lastIndexOf('/') + 1)];
  for (const id of candidates) {
    const exact = Object.prototype.hasOwnProperty.call(table.models, id) ? table.models[id] : undefined;
    if (exact) return { key: id, price: exact };
  }
  let best: { key: string; price: ModelPrice } | undefined;
  for (const id of candidates) {
    for (const [key, price] of Object.entries(table.models)) {
      if (id.startsWith(`${key}-`) && (!best || key.length > best.key.length)) best = { key, price };
    }
  }
  return best;
}

/** The cost of some usage: `priced: false` (and 0 USD) when the model is not in the table. */
export interface Cost {
  usd: number;
  priced: boolean;
  /** The table entry that priced it. */
  priceKey?: string;
}

/**
 * The USD cost of a usage of a model; an unknown model costs 0 with `priced: false`, never an error.
 *
 * Cached prompt tokens are priced at `cacheRead` / `cacheWrite`, the rest of the input at `input`.
 */
export function costOf(model: string, usage: Usage, table: PriceTable): Cost {
  const found = findPrice(model, table);
  if (!found) return { usd: 0, priced: false };
  const { price } = found;
  const uncached = Math.max(0, usage.inputTokens - usage.cacheReadTokens - usage.cacheWriteTokens);
  const micro =
    uncached * price.input +
    usage.cacheReadTokens * (price.cacheRead ?? price.input) +
    usage.cacheWriteTokens * (price.cacheWrite ?? price.input) +
    usage.outputTokens * price.output;
  return { usd: round(micro / 1_000_000), priced: true, priceKey: found.key };
}

/** Rounds away floating-point dust (to a billionth of a dollar). */
function round(usd: number): number {
  return Math.round(usd * 1e9) / 1e9;
}
