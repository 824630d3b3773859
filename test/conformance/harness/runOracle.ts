import { createActor, type AnyActorRef, type AnyMachineSnapshot } from 'xstate';
import type { CaseInput, ConformanceCase } from './MachineSpec.js';
import { toXStateMachine } from './MachineSpec.js';
import type { Observation } from './observe.js';

/** A clock xstate schedules delays on; time moves only with `advance`, as Spine's SimulatedClock. */
export class OracleClock {
  #now = 0;
  #seq = 0;
  readonly #timers = new Map<number, { at: number; order: number; fn: () => void }>();

  setTimeout(fn: () => void, ms: number): number {
    const id = ++this.#seq;
    this.#timers.set(id, { at: this.#now + ms, order: id, fn });
    return id;
  }

  clearTimeout(id: number): void {
    this.#timers.delete(id);
  }

  /** Milliseconds to the next pending timer. */
  nextIn(): number | null {
    let next = Infinity;
    for (const t of this.#timers.values()) next = Math.min(next, t.at);
    return next === Infinity ? null : next - this.#now;
  }

  /** Moves time forward, firing due timers in due order (and those they schedule that are due too). */
  advance(ms: number): void {
    const until = this.#now + ms;
    for (;;) {
      let due: [number, { at: number; order: number; fn: () => void }] | undefined;
      for (const entry of this.#timers) {
        if (entry[1].at > until) continue;
        if (!due || entry[1].at < due[1].at || (entry[1].at === due[1].at && entry[1].order < due[1].order)) due = entry;
      }
      if (!due) break;
      this.#timers.delete(due[0]);
      this.#now = Math.max(this.#now, due[1].at);
      due[1].fn();
    }
    this.#now = until;
  }
}

/** What the oracle did: the inputs it was driven with (timers drained included) and what it showed after each. */
export interface OracleRun {
  inputs: CaseInput[];
  observations: Observation[];
}

async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** Runs a case in memory with xstate's `createActor`: the oracle. */
export async function runOracle(testCase: ConformanceCase): Promise<OracleRun> {
  const clock = new OracleClock();
  const starts: string[] = [];
  const machine = toXStateMachine(testCase.spec, starts);
  const emitted: unknown[] = [];
  const actor = createActor(machine, { clock, input: testCase.input, logger: () => {} } as any);
  actor.on('*', (event) => void emitted.push(event));
  actor.subscribe({ error: () => {} });
  const observations: Observation[] = [];
  const observe = () => observations.push(observeActor(actor, emitted, clock, starts));
  actor.start();
  await settle();
  observe();
  const inputs: CaseInput[] = [];
  const apply = async (input: CaseInput) => {
    inputs.push(input);
    // xstate ignores (and warns about) an event sent to a finished actor; the input is still recorded for the durable side.
    if (input.kind === 'event') {
      if (actor.getSnapshot().status === 'active') actor.send(input.event);
    }
    else clock.advance(input.ms);
    await settle();
    observe();
  };
  for (const input of testCase.inputs) {
    if (input.kind === 'advance') {
      // Time moves to each timer's due time in turn, so both hosts process every timer at the same clock.
      let remaining = input.ms;
      for (let next = clock.nextIn(); next !== null && next < remaining; next = clock.nextIn()) {
        await apply({ kind: 'advance', ms: next });
        remaining -= next;
      }
      await apply({ kind: 'advance', ms: remaining });
    } else await apply(input);
  }
  for (let i = 0; i < (testCase.drainTimers ?? 0); i++) {
    const next = clock.nextIn();
    if (next === null || actor.getSnapshot().status !== 'active') break;
    await apply({ kind: 'advance', ms: next });
  }
  actor.stop();
  return { inputs, observations };
}

function observeActor(actor: AnyActorRef, emitted: unknown[], clock: OracleClock, starts: string[]): Observation {
  const snapshot = actor.getSnapshot() as AnyMachineSnapshot;
  const children: Observation['children'] = {};
  for (const [key, child] of Object.entries(snapshot.children ?? {})) {
    const s = (child as AnyActorRef).getSnapshot() as { status: string; value?: unknown; machine?: unknown };
    children[key] = s.machine ? { status: s.status, value: s.value } : { status: s.status };
  }
  return {
    value: snapshot.value,
    status: snapshot.status,
    context: snapshot.context,
    output: snapshot.output,
    children,
    emitted: [...emitted],
    nextTimerIn: snapshot.status === 'active' ? clock.nextIn() : null,
    started: [...starts],
    ...(snapshot.status === 'error' ? { error: String((snapshot.error as Error)?.message ?? snapshot.error) } : {}),
  };
}
