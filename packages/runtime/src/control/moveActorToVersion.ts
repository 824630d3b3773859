import { systemClock, type Clock } from '../clock.js';
import type { MachineConfigJson } from '../defineMachine.js';
import { SpineError } from '../errors.js';
import { asRecord, MachineIndex, toArray } from '../machineWalk.js';
import type { MachineRegistry } from '../MachineRegistry.js';
import type { ActorRecord, Store, VersionMove } from '../Store.js';

/** Options of `moveActorToVersion`. */
export interface MoveActorOptions {
  store: Store;
  /** The machines the host runs: the target version is built with their implementations before the move. */
  registry: MachineRegistry;
  /** The version to move to; `current` (default) is the registry's current version of the actor's machine. */
  to?: string;
  /** Who asked, for the audit log (default `system`). */
  who?: string;
  clock?: Clock;
}

/** What a move did. */
export interface MoveActorResult {
  actorId: string;
  machine: string;
  from: string;
  to: string;
  /** The actor's state value, unchanged by the move. */
  state: unknown;
  /** False when the actor was already on that version. */
  moved: boolean;
}

/**
 * Moves a running actor to another version of its machine, only when asked and
 * only when it can continue there: every state it is in must exist in the new
 * version, and every activity it is waiting for must still be invoked there
 * under the same id. Otherwise it refuses with `incompatible_version`, naming
 * the missing state or invoke, and the actor stays where it is. The move is one
 * committed step (`spine.version.moved`), so a host that holds the actor in
 * memory conflicts on its next step and reloads it on the new version.
 *
 * @example
 * await moveActorToVersion('run-1', { store, registry, to: 'current', who: 'ana' });
 */
export async function moveActorToVersion(actorId: string, options: MoveActorOptions): Promise<MoveActorResult> {
  const { store, registry } = options;
  const clock = options.clock ?? systemClock;
  const actor = await store.getActor(actorId);
  if (!actor) throw new SpineError('unknown_actor', `No actor with id '${actorId}'.`, { actorId });
  const machine = actor.machine;
  if (actor.status !== 'active') {
    throw new SpineError('actor_not_active', `Actor '${actorId}' is ${actor.status}; only a running actor can move to another version.`, { actorId, machine });
  }
  const target = !options.to || options.to === 'current' ? (await registry.current(machine, store)).version : options.to;
  const state = actor.stateValue ? (JSON.parse(actor.stateValue) as unknown) : null;
  if (target === actor.version) return { actorId, machine, from: actor.version, to: target, state, moved: false };

  const [fromConfig, toConfig] = await Promise.all([configOf(store, registry, machine, actor.version), configOf(store, registry, machine, target)]);
  if (!toConfig) {
    const known = (await store.listMachineVersions(machine)).map((v) => v.version);
    throw new SpineError('unknown_version', `Machine '${machine}' has no version '${target}'. Known versions: ${known.join(', ') || '(none)'}.`, { actorId, machine });
  }
  const refusal = incompatibility(state, fromConfig, toConfig);
  if (refusal) {
    throw new SpineError('incompatible_version', `Cannot move actor '${actorId}' to ${machine}@${target}: ${refusal} It stays on ${machine}@${actor.version}.`, {
      actorId,
      machine,
    });
  }
  await registry.pinned(machine, target, store); // built (and validated) with today's implementations before anything changes
  const moved = await store.moveActorVersion(planVersionMove(actor, { to: target, now: clock.now(), who: options.who ?? 'system' }));
  if (!moved) throw new SpineError('conflict', `Actor '${actorId}' took a step (or finished) while it was being moved; nothing changed. Try again.`, { actorId, machine });
  return { actorId, machine, from: actor.version, to: target, state, moved: true };
}

/**
 * Plans moving an actor, as read, to version `to` (pure; `Store.moveActorVersion` writes
 * it): a started actor gets a `spine.version.moved` step (seq + 1, its snapshot unchanged),
 * one not started only its new version; an `actor.version_moved` audit row names who.
 */
export function planVersionMove(actor: ActorRecord, options: { to: string; now: number; who: string }): VersionMove {
  const { to, now } = options;
  const state = actor.stateValue ? (JSON.parse(actor.stateValue) as unknown) : null;
  const started = actor.seq > 0 && actor.snapshot !== null;
  return {
    actorId: actor.id,
    expectedSeq: actor.seq,
    from: actor.version,
    to,
    at: now,
    history: started
      ? {
          actorId: actor.id,
          runId: actor.runId,
          seq: actor.seq + 1,
          eventType: 'spine.version.moved',
          event: JSON.stringify({ type: 'spine.version.moved', from: actor.version, to }),
          stateValue: actor.stateValue ?? 'null',
          snapshot: actor.snapshot!,
          status: 'active',
          version: to,
          emitted: null,
          startedAt: now,
          durationUs: 0,
        }
      : null,
    audit: [{ at: now, runId: actor.runId, actorId: actor.id, kind: 'actor.version_moved', who: options.who, subject: `${actor.machine}@${to}`, detail: JSON.stringify({ from: actor.version, to, state }) }],
  };
}

/** Every state path a state value is in, ancestors first: `{ a: 'b' }` -> `[['a'], ['a', 'b']]`. */
export function activePaths(value: unknown): string[][] {
  const out: string[][] = [];
  const walk = (prefix: string[], v: unknown) => {
    if (typeof v === 'string') out.push([...prefix, v]);
    else if (v && typeof v === 'object') {
      for (const [key, sub] of Object.entries(v)) {
        out.push([...prefix, key]);
        walk([...prefix, key], sub);
      }
    }
  };
  walk([], value);
  return out;
}

/** Why an actor in `value` cannot continue on `to`, or undefined if it can. */
function incompatibility(value: unknown, from: MachineConfigJson | undefined, to: MachineConfigJson): string | undefined {
  const target = new MachineIndex(to);
  const source = from ? new MachineIndex(from) : undefined;
  for (const path of activePaths(value)) {
    const there = target.get(path);
    if (!there) return `its current state '${path.join('.')}' does not exist in that version.`;
    const here = source?.get(path);
    const invokesThere = toArray(there.node.invoke).map(asRecord);
    for (const invoke of toArray(here?.node.invoke).map(asRecord)) {
      if (!invoke) continue;
      const id = typeof invoke.id === 'string' ? invoke.id : undefined;
      const same = invokesThere.find((i) => i && (id === undefined || i.id === id) && i.src === invoke.src);
      if (!same) return `in state '${path.join('.')}' it is waiting for '${id ?? String(invoke.src)}' (${String(invoke.src)}), which that version no longer invokes there.`;
    }
  }
  return undefined;
}

async function configOf(store: Store, registry: MachineRegistry, machine: string, version: string): Promise<MachineConfigJson | undefined> {
  if (registry.has(machine) && registry.machine(machine).version === version) return registry.machine(machine).config;
  const stored = await store.getMachineVersion(machine, version);
  return stored ? (JSON.parse(stored) as MachineConfigJson) : undefined;
}
