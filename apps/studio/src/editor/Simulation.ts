import { machineNames } from '@spine/server/export';
import { fromPromise, initialTransition, setup, transition, type AnyMachineSnapshot, type AnyStateMachine } from 'xstate';

/** One step of a simulation: the event, the state and context after it, and the actions the machine would take. */
export interface SimulatedStep {
  event: { type: string; [key: string]: unknown };
  value: unknown;
  context: unknown;
  status: string;
  /** What the machine would do, in words (`saveDraft`, `start actor draft as model`), none of it done. */
  actions: string[];
  /** Events the machine accepts in this state. */
  next: string[];
}

/**
 * Steps a machine through events with xstate's pure `initialTransition` / `transition`: no run,
 * no store, no effect. Actions, actors and delays are stubs that only name themselves, so the
 * simulation shows the actions a step would take without taking them; guards answer from
 * `guards` (default true), which the person toggles.
 */
export class Simulation {
  readonly machine: AnyStateMachine;
  readonly names: ReturnType<typeof machineNames>;
  readonly guards: Record<string, boolean> = {};
  #snapshot: AnyMachineSnapshot;
  readonly steps: SimulatedStep[] = [];

  constructor(config: unknown, options: { context?: Record<string, unknown>; input?: unknown } = {}) {
    this.names = machineNames(config);
    const guards = this.guards;
    for (const g of this.names.guards) guards[g] = true;
    const base = setup({
      actions: Object.fromEntries(this.names.actions.map((a) => [a, () => {}])),
      guards: Object.fromEntries(this.names.guards.map((g) => [g, () => guards[g] !== false])),
      actors: Object.fromEntries(this.names.actors.map((a) => [a, fromPromise(async () => undefined)])),
      delays: Object.fromEntries(this.names.delays.map((d) => [d, 1000])),
    });
    const withContext = { ...(config as Record<string, unknown>), context: options.context ?? (config as { context?: unknown }).context ?? {} };
    this.machine = base.createMachine(withContext as never) as unknown as AnyStateMachine;
    const [snapshot, actions] = initialTransition(this.machine, options.input);
    this.#snapshot = snapshot;
    this.steps.push(this.#record({ type: 'xstate.init' }, actions));
  }

  /** The latest step. */
  get current(): SimulatedStep {
    return this.steps[this.steps.length - 1]!;
  }

  /** Sends one event; the machine's state, context and would-be actions are the next step. */
  send(event: { type: string; [key: string]: unknown }): SimulatedStep {
    const [next, actions] = transition(this.machine, this.#snapshot, event);
    this.#snapshot = next;
    const step = this.#record(event, actions);
    this.steps.push(step);
    return step;
  }

  #record(event: SimulatedStep['event'], actions: { type: string; params?: unknown }[]): SimulatedStep {
    const s = this.#snapshot;
    const next = [...new Set(s._nodes.flatMap((n) => n.ownEvents))].filter((e) => !e.startsWith('xstate.init'));
    return { event, value: s.value, context: s.context, status: s.status, actions: actions.map(describeAction), next };
  }
}

function describeAction(action: { type: string; params?: unknown }): string {
  const params = (action.params ?? {}) as { src?: unknown; id?: unknown; event?: { type?: unknown }; to?: unknown; actorRef?: { id?: unknown } };
  if (action.type === 'xstate.spawnChild') return `start actor ${String(params.src ?? '?')}${params.id ? ` as ${String(params.id)}` : ''}`;
  if (action.type === 'xstate.stopChild') return `stop actor ${String(params.actorRef?.id ?? params.id ?? '?')}`;
  if (action.type === 'xstate.raise') return `raise ${String(params.event?.type ?? 'an event')}`;
  if (action.type === 'xstate.sendTo') return `send ${String(params.event?.type ?? 'an event')}`;
  if (action.type === 'xstate.cancel') return 'cancel a delayed event';
  return action.type;
}
