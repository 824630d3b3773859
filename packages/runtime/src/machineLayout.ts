/**
 * The layout sidecar, `<name>.layout.json` beside `<name>.machine.json`: where the
 * user placed states in the editor. It is not part of the machine: the version
 * hash covers only the `.machine.json` structure. Browser-safe.
 */
export interface MachineLayout {
  /** Top-left corner of each placed state, relative to its parent state, by state path (`parent.child`). */
  positions: Record<string, { x: number; y: number }>;
}

/** Reads a layout sidecar leniently: anything malformed is dropped, never an error (a layout is only a preference). */
export function parseMachineLayout(value: unknown): MachineLayout {
  const positions: MachineLayout['positions'] = {};
  const raw = value && typeof value === 'object' ? (value as { positions?: unknown }).positions : undefined;
  if (raw && typeof raw === 'object' && !Array.isArray(raw)) {
    for (const [path, p] of Object.entries(raw as Record<string, unknown>)) {
      const x = (p as { x?: unknown } | null)?.x;
      const y = (p as { y?: unknown } | null)?.y;
      if (typeof x === 'number' && typeof y === 'number' && Number.isFinite(x) && Number.isFinite(y)) positions[path] = { x, y };
    }
  }
  return { positions };
}
