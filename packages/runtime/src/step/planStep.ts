import type { AnyActorRef, EventObject } from 'xstate';
import { getDurableSend, type DurableTarget } from '../defineMachine.js';
import type { NewEvent, NewJob } from '../Store.js';
import { DURABLE_PARENT } from '../xstateLogic.js';
import { jobKey } from './jobKey.js';

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
 * Actions are taken in xstate's order, as its interpreter would run them: a child
 * spawned and stopped in the same step is never started, a `cancel` removes only
 * the delayed sends planned before it (a timer re-armed after it is kept), and a
 * send without a delay is never cancellable. Nothing here touches the world.
 */
export function planStep(
  actions: readonly ExecutableAction[],
  options: { actorId: string; seq: number; now: number; isActivity: (src: string) => boolean; childMachine: (src: string) => string | undefined },
): StepPlan {
  const plan: StepPlan = { jobs: [], spawns: [], sends: [], timers: [], cancelTimers: [], stopChildren: [], emitted: [], effects: [] };
  // The children this step itself spawned, by their actor ref: a stop of one of them un-plans it.
  const planned = new Map<unknown, { job?: StepPlan['jobs'][number]; spawn?: StepPlan['spawns'][number] }>();
  actions.forEach((action, index) => {
    const key = jobKey(options.actorId, options.seq, index);
    switch (action.type) {
      case 'xstate.spawnChild': {
        const { id, src, input, actorRef } = action.params as { id: string; src: unknown; input: unknown; actorRef?: unknown };
        if (typeof src !== 'string') throw new Error(`Child '${id}' is spawned from inline logic, which cannot be persisted: name it in setup({ actors }) or invoke it.`);
        if (options.isActivity(src)) {
          const job = { key, actorId: options.actorId, childId: id, src, input: '', inputValue: input, context: action.info.context, event: action.info.event };
          plan.jobs.push(job);
          planned.set(actorRef ?? job, { job });
          return;
        }
        const machine = options.childMachine(src);
        if (machine === undefined) throw new Error(`Invoked src '${src}' is neither a registered activity nor a machine.`);
        const spawn = { childKey: id, machine, input, index };
        plan.spawns.push(spawn);
        planned.set(actorRef ?? spawn, { spawn });
        return;
      }
      case 'xstate.stopChild': {
        const ref = action.params as AnyActorRef | undefined;
        const own = ref ? planned.get(ref) : undefined;
        if (own) {
          // Spawned and stopped within this step: xstate never starts it.
          if (own.job) plan.jobs.splice(plan.jobs.indexOf(own.job), 1);
          if (own.spawn) plan.spawns.splice(plan.spawns.indexOf(own.spawn), 1);
          planned.delete(ref);
          return;
        }
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
        const target =
          to === DURABLE_PARENT
            ? { parent: true as const }
            : to === self || to === undefined
              ? { self: true as const }
              : { child: typeof to === 'string' ? to : to.id };
        const delayed = typeof delay === 'number';
        plan.sends.push({ to: target, event, delay: delayed ? delay : undefined, sendId: delayed ? (id ?? key) : null });
        return;
      }
      case 'xstate.cancel': {
        const sendId = String((action.params as { sendId: string }).sendId);
        // Delayed sends planned earlier in this step are dropped here; ones planned after it stay.
        plan.timers = plan.timers.filter((timer) => timer.sendId !== sendId);
        plan.sends = plan.sends.filter((send) => send.sendId !== sendId);
        if (!plan.cancelTimers.includes(sendId)) plan.cancelTimers.push(sendId);
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
