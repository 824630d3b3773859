import type { AnyActorRef, EventObject } from 'xstate';
import { getDurableSend, type DurableTarget } from './defineMachine.js';
import type { NewEvent, NewJob } from './Store.js';

/** An executable action as `transition()` returns it. */
export interface ExecutableAction {
  type: string;
  info: { context: unknown; event: EventObject; self?: unknown };
  params: any;
  exec?: ((...args: any[]) => unknown) | undefined;
}

/** Everything a step causes, before durable ids and validation are resolved. */
export interface StepPlan {
  /** Activities to run after commit, keyed `actorId:seq:index`. */
  jobs: (Omit<NewJob, 'runAt' | 'runId'> & { inputValue: unknown; context: unknown; event: EventObject })[];
  /** Durable child machines to create. */
  spawns: { childKey: string; machine: string; input: unknown; index: number }[];
  /** Sends to other actors (durable addressing resolved later). */
  sends: { to: DurableTarget | { child: string } | { self: true }; event: EventObject; delay: number | undefined; sendId: string | null }[];
  /** Delayed events to this actor. */
  timers: Omit<NewEvent, 'actorId' | 'source'>[];
  cancelTimers: string[];
  /** Invoke ids whose activity or child actor is stopped. */
  stopChildren: string[];
  emitted: EventObject[];
  /** Custom actions with code, run after commit (best effort, never durable effects). */
  effects: ExecutableAction[];
}

/**
 * Sorts the actions returned by XState's pure `transition()` into what the step
 * must write: jobs, children, messages, timers, cancellations and emitted events.
 * Nothing here touches the world.
 */
export function planStep(
  actions: readonly ExecutableAction[],
  options: { actorId: string; seq: number; now: number; isActivity: (src: string) => boolean; isMachine: (src: string) => boolean },
): StepPlan {
  const plan: StepPlan = { jobs: [], spawns: [], sends: [], timers: [], cancelTimers: [], stopChildren: [], emitted: [], effects: [] };
  actions.forEach((action, index) => {
    const key = `${options.actorId}:${options.seq}:${index}`;
    switch (action.type) {
      case 'xstate.spawnChild': {
        const { id, src, input } = action.params as { id: string; src: unknown; input: unknown };
        if (typeof src !== 'string') throw new Error(`Invoked actor '${id}' must name its src (an activity or machine), not inline logic.`);
        if (options.isActivity(src)) {
          plan.jobs.push({ key, actorId: options.actorId, childId: id, src, input: '', inputValue: input, context: action.info.context, event: action.info.event });
        } else if (options.isMachine(src)) {
          plan.spawns.push({ childKey: id, machine: src, input, index });
        } else {
          throw new Error(`Invoked src '${src}' is neither a registered activity nor a machine.`);
        }
        return;
      }
      case 'xstate.stopChild': {
        const ref = action.params as AnyActorRef | undefined;
        if (ref?.id) plan.stopChildren.push(ref.id);
        return;
      }
      case 'xstate.raise': {
        const { event, delay, id } = action.params as { event: EventObject; delay?: number; id?: string };
        if (typeof delay === 'number') {
          plan.timers.push({ type: event.type, event: JSON.stringify(event), dueAt: options.now + delay, sendId: id ?? key });
        }
        return;
      }
      case 'xstate.sendTo': {
        const { to, event, delay, id } = action.params as { to: AnyActorRef | string; event: EventObject; delay?: number; id?: string };
        const self = action.info.self;
        const target = to === self || to === undefined ? { self: true as const } : { child: typeof to === 'string' ? to : to.id };
        plan.sends.push({ to: target, event, delay, sendId: id ?? (delay === undefined ? null : key) });
        return;
      }
      case 'xstate.cancel': {
        plan.cancelTimers.push(String((action.params as { sendId: string }).sendId));
        return;
      }
      case 'xstate.emit': {
        plan.emitted.push((action.params as { event: EventObject }).event);
        return;
      }
      default: {
        const durable = getDurableSend(action.exec);
        if (durable) {
          const args = { context: action.info.context, event: action.info.event };
          const to = typeof durable.to === 'function' ? durable.to(args) : durable.to;
          const event = typeof durable.event === 'function' ? durable.event(args) : durable.event;
          plan.sends.push({ to, event, delay: durable.delay, sendId: durable.delay === undefined ? null : key });
          return;
        }
        if (action.type.startsWith('xstate.')) return; // log and other built-ins with no durable meaning
        if (typeof action.exec === 'function') plan.effects.push(action);
      }
    }
  });
  return plan;
}
