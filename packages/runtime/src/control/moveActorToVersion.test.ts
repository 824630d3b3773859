import { SqliteStore } from '@spine/store-sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import { createRuntime, type Runtime } from '../createRuntime.js';
import type { MachineDefinition } from '../defineMachine.js';
import { SpineError } from '../errors.js';
import { MachineRegistry, versionOf } from '../MachineRegistry.js';
import { activePaths, moveActorToVersion } from './moveActorToVersion.js';
import { EffectLog, orderMachine, tempDbPath } from '../testing/fixtures.js';

const open: Runtime[] = [];
afterEach(async () => {
  for (const runtime of open.splice(0)) {
    await runtime.stop();
    await runtime.store.close();
  }
});

async function setup() {
  const log = new EffectLog();
  const order = orderMachine(log);
  const registry = new MachineRegistry();
  registry.register(order);
  const runtime = createRuntime({ store: await SqliteStore.open(tempDbPath()), machines: registry, pollIntervalMs: 20 });
  open.push(runtime);
  await runtime.start();
  return { log, order, registry, runtime, store: runtime.store };
}

/** The order machine with its `open` state renamed or extended: a new version of the same implementations. */
function edited(order: MachineDefinition, edit: (states: Record<string, any>, config: Record<string, any>) => void): MachineDefinition {
  const config = structuredClone(order.config) as any;
  edit(config.states, config);
  return { ...order, config };
}

describe('moving a running actor to a new version', () => {
  it('keeps running actors on their version while new runs use the edited one', async () => {
    const { order, registry, runtime, store } = await setup();
    const old = await runtime.startRun('order', { input: { customer: 'ada' } });
    await runtime.waitForRun(old.runId, { horizonMs: 0 });
    registry.register(edited(order, (s) => (s.open.on['order.cancelled'] = 'expired')));
    const fresh = await runtime.startRun('order', { input: { customer: 'bo' } });
    expect(fresh.version).not.toBe(old.version);
    for (const id of [old.runId, fresh.runId]) {
      await runtime.send(id, { type: 'item.added', sku: 'A', qty: 1 });
      await runtime.send(id, { type: 'order.placed' });
      await runtime.waitForRun(id, { horizonMs: 0 });
      await runtime.send(id, { type: 'order.shipped', carrier: 'post' });
      expect(await runtime.waitForRun(id)).toMatchObject({ status: 'done' });
    }
    expect(new Set((await store.history(old.runId)).map((h) => h.version))).toEqual(new Set([old.version]));
    expect(new Set((await store.history(fresh.runId)).map((h) => h.version))).toEqual(new Set([fresh.version]));
  });

  it('moves an actor whose state exists in the new version, as one step, and it continues there', async () => {
    const { order, registry, runtime, store } = await setup();
    const { runId, version: v1 } = await runtime.startRun('order', { input: { customer: 'ada' } });
    await runtime.send(runId, { type: 'item.added', sku: 'A', qty: 1 });
    await runtime.waitForRun(runId, { horizonMs: 0 }); // the host now holds the actor, on v1, in memory
    const v2 = edited(order, (s) => (s.open.on['order.shipped'] = 'shipped'));
    registry.register(v2);

    const result = await moveActorToVersion(runId, { store, registry, who: 'ana' });
    expect(result).toEqual({ actorId: runId, machine: 'order', from: v1, to: versionOf(v2.config), state: 'open', moved: true });
    const actor = (await store.getActor(runId))!;
    expect(actor).toMatchObject({ version: versionOf(v2.config), seq: 3, stateValue: '"open"' });
    const moveStep = (await store.history(runId)).at(-1)!;
    expect(moveStep).toMatchObject({ eventType: 'spine.version.moved', version: versionOf(v2.config), stateValue: '"open"' });
    expect((await store.listAudit({ runId })).map((a) => [a.kind, a.who])).toContainEqual(['actor.version_moved', 'ana']);

    // Only v2 has `open --order.shipped--> shipped`: the host reloads the moved actor and takes it.
    await runtime.send(runId, { type: 'order.shipped', carrier: 'post' });
    expect(await runtime.waitForRun(runId)).toMatchObject({ status: 'done' });
    expect((await store.history(runId)).at(-1)).toMatchObject({ eventType: 'order.shipped', version: versionOf(v2.config), stateValue: '"shipped"' });
    expect(await moveActorToVersion(runId, { store, registry }).catch((e: SpineError) => e.code)).toBe('actor_not_active');
  });

  it('refuses when the current state does not exist in the new version, naming it, and changes nothing', async () => {
    const { order, registry, runtime, store } = await setup();
    const { runId, version: v1 } = await runtime.startRun('order', { input: { customer: 'ada' } });
    await runtime.waitForRun(runId, { horizonMs: 0 });
    registry.register(
      edited(order, (s, config) => {
        s.cart = s.open;
        delete s.open;
        config.initial = 'cart';
      }),
    );
    const before = (await store.getActor(runId))!;
    const error = (await moveActorToVersion(runId, { store, registry }).catch((e: unknown) => e)) as SpineError;
    expect(error).toBeInstanceOf(SpineError);
    expect(error.code).toBe('incompatible_version');
    expect(error.message).toMatch(/its current state 'open' does not exist in that version\. It stays on order@/);
    expect(await store.getActor(runId)).toEqual(before);
    expect(before.version).toBe(v1);
  });

  it('refuses to move an actor away from an activity it is waiting for', async () => {
    const { log, order, registry, runtime, store } = await setup();
    let release!: () => void;
    log.gate = new Promise<void>((resolve) => (release = resolve));
    const { runId } = await runtime.startRun('order', { input: { customer: 'ada' } });
    await runtime.send(runId, { type: 'item.added', sku: 'A', qty: 1 });
    await runtime.send(runId, { type: 'order.placed' });
    while ((await store.getActor(runId))?.stateValue !== '"charging"') await new Promise((r) => setTimeout(r, 10));
    registry.register(edited(order, (s) => (s.charging.invoke.id = 'payment')));
    await expect(moveActorToVersion(runId, { store, registry })).rejects.toThrow(/in state 'charging' it is waiting for 'charge' \(charge\), which that version no longer invokes there/);
    release();
  });

  it('reads every state path of a state value, parallel regions included', () => {
    expect(activePaths('a')).toEqual([['a']]);
    expect(activePaths({ a: { b: 'c' }, d: 'e' })).toEqual([['a'], ['a', 'b'], ['a', 'b', 'c'], ['d'], ['d', 'e']]);
  });
});
