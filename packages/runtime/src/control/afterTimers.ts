import { hasOwn } from '../names.js';

/** Named delays of a machine, from its implementation (numeric `after` keys need none). */
export type DelayResolver = (machine: string) => Record<string, number | ((args: any) => number)> | undefined;

interface MachineNode {
  id?: string;
  after?: Record<string, unknown>;
  states?: Record<string, MachineNode>;
}

/** The `after` timers of the state nodes active in a state value: event type and delay key, as XState names them. */
export function afterTimers(config: object, value: unknown): { type: string; delay: string }[] {
  const root = config as MachineNode;
  const machineId = root.id ?? '(machine)';
  const timers: { type: string; delay: string }[] = [];
  const visit = (node: MachineNode | undefined, path: string[], value: unknown) => {
    if (!node) return;
    const id = path.length === 0 ? machineId : (node.id ?? [machineId, ...path].join('.'));
    for (const key of Object.keys(node.after ?? {})) {
      const delay = Number.isNaN(Number(key)) ? key : String(Number(key));
      timers.push({ type: `xstate.after.${delay}.${id}`, delay });
    }
    const child = (key: string) => (node.states && hasOwn(node.states, key) ? node.states[key] : undefined);
    if (typeof value === 'string') visit(child(value), [...path, value], undefined);
    else if (value && typeof value === 'object') for (const [key, sub] of Object.entries(value)) visit(child(key), [...path, key], sub);
  };
  visit(root, [], value);
  return timers;
}

/** A delay in milliseconds: a number, or a named delay of the implementation evaluated on the context; undefined when unknown. */
export function resolveDelay(delay: string, named: Record<string, number | ((args: any) => number)> | undefined, context: unknown, eventType: string): number | undefined {
  const numeric = Number(delay);
  if (!Number.isNaN(numeric)) return numeric;
  const entry = named && hasOwn(named, delay) ? named[delay] : undefined;
  if (typeof entry === 'number') return entry;
  if (typeof entry === 'function') {
    try {
      const value = entry({ context, event: { type: eventType } });
      return typeof value === 'number' ? value : undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}
