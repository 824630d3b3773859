import { canonicalJson, versionOf, type MachineRegistry, type Store } from '@spine/runtime';
import { z } from 'zod';
import type { MachineJson } from './protocol.js';

/**
 * Every machine the store has versions of, plus those the runtime can run,
 * with JSON configs (for diagrams) and accepted events as JSON Schema (for the
 * send-event form).
 */
export async function machinesJson(store: Store, registry: MachineRegistry | undefined): Promise<MachineJson[]> {
  const stored = await store.listMachineVersions();
  const names = new Set([...stored.map((v) => v.machine), ...(registry?.names() ?? [])]);
  const machines: MachineJson[] = [];
  for (const name of [...names].sort()) {
    const definition = registry?.has(name) ? registry.definition(name) : undefined;
    const versions: MachineJson['versions'] = [];
    for (const v of stored.filter((s) => s.machine === name)) {
      const text = await store.getMachineVersion(name, v.version);
      versions.push({ version: v.version, createdAt: v.createdAt, config: text ? (JSON.parse(text) as unknown) : null });
    }
    let current: string | null = null;
    if (definition) {
      current = versionOf(definition.config);
      if (!versions.some((v) => v.version === current)) {
        versions.push({ version: current, createdAt: Date.now(), config: JSON.parse(canonicalJson(definition.config)) as unknown });
      }
    }
    machines.push({
      name,
      runnable: Boolean(definition),
      current: current ?? versions[versions.length - 1]?.version ?? null,
      versions,
      events: Object.entries(definition?.schemas.events ?? {}).map(([type, schema]) => ({ type, schema: jsonSchema(schema) })),
      input: definition?.schemas.input ? jsonSchema(definition.schemas.input) : null,
    });
  }
  return machines;
}

function jsonSchema(schema: z.ZodType): unknown {
  try {
    return z.toJSONSchema(schema, { unrepresentable: 'any' });
  } catch {
    return null;
  }
}
