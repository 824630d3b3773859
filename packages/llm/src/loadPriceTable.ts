import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { MatchLogic, ModelPrice as GenaiModelPrice, PriceCalculation } from '@pydantic/genai-prices';
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

/**
 * Prices by exact model id, laid over the price catalog: `@pydantic/genai-prices` (Pydantic's
 * maintained table of provider prices; its bundled data, nothing is fetched) when `catalog` is true.
 */
export interface PriceTable {
  models: Record<string, ModelPrice>;
  /** Look up models the table does not list in the genai-prices catalog (what `loadPriceTable` returns). */
  catalog?: boolean;
}

const modelPriceSchema = z.object({
  input: z.number().nonnegative(),
  output: z.number().nonnegative(),
  cacheRead: z.number().nonnegative().optional(),
  cacheWrite: z.number().nonnegative().optional(),
  comment: z.string().optional(),
});

const priceFileSchema = z.object({ models: z.record(z.string(), modelPriceSchema) });

// The catalog is 2 MB of JavaScript: loaded on the first price looked up in it, not when @spine/llm is imported.
const require = createRequire(import.meta.url);
let genaiPrices: typeof import('@pydantic/genai-prices') | undefined;
const calcPrice: typeof import('@pydantic/genai-prices').calcPrice = (...args) =>
  (genaiPrices ??= require('@pydantic/genai-prices') as typeof import('@pydantic/genai-prices')).calcPrice(...args);

const BUILT_IN_URL = new URL('../prices.json', import.meta.url);

/**
 * The prices Spine uses: the genai-prices catalog, under Spine's own entries (`prices.json` in this
 * package: the scripted stand-in's nominal price), under a user file, `path` or else `SPINE_PRICES`
 * (`{ "models": { "<exact model id>": { "input": n, "output": n, ... } } }`, USD per million
 * tokens), whose entries win.
 *
 * @example
 * ```ts
 * const table = loadPriceTable(); // honours SPINE_PRICES
 * costOf('gpt-4o-mini', usage, table).usd;
 * ```
 */
export function loadPriceTable(path: string | undefined = process.env['SPINE_PRICES']): PriceTable {
  const builtIn = readPriceFile(BUILT_IN_URL);
  if (!path) return { models: builtIn.models, catalog: true };
  const user = readPriceFile(path);
  return { models: { ...builtIn.models, ...user.models }, catalog: true };
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
  // fromEntries defines own properties: a model named `__proto__` is just a name.
  const models: Record<string, ModelPrice> = Object.fromEntries(
    Object.entries(parsed.data.models).map(([id, price]) => [id, Object.fromEntries(Object.entries(price).filter(([, v]) => v !== undefined)) as unknown as ModelPrice]),
  );
  return { models };
}

/** Where a price came from: the table (Spine's entries or SPINE_PRICES) or the genai-prices catalog. */
export type PriceSource = 'table' | 'genai-prices';

/**
 * Finds the price of a model by its exact id (a `vendor/` prefix is ignored): a table entry, else a
 * catalog model whose id or alias is exactly that id, or a dated snapshot of it (`-20250514`,
 * `-2024-08-06`, `-latest`). Never by prefix: `claude-opus-4-6` does not get `claude-opus-4`'s price.
 */
export function findPrice(model: string, table: PriceTable): { key: string; price: ModelPrice; source: PriceSource } | undefined {
  const found = lookup(model, table);
  return found && { key: found.key, price: found.price, source: found.source };
}

function lookup(model: string, table: PriceTable): { key: string; price: ModelPrice; source: PriceSource; id: string } | undefined {
  const ids = [...new Set([model, model.slice(model.lastIndexOf('/') + 1)])];
  for (const id of ids) {
    const exact = Object.hasOwn(table.models, id) ? table.models[id] : undefined; // never Object.prototype's `constructor`
    if (exact) return { key: id, price: exact, source: 'table', id };
  }
  if (!table.catalog) return undefined;
  for (const id of ids) {
    const found = catalogEntry(id);
    if (found) return { key: `${found.provider.id}:${found.model.id}`, price: flatPrice(found.model_price), source: 'genai-prices', id };
  }
  return undefined;
}

/** The cost of some usage: `priced: false` (and 0 USD) when no price is known for the model. */
export interface Cost {
  usd: number;
  priced: boolean;
  /** The table entry or catalog model (`provider:model`) that priced it. */
  priceKey?: string;
  source?: PriceSource;
}

/**
 * The USD cost of a usage of a model; a model with no price costs 0 with `priced: false`, never
 * an error (callers report it: the journal's `unpriced`, `spine show`, the audit log).
 *
 * Cached prompt tokens are priced at `cacheRead` / `cacheWrite`, the rest of the input at `input`;
 * catalog prices with tiers (by prompt size) are applied by genai-prices itself.
 */
export function costOf(model: string, usage: Usage, table: PriceTable): Cost {
  const found = lookup(model, table);
  if (!found) return { usd: 0, priced: false };
  if (found.source === 'genai-prices') {
    const providerId = found.key.slice(0, found.key.indexOf(':'));
    const result = calcPrice(
      { input_tokens: usage.inputTokens, output_tokens: usage.outputTokens, cache_read_tokens: usage.cacheReadTokens, cache_write_tokens: usage.cacheWriteTokens },
      found.id,
      { providerId },
    );
    if (result) return { usd: round(result.total_price), priced: true, priceKey: found.key, source: found.source };
    return { usd: 0, priced: false };
  }
  const { price } = found;
  const uncached = Math.max(0, usage.inputTokens - usage.cacheReadTokens - usage.cacheWriteTokens);
  const micro =
    uncached * price.input +
    usage.cacheReadTokens * (price.cacheRead ?? price.input) +
    usage.cacheWriteTokens * (price.cacheWrite ?? price.input) +
    usage.outputTokens * price.output;
  return { usd: round(micro / 1_000_000), priced: true, priceKey: found.key, source: found.source };
}

/** Rounds away floating-point dust (to a billionth of a dollar). */
function round(usd: number): number {
  return Math.round(usd * 1e9) / 1e9;
}

type CatalogMatch = Parameters<typeof matchesExactly>[0];

/** The catalog's entry for an id, only when the catalog matches it exactly (see `findPrice`). */
function catalogEntry(id: string): PriceCalculation | undefined {
  const result = calcPrice({ input_tokens: 0, output_tokens: 0 }, id);
  if (!result) return undefined;
  const lower = id.toLowerCase().trim();
  return lower === result.model.id.toLowerCase() || matchesExactly(result.model.match, lower) ? result : undefined;
}

/** A dated snapshot or alias suffix of a model id: the same model, the same price. */
const SNAPSHOT = /[-@](\d{8}|\d{4}-\d{2}-\d{2}|latest)$/;

/**
 * Whether a genai-prices match rule names `id` itself: `equals`, or a `starts_with` that covers all
 * of the id but its snapshot suffix (`claude-sonnet-4-2025` names `claude-sonnet-4-20250514`;
 * `claude-opus-4-0` does not name `claude-opus-4-0-experimental`). `contains`, `ends_with`, `regex`
 * and shorter prefixes never price by themselves.
 */
function matchesExactly(match: MatchLogic, id: string): boolean {
  if ('equals' in match) return id === match.equals.toLowerCase();
  if ('starts_with' in match) {
    const prefix = match.starts_with.toLowerCase();
    return id.startsWith(prefix) && prefix.length >= id.replace(SNAPSHOT, '').length;
  }
  if ('or' in match) return match.or.some((part: CatalogMatch) => matchesExactly(part, id));
  // `and`: one part names the id exactly and every other part holds (e.g. "not a -tts variant").
  if ('and' in match) return match.and.some((part: CatalogMatch) => matchesExactly(part, id)) && match.and.every((part: CatalogMatch) => holds(part, id));
  return false;
}

/** genai-prices' own reading of a match rule. */
function holds(match: MatchLogic, id: string): boolean {
  if ('equals' in match) return id === match.equals.toLowerCase();
  if ('starts_with' in match) return id.startsWith(match.starts_with.toLowerCase());
  if ('ends_with' in match) return id.endsWith(match.ends_with.toLowerCase());
  if ('contains' in match) return id.includes(match.contains.toLowerCase());
  if ('regex' in match) return new RegExp(match.regex).test(id);
  if ('or' in match) return match.or.some((part: CatalogMatch) => holds(part, id));
  return match.and.every((part: CatalogMatch) => holds(part, id));
}

/** A catalog price as a flat `ModelPrice` (the base rate of tiered prices), for display and estimates. */
function flatPrice(price: GenaiModelPrice): ModelPrice {
  const rate = (value: GenaiModelPrice[string]): number | undefined => (typeof value === 'number' ? value : value?.base);
  const out: ModelPrice = { input: rate(price['input_mtok']) ?? 0, output: rate(price['output_mtok']) ?? 0 };
  const cacheRead = rate(price['cache_read_mtok']);
  const cacheWrite = rate(price['cache_write_mtok']);
  if (cacheRead !== undefined) out.cacheRead = cacheRead;
  if (cacheWrite !== undefined) out.cacheWrite = cacheWrite;
  return out;
}
