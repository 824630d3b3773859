import { z } from 'zod';

/** A JSON Schema object, as sent to a model. */
export type JsonSchema = Record<string, unknown>;

/**
 * Converts a zod schema to the JSON Schema sent to a model (draft-07, via `z.toJSONSchema`),
 * without the `$schema` key and the ±2^53 bounds zod adds to integers.
 */
export function toJsonSchema(schema: z.ZodType): JsonSchema {
  const json = z.toJSONSchema(schema, { target: 'draft-07', unrepresentable: 'any' }) as JsonSchema;
  delete json['$schema'];
  return clean(json) as JsonSchema;
}

function clean(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(clean);
  if (typeof node !== 'object' || node === null) return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if ((key === 'minimum' || key === 'maximum') && Math.abs(value as number) === Number.MAX_SAFE_INTEGER) continue;
    out[key] = clean(value);
  }
  return out;
}

/**
 * Whether OpenAI's strict structured-output mode accepts a schema: every object lists all its
 * properties as required and forbids additional ones.
 */
export function isStrictJsonSchema(node: unknown): boolean {
  if (Array.isArray(node)) return node.every(isStrictJsonSchema);
  if (typeof node !== 'object' || node === null) return true;
  const schema = node as Record<string, unknown>;
  const properties = schema['properties'];
  if (typeof properties === 'object' && properties !== null) {
    const required = Array.isArray(schema['required']) ? (schema['required'] as unknown[]) : [];
    if (schema['additionalProperties'] !== false) return false;
    if (!Object.keys(properties).every((key) => required.includes(key))) return false;
  } else if (schema['type'] === 'object' && schema['additionalProperties'] !== false) {
    return false;
  }
  return Object.entries(schema).every(([key, value]) => key === 'required' || isStrictJsonSchema(value));
}
