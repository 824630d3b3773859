/**
 * Machines from statelyai/xstate's own unit tests (packages/core/test/*.test.ts, MIT, see
 * LICENSE-xstate beside this file), rewritten in the form both hosts take: a JSON
 * structure whose actions, guards, delays and actors are named in `setup()`-style
 * implementations. Each case names the test it comes from. Entry/exit order is made
 * observable by a `log` context array; everything else is compared as xstate shows it.
 */
import { TerminalError, type Activity } from '@spine/runtime';
import { and, assign, cancel, emit, enqueueActions, fromCallback, not, or, raise, sendParent, sendTo, spawnChild, stateIn, stopChild, type EventObject } from 'xstate';
import type { CaseInput, ConformanceCase, MachineSpec } from '../harness/MachineSpec.js';

type Ctx = { log: string[] } & Record<string, any>;
type Ev = EventObject & Record<string, any>;

const ev = (type: string, payload: Record<string, unknown> = {}): CaseInput => ({ kind: 'event', event: { type, ...payload } });
const wait = (ms: number): CaseInput => ({ kind: 'advance', ms });

/** `{ type: 'log', params: { msg } }`: appends to `context.log`. */
const log = (msg: string) => ({ type: 'log', params: { msg } });
const common = {
  log: assign(({ context }: { context: Ctx }, params: { msg: string }) => ({ log: [...context.log, params.msg] })),
  inc: assign(({ context }: { context: Ctx }) => ({ count: (context.count ?? 0) + 1 })),
};

const activities: Record<string, Activity> = {
  double: { run: async (input: { n: number }) => input.n * 2 },
  echo: { run: async (input: unknown) => input },
  fail: {
    run: async () => {
      throw new TerminalError('the activity failed');
    },
  },
  failString: {
    run: async () => {
      throw 'boom';
    },
  },
  fromContext: { mapInput: ({ context }) => ({ n: context.n }), run: async (input: { n: number }) => input.n + 1 },
};

interface Def {
  config: Record<string, unknown>;
  actions?: Record<string, unknown>;
  guards?: Record<string, unknown>;
  delays?: MachineSpec['delays'];
  activities?: string[];
  output?: MachineSpec['output'];
  children?: MachineSpec[];
}

const cases: ConformanceCase[] = [];

function machine(name: string, def: Def): MachineSpec {
  const spec: MachineSpec = {
    name: name.replace(/[^\w-]/g, '_'),
    config: { context: { log: [] }, ...def.config },
    actions: { ...common, ...def.actions },
    guards: def.guards ?? {},
    delays: def.delays ?? {},
    activities: Object.fromEntries((def.activities ?? Object.keys(activities)).map((a) => [a, activities[a]!])),
  };
  if (def.output) spec.output = def.output;
  if (def.children) spec.children = def.children;
  return spec;
}

function add(file: string, test: string, def: Def, inputs: CaseInput[], extra: Partial<ConformanceCase> = {}): void {
  const name = `xstate/${file}/${test}`;
  cases.push({ name, source: `statelyai/xstate packages/core/test/${file}.test.ts: "${test}"`, spec: machine(name, def), inputs, drainTimers: 5, ...extra });
}

const child = (name: string, def: Def) => machine(`child_${name}`, def);

// ---- after ----------------------------------------------------------------------------
add('after', 'should transition after delay', {
  config: { initial: 'green', states: { green: { after: { 1000: 'yellow' } }, yellow: { after: { 1000: 'red' } }, red: {} } },
}, [wait(500), wait(600), wait(1000)]);
add('after', 'should be able to transition with delay from nested initial state', {
  config: { initial: 'nested', states: { nested: { initial: 'wait', states: { wait: { after: { 10: '#end' } } } }, end: { id: 'end', type: 'final' } } },
}, [wait(10)]);
add('after', 'should not try to clear an undefined timeout when exiting source state of a delayed transition', {
  config: { initial: 'a', states: { a: { after: { 1000: 'b' }, on: { X: 'c' } }, b: {}, c: {} } },
}, [ev('X'), wait(1000)]);
add('after', 'parent state should enter child state without re-entering self (relative target)', {
  config: {
    initial: 'one',
    states: {
      one: {
        initial: 'two',
        entry: log('enter one'),
        states: { two: { entry: log('enter two') }, three: { entry: log('enter three') } },
        after: { 10: '.three' },
      },
    },
  },
}, [wait(10)]);
add('after', 'should defer a single send event for a delayed conditional transition (#886)', {
  config: {
    context: { log: [], ok: false },
    initial: 'X',
    states: { X: { after: { 1: [{ target: 'Y', guard: 'ok' }, { target: 'Z' }] } }, Y: {}, Z: {} },
  },
  guards: { ok: ({ context }: { context: Ctx }) => context.ok },
}, [wait(1)]);
add('after', 'should evaluate the expression (function) to determine the delay', {
  config: { context: { log: [], delay: 500 }, initial: 'inactive', states: { inactive: { after: { myDelay: 'active' } }, active: {} } },
  delays: { myDelay: ({ context }: { context: Ctx }) => context.delay },
}, [wait(300), wait(300)]);
add('after', 'an after loop through an always transition keeps its timer (issue 9)', {
  config: {
    context: { log: [], count: 0 },
    initial: 'waiting',
    states: {
      waiting: { after: { 500: 'checking' } },
      checking: { entry: 'inc', always: [{ guard: 'enough', target: 'done' }, { target: 'waiting' }] },
      done: { type: 'final' },
    },
  },
  guards: { enough: ({ context }: { context: Ctx }) => context.count >= 3 },
}, []);
add('after', 'a reentering self-transition restarts its own delay', {
  config: { context: { log: [], count: 0 }, initial: 'a', states: { a: { entry: 'inc', after: { 100: { target: 'a', reenter: true } }, on: { STOP: 'b' } }, b: {} } },
}, [wait(100), wait(100), ev('STOP'), wait(100)]);
add('after', 'delays in parallel regions run independently', {
  config: {
    type: 'parallel',
    states: {
      r1: { initial: 'a', states: { a: { after: { 100: 'b' } }, b: {} } },
      r2: { initial: 'a', states: { a: { after: { 250: 'b' } }, b: { after: { 100: 'c' } }, c: {} } },
    },
  },
}, []);

// ---- delayed raise / sendTo / cancel ------------------------------------------------------
add('actions', 'a delayed raise can be cancelled by id', {
  config: { initial: 'a', states: { a: { entry: 'tickLater', on: { tick: 'ticked', CANCEL: { actions: 'stopTick' } } }, ticked: {} } },
  actions: { tickLater: raise({ type: 'tick' }, { delay: 500, id: 't' }), stopTick: cancel('t') },
}, [ev('CANCEL'), wait(600)]);
add('actions', 'a delayed raise that is not cancelled arrives', {
  config: { initial: 'a', states: { a: { entry: 'tickLater', on: { tick: 'ticked' } }, ticked: {} } },
  actions: { tickLater: raise({ type: 'tick' }, { delay: 500, id: 't' }) },
}, [wait(600)]);
add('actions', 'a non-delayed sendTo with an id followed by cancel of that id is still delivered (issue 9)', {
  config: { initial: 'a', states: { a: { entry: ['ping', 'cancelPing'], on: { PING: 'pinged' } }, pinged: {} } },
  actions: { ping: sendTo(({ self }) => self, { type: 'PING' }, { id: 'p' }), cancelPing: cancel('p') },
}, []);
add('actions', 'a delayed sendTo self arrives after its delay', {
  config: { initial: 'a', states: { a: { entry: 'later', on: { PING: 'pinged' } }, pinged: {} } },
  actions: { later: sendTo(({ self }) => self, { type: 'PING' }, { delay: 200 }) },
}, [wait(100), wait(100)]);
add('actions', 'leaving a state cancels a delayed event it scheduled with an id', {
  config: { initial: 'a', states: { a: { entry: 'later', exit: 'cancelLater', on: { GO: 'b' } }, b: { on: { PING: 'pinged' } }, pinged: {} } },
  actions: { later: raise({ type: 'PING' }, { delay: 200, id: 'later' }), cancelLater: cancel('later') },
}, [ev('GO'), wait(300)]);

// ---- always (transient.test.ts) ------------------------------------------------------------
const transientGuards = {
  isOne: ({ context }: { context: Ctx }) => context.n === 1,
  isTwo: ({ context }: { context: Ctx }) => context.n === 2,
};
for (const n of [1, 2, 3]) {
  add('transient', `should choose the first candidate target that matches the guard (n=${n})`, {
    config: {
      context: { log: [], n },
      initial: 'G',
      states: { G: { always: [{ target: 'one', guard: 'isOne' }, { target: 'two', guard: 'isTwo' }, { target: 'other' }] }, one: {}, two: {}, other: {} },
    },
    guards: transientGuards,
  }, []);
}
add('transient', 'should carry actions from previous transitions within same step', {
  config: { initial: 'A', states: { A: { exit: log('exit A'), on: { TIMER: { target: 'T', actions: log('timer') } } }, T: { always: 'B' }, B: { entry: log('enter B') } } },
}, [ev('TIMER')]);
add('transient', 'should execute all internal events one after the other', {
  config: {
    type: 'parallel',
    states: {
      A: { initial: 'A1', states: { A1: { on: { E: 'A2' } }, A2: { entry: 'raiseINT1' } } },
      B: { initial: 'B1', states: { B1: { on: { E: 'B2' } }, B2: { entry: 'raiseINT2' } } },
      C: { initial: 'C1', states: { C1: { on: { INT1: 'C2', INT2: 'C3' } }, C2: { on: { INT2: 'C4' } }, C3: { on: { INT1: 'C4' } }, C4: {} } },
    },
  },
  actions: { raiseINT1: raise({ type: 'INT1' }), raiseINT2: raise({ type: 'INT2' }) },
}, [ev('E')]);
add('transient', 'should check for automatic transitions even after microsteps are done', {
  config: {
    type: 'parallel',
    states: {
      A: { initial: 'A1', states: { A1: { on: { A: 'A2' } }, A2: {} } },
      B: { initial: 'B1', states: { B1: { always: { target: 'B2', guard: 'inA2' } }, B2: {} } },
      C: { initial: 'C1', states: { C1: { always: { target: 'C2', guard: 'inA2' } }, C2: {} } },
    },
  },
  guards: { inA2: stateIn({ A: 'A2' }) },
}, [ev('A')]);
add('transient', 'should select eventless transition before processing raised events', {
  config: { initial: 'a', states: { a: { on: { FOO: 'b' } }, b: { entry: 'raiseBAR', always: 'c', on: { BAR: 'd' } }, c: { on: { BAR: 'e' } }, d: {}, e: {} } },
  actions: { raiseBAR: raise({ type: 'BAR' }) },
}, [ev('FOO')]);
add('transient', 'should work with transient transition on root', {
  config: { context: { log: [], count: 0 }, initial: 'first', states: { first: { on: { ADD: { actions: 'inc' } } }, success: { type: 'final' } }, always: [{ target: '.success', guard: 'over' }] },
  guards: { over: ({ context }: { context: Ctx }) => context.count > 0 },
}, [ev('ADD')]);
add('transient', 'events that trigger eventless transitions should be preserved in guards', {
  config: { initial: 'a', states: { a: { on: { EVENT: 'b' } }, b: { always: [{ target: 'c', guard: 'isEvent' }, { target: 'fail' }] }, c: {}, fail: {} } },
  guards: { isEvent: ({ event }: { event: Ev }) => event.type === 'EVENT' && event.value === 42 },
}, [ev('EVENT', { value: 42 })]);
add('transient', 'should loop (but not infinitely) for assign actions', {
  config: { context: { log: [], count: 0 }, initial: 'counting', states: { counting: { always: { guard: 'under5', actions: 'inc' } } } },
  guards: { under5: ({ context }: { context: Ctx }) => context.count < 5 },
}, []);

// ---- raise / order --------------------------------------------------------------------------
add('actions', 'raised events are processed in the order they were raised', {
  config: { initial: 's0', states: { s0: { entry: ['raiseFoo', 'raiseBar'], on: { foo: 's1', '*': 'fail' } }, s1: { on: { bar: 'pass', '*': 'fail' } }, pass: { type: 'final' }, fail: { type: 'final' } } },
  actions: { raiseFoo: raise({ type: 'foo' }), raiseBar: raise({ type: 'bar' }) },
}, []);
add('predictableExec', 'should call raised transition builtin actions with raised event', {
  config: { initial: 'a', states: { a: { on: { NEXT: { target: 'b', actions: 'raiseRaised' } } }, b: { on: { RAISED: { target: 'c', actions: 'saveValue' } } }, c: {} } },
  actions: { raiseRaised: raise({ type: 'RAISED', value: 7 } as Ev), saveValue: assign(({ event }: { event: Ev }) => ({ value: event.value })) },
}, [ev('NEXT')]);
add('predictableExec', 'should correctly provide intermediate context value to a custom action executed in between assign actions', {
  config: { context: { log: [], value: 0 }, initial: 'a', states: { a: { entry: ['one', 'logValue', 'two', 'logValue'] } } },
  actions: {
    one: assign({ value: 1 }),
    two: assign({ value: 2 }),
    logValue: assign(({ context }: { context: Ctx }) => ({ log: [...context.log, `value ${context.value}`] })),
  },
}, []);
add('actions', 'a raise in an exit action is processed after the transition', {
  config: { initial: 'a', states: { a: { exit: 'raiseLeft', on: { GO: 'b' } }, b: { on: { LEFT: 'c' } }, c: {} } },
  actions: { raiseLeft: raise({ type: 'LEFT' }) },
}, [ev('GO')]);

// ---- guards ----------------------------------------------------------------------------------
add('guards', 'should transition only if condition is met', {
  config: { context: { log: [], elapsed: 0 }, initial: 'green', states: { green: { on: { TIMER: [{ target: 'green', guard: 'short' }, { target: 'yellow', guard: 'mid' }], SET: { actions: 'setElapsed' } } }, yellow: {} } },
  guards: { short: ({ context }: { context: Ctx }) => context.elapsed < 100, mid: ({ context }: { context: Ctx }) => context.elapsed >= 100 && context.elapsed < 200 },
  actions: { setElapsed: assign(({ event }: { event: Ev }) => ({ elapsed: event.elapsed })) },
}, [ev('TIMER'), ev('SET', { elapsed: 150 }), ev('TIMER')]);
add('guards', 'should provide the guard with resolved params when they are dynamic', {
  config: { context: { log: [], limit: 5 }, initial: 'a', states: { a: { on: { TRY: [{ target: 'big', guard: { type: 'over', params: { n: 5 } } }, { target: 'small' }] } }, big: {}, small: {} } },
  guards: { over: ({ event }: { event: Ev }, params: { n: number }) => event.value > params.n },
}, [ev('TRY', { value: 7 })]);
add('guards', 'should guard with nested built-in guards', {
  config: { context: { log: [], a: true, b: false }, initial: 'x', states: { x: { on: { GO: [{ target: 'both', guard: 'both' }, { target: 'either', guard: 'either' }, { target: 'none' }] } }, both: {}, either: {}, none: {} } },
  guards: { a: ({ context }: { context: Ctx }) => context.a, b: ({ context }: { context: Ctx }) => context.b, both: and(['a', 'b']), either: or([not('a'), 'b', 'a']) },
}, [ev('GO')]);
add('guards', 'should check guards with interim states', {
  config: {
    initial: 'gas',
    states: {
      gas: { type: 'parallel', states: { a: { initial: 'a1', states: { a1: { on: { EVENT: 'a2' } }, a2: { id: 'gasA2', on: { EVENT: 'a3' } }, a3: {} } }, b: { initial: 'b1', states: { b1: { on: { EVENT: { target: 'b2', guard: 'inA2' } } }, b2: {} } } } },
    },
  },
  guards: { inA2: stateIn('#gasA2') },
}, [ev('EVENT'), ev('EVENT')]);
add('errors', 'should error when a guard throws when transitioning', {
  config: { initial: 'a', states: { a: { on: { NEXT: { target: 'b', guard: 'throws' } } }, b: {} } },
  guards: {
    throws: () => {
      throw new Error('guard failed');
    },
  },
}, [ev('NEXT')]);

// ---- history -------------------------------------------------------------------------------------
const power = (history: 'shallow' | 'deep' | undefined) => ({
  initial: 'on',
  states: {
    on: {
      initial: 'first',
      states: { first: { on: { SWITCH: 'second' } }, second: { initial: 'x', states: { x: { on: { DEEP: 'y' } }, y: {} } }, hist: history ? { type: 'history', history } : { type: 'history' } },
      on: { POWER: 'off' },
    },
    off: { on: { POWER: 'on.hist' } },
  },
});
add('history', 'should go to the most recently visited state (explicit shallow history type)', { config: power('shallow') }, [ev('SWITCH'), ev('POWER'), ev('POWER')]);
add('history', 'should go to the most recently visited state (no explicit history type)', { config: power(undefined) }, [ev('SWITCH'), ev('DEEP'), ev('POWER'), ev('POWER')]);
add('history', 'should go to the deep history (explicit)', { config: power('deep') }, [ev('SWITCH'), ev('DEEP'), ev('POWER'), ev('POWER')]);
add('history', 'should go to the initial state when no history present', {
  config: { initial: 'off', states: { off: { on: { POWER: 'on.hist' } }, on: { initial: 'first', states: { first: {}, second: {}, hist: { type: 'history' } } } } },
}, [ev('POWER')]);
add('history', 'should go to the configured default target when a history state is the initial state of the machine', {
  config: { initial: 'foo', states: { foo: { type: 'history', target: 'bar' }, bar: {} } },
}, []);
add('history', 'should execute entry actions of a parent of the targeted history state when its parent state was already visited', {
  config: { initial: 'a', states: { a: { on: { NEXT: 'b.hist' } }, b: { entry: log('enter b'), exit: log('exit b'), initial: 'b1', states: { b1: { on: { B2: 'b2' } }, b2: {}, hist: { type: 'history' } }, on: { BACK: 'a' } } } },
}, [ev('NEXT'), ev('B2'), ev('BACK'), ev('NEXT')]);
add('history', 'should re-enter each regions of parallel state correctly', {
  config: {
    initial: 'inactive',
    states: {
      inactive: { on: { enter_parallel: 'par.hist' } },
      par: {
        type: 'parallel',
        on: { exit_parallel: 'inactive' },
        states: {
          hist: { type: 'history', history: 'deep' },
          A: { initial: 'a1', states: { a1: { on: { go_a2: 'a2' } }, a2: {} } },
          B: { initial: 'b1', states: { b1: { on: { go_b2: 'b2' } }, b2: {} } },
        },
      },
    },
  },
}, [ev('enter_parallel'), ev('go_a2'), ev('exit_parallel'), ev('enter_parallel'), ev('go_b2'), ev('exit_parallel'), ev('enter_parallel')]);
add('history', 'should go to the most recently visited state by a transient transition', {
  config: {
    initial: 'idle',
    states: {
      idle: { id: 'idle', on: { event: 'active' } },
      active: {
        initial: 'first',
        states: { first: { on: { event: 'second' } }, second: { on: { event: '#idle' } }, hist: { type: 'history' } },
      },
      destination: { always: 'active.hist' },
    },
    on: { toDestination: '.destination' },
  },
}, [ev('event'), ev('event'), ev('event'), ev('event'), ev('toDestination')]);

// ---- parallel ---------------------------------------------------------------------------------------
add('parallel', 'should handle simultaneous orthogonal transitions', {
  config: {
    type: 'parallel',
    context: { log: [], value: '' },
    states: {
      editing: { on: { CHANGE: { actions: 'setValue' } } },
      status: { initial: 'unknown', states: { unknown: { on: { CHANGE: 'modified' } }, modified: {} } },
    },
  },
  actions: { setValue: assign(({ event }: { event: Ev }) => ({ value: event.value })) },
}, [ev('CHANGE', { value: 'something' })]);
add('parallel', 'should raise a "xstate.done.state.*" event when all child states reach final state', {
  config: {
    id: 'test',
    initial: 'p',
    states: {
      p: {
        type: 'parallel',
        states: {
          a: { initial: 'idle', states: { idle: { on: { FINISH: 'finished' } }, finished: { type: 'final' } } },
          b: { initial: 'idle', states: { idle: { on: { FINISH: 'finished' } }, finished: { type: 'final' } } },
          c: { initial: 'idle', states: { idle: { on: { FINISH: 'finished' } }, finished: { type: 'final' } } },
        },
        onDone: 'success',
      },
      success: { type: 'final' },
    },
  },
}, [ev('FINISH')]);
add('parallel', 'targetless transition in one of the parallel regions should not enter nor exit any states', {
  config: {
    type: 'parallel',
    states: { first: { entry: log('enter first'), exit: log('exit first'), on: { EV: { actions: log('ev') } } }, second: { entry: log('enter second'), exit: log('exit second') } },
  },
}, [ev('EV')]);
add('parallel', 'should reenter parallel region when a parallel state gets reentered while targeting another region', {
  config: {
    initial: 'ready',
    states: {
      ready: {
        type: 'parallel',
        on: { FOO: { target: '#cameraOff', reenter: true } },
        states: {
          devicesInfo: { entry: log('enter devicesInfo'), exit: log('exit devicesInfo') },
          camera: { initial: 'on', states: { on: {}, off: { id: 'cameraOff', entry: log('enter cameraOff') } } },
        },
      },
    },
  },
}, [ev('FOO')]);
add('parallel', 'regions should be able to transition to orthogonal regions', {
  config: {
    type: 'parallel',
    states: {
      Pages: { initial: 'About', states: { About: { id: 'About' }, Dashboard: { id: 'Dashboard' } } },
      Menu: { initial: 'Closed', states: { Closed: { id: 'Closed', on: { toggle: '#Opened' } }, Opened: { id: 'Opened', on: { toggle: '#Closed', 'go to dashboard': ['#Dashboard', '#Opened'] } } } },
    },
  },
}, [ev('toggle'), ev('go to dashboard')]);
add('parallel', 'should properly transition when raising events for a parallel state', {
  config: {
    type: 'parallel',
    states: {
      OUTER1: {
        initial: 'C',
        states: {
          A: { entry: 'raiseOff', on: { EVENT_OUTER1_B: 'B', EVENT_OUTER1_C: 'C' } },
          B: { entry: 'raiseOn', on: { EVENT_OUTER1_A: 'A', EVENT_OUTER1_C: 'C' } },
          C: { entry: 'raiseClear', on: { EVENT_OUTER1_A: 'A', EVENT_OUTER1_B: 'B' } },
        },
      },
      OUTER2: {
        type: 'parallel',
        states: {
          INNER1: { initial: 'ON', states: { OFF: { on: { TURN_ON: 'ON' } }, ON: { on: { CLEAR: 'OFF' } } } },
          INNER2: { initial: 'OFF', states: { OFF: { on: { TURN_ON: 'ON' } }, ON: { on: { TURN_OFF: 'OFF' } } } },
        },
      },
    },
  },
  actions: { raiseOff: raise({ type: 'TURN_OFF' }), raiseOn: raise({ type: 'TURN_ON' }), raiseClear: raise({ type: 'CLEAR' }) },
}, [ev('EVENT_OUTER1_B'), ev('EVENT_OUTER1_A'), ev('EVENT_OUTER1_C')]);

// ---- final / output ---------------------------------------------------------------------------------
add('final', 'status of a machine with a root state being final should be done', { config: { type: 'final' } }, []);
add('final', 'output of a machine with a root state being final', {
  config: { context: { log: [], count: 3 }, initial: 'a', states: { a: { on: { END: 'end' } }, end: { type: 'final' } } },
  output: ({ context }) => ({ total: context.count * 2 }),
}, [ev('END')]);
add('final', 'should emit the "xstate.done.state.*" event when all nested states are in their final states', {
  config: {
    initial: 'foo',
    states: {
      foo: {
        type: 'parallel',
        states: {
          first: { initial: 'a', states: { a: { on: { NEXT_1: 'b' } }, b: { type: 'final' } } },
          second: { initial: 'a', states: { a: { on: { NEXT_2: 'b' } }, b: { type: 'final' } } },
        },
        onDone: { target: 'bar', actions: log('done') },
      },
      bar: {},
    },
  },
}, [ev('NEXT_1'), ev('NEXT_2')]);
add('final', 'should execute final child state actions first', {
  config: { initial: 'foo', states: { foo: { initial: 'bar', onDone: { actions: log('fooDone') }, states: { bar: { initial: 'baz', onDone: 'barFinal', states: { baz: { type: 'final', entry: log('bazEntered') } } }, barFinal: { type: 'final', entry: log('barFinalEntered') } } } } },
}, []);
add('final', 'state output should be able to use context updated by the entry action of the reached final state', {
  config: {
    context: { log: [], count: 0 },
    initial: 'a',
    states: {
      a: { initial: 'a1', states: { a1: { on: { NEXT: 'a2' } }, a2: { type: 'final', entry: 'inc' } }, onDone: { target: 'b', actions: 'saveDone' } },
      b: {},
    },
  },
  actions: { saveDone: assign(({ event }: { event: Ev }) => ({ doneEvent: event.type })) },
}, [ev('NEXT')]);
add('final', 'machine should not complete when a parallel child of a compound state completes', {
  config: { initial: 'app', states: { app: { type: 'parallel', states: { a: { initial: 'a1', states: { a1: { type: 'final' } } } } } } },
}, []);
add('final', 'should call exit actions in reversed document order when the machines reaches its final state', {
  config: {
    type: 'parallel',
    states: {
      a: { initial: 'a1', states: { a1: { on: { EV: 'a2' } }, a2: { type: 'final' } }, exit: log('exit a') },
      b: { initial: 'b1', states: { b1: { on: { EV: 'b2' } }, b2: { type: 'final' } }, exit: log('exit b') },
    },
    exit: log('exit root'),
  },
}, [ev('EV')]);
add('final', 'a final state reached by an always transition ends the machine with its output', {
  config: { context: { log: [], n: 4 }, initial: 'check', states: { check: { always: [{ guard: 'even', target: 'even' }, { target: 'odd' }] }, even: { type: 'final' }, odd: { type: 'final' } } },
  guards: { even: ({ context }: { context: Ctx }) => context.n % 2 === 0 },
  output: ({ context }) => context.n,
}, []);

// ---- input ------------------------------------------------------------------------------------------------
cases.push({
  name: 'xstate/input/should create a machine with input',
  source: 'statelyai/xstate packages/core/test/input.test.ts: "should create a machine with input"',
  spec: { ...machine('xstate/input/with-input', { config: { initial: 'a', states: { a: { on: { NEXT: 'b' } }, b: { type: 'final' } } }, output: ({ context }) => context.count }), context: (input: { count: number }) => ({ log: [], count: input.count }) },
  input: { count: 42 },
  inputs: [ev('NEXT')],
});

// ---- invoke: promises (activities) ---------------------------------------------------------------------------
add('invoke', 'should be invoked with a promise factory and resolve through onDone', {
  config: { initial: 'pending', states: { pending: { invoke: { id: 'd', src: 'double', input: { n: 21 }, onDone: { target: 'success', actions: 'saveOutput' } } }, success: { type: 'final' } } },
  actions: { saveOutput: assign(({ event }: { event: Ev }) => ({ result: event.output })) },
  output: ({ context }) => context.result,
}, []);
add('invoke', 'should be invoked with a promise factory and reject with ErrorExecution', {
  config: { initial: 'pending', states: { pending: { invoke: { id: 'f', src: 'fail', onError: { target: 'failed', actions: 'saveError' } } }, failed: {} } },
  actions: { saveError: assign(({ event }: { event: Ev }) => ({ message: (event.error as Error)?.message ?? String(event.error) })) },
}, []);
add('invoke', 'a rejected string reaches onError as that string (issue 9)', {
  config: { initial: 'pending', states: { pending: { invoke: { id: 'f', src: 'failString', onError: { target: 'failed', actions: 'saveError' } } }, failed: {} } },
  actions: { saveError: assign(({ event }: { event: Ev }) => ({ error: event.error, isBoom: event.error === 'boom' })) },
}, []);
add('invoke', 'should be invoked with a promise factory and stop on unhandled onError target', {
  config: { initial: 'pending', states: { pending: { invoke: { id: 'f', src: 'fail', onDone: 'done' } }, done: {} } },
}, []);
add('invoke', 'should be invoked with a promise factory and resolve through onDone for compound state nodes', {
  config: {
    initial: 'idle',
    states: {
      idle: { on: { START: 'active' } },
      active: { initial: 'pending', states: { pending: { invoke: { id: 'e', src: 'echo', input: { ok: true }, onDone: 'success' } }, success: { type: 'final' } }, onDone: 'finished' },
      finished: { type: 'final' },
    },
  },
}, [ev('START')]);
add('invoke', 'a state that invokes and is left in the same step never starts its activity (issue 9)', {
  config: { initial: 'a', states: { a: { on: { GO: 'b' } }, b: { invoke: { id: 'd', src: 'double', input: { n: 1 } }, always: 'c' }, c: {} } },
}, [ev('GO')]);
add('invoke', 'a state left through a raised event before its activity starts never starts it (issue 9)', {
  config: { initial: 'b', states: { b: { entry: 'raiseLeave', invoke: { id: 'd', src: 'double', input: { n: 1 } }, on: { LEAVE: 'c' } }, c: {} } },
  actions: { raiseLeave: raise({ type: 'LEAVE' }) },
}, []);
add('invoke', 'an activity builds its input from the invoking context', {
  config: { context: { log: [], n: 10 }, initial: 'a', states: { a: { invoke: { id: 'x', src: 'fromContext', onDone: { target: 'b', actions: 'saveOutput' } } }, b: {} } },
  actions: { saveOutput: assign(({ event }: { event: Ev }) => ({ result: event.output })) },
}, []);
add('invoke', 'should work with invocations defined in orthogonal state nodes', {
  config: {
    type: 'parallel',
    states: {
      a: { initial: 'p', states: { p: { invoke: { id: 'a', src: 'double', input: { n: 1 }, onDone: { target: 'ok', actions: 'saveA' } } }, ok: {} } },
      b: { initial: 'p', states: { p: { invoke: { id: 'b', src: 'double', input: { n: 2 }, onDone: { target: 'ok', actions: 'saveB' } } }, ok: {} } },
    },
  },
  actions: { saveA: assign(({ event }: { event: Ev }) => ({ a: event.output })), saveB: assign(({ event }: { event: Ev }) => ({ b: event.output })) },
}, []);
add('invoke', 'a reentering transition invokes the activity again', {
  config: {
    context: { log: [], count: 0 },
    initial: 'a',
    states: { a: { invoke: { id: 'e', src: 'echo', input: 1, onDone: { actions: 'inc' } }, on: { AGAIN: { target: 'a', reenter: true } } } },
  },
}, [ev('AGAIN'), ev('AGAIN')]);

// ---- invoke: machines ----------------------------------------------------------------------------------------------
const finisher = child('finisher', { config: { initial: 'a', states: { a: { always: 'done' }, done: { type: 'final' } } }, output: () => ({ ok: 1 }) });
add('invoke', 'should transition correctly if child invocation causes it to directly go to final state', {
  config: { initial: 'parent', states: { parent: { invoke: { id: 'c', src: finisher.name, onDone: { target: 'done', actions: 'saveOutput' } } }, done: {} } },
  actions: { saveOutput: assign(({ event }: { event: Ev }) => ({ result: event.output })) },
  children: [finisher],
}, []);
const pinger = child('pinger', { config: { initial: 'waiting', states: { waiting: { on: { PING: { target: 'done' } } }, done: { type: 'final' } } } });
add('invoke', 'should communicate with the child machine (invoke on state)', {
  config: { initial: 'start', states: { start: { invoke: { id: 'c', src: pinger.name, onDone: 'success' }, entry: 'ping' }, success: { type: 'final' } } },
  actions: { ping: sendTo('c', { type: 'PING' }) },
  children: [pinger],
}, []);
const replier = child('replier', { config: { initial: 'a', states: { a: { on: { PING: { actions: 'pong' } } } } }, actions: { pong: sendParent({ type: 'PONG' }) } });
add('invoke', 'a child answers its parent with sendParent', {
  config: { initial: 'a', states: { a: { invoke: { id: 'c', src: replier.name }, on: { GO: { actions: 'ping' }, PONG: 'b' } }, b: {} } },
  actions: { ping: sendTo('c', { type: 'PING' }) },
  children: [replier],
}, [ev('GO')]);
const eager = child('eager', { config: { initial: 'a', states: { a: { entry: 'hello' } } }, actions: { hello: sendParent({ type: 'HELLO' }) } });
add('invoke', 'child can immediately respond to the parent', {
  config: { initial: 'a', states: { a: { invoke: { id: 'c', src: eager.name }, on: { HELLO: 'b' } }, b: {} } },
  children: [eager],
}, []);
const thrower = child('thrower', {
  config: { initial: 'a', states: { a: { entry: 'explode' } } },
  actions: {
    explode: assign(() => {
      throw new Error('child failed');
    }),
  },
});
add('invoke', 'should error the parent on errored initial state of a child', {
  config: { initial: 'a', states: { a: { invoke: { id: 'c', src: thrower.name, onError: 'failed' } }, failed: {} } },
  children: [thrower],
}, []);
const counter = child('counter', { config: { context: { log: [], count: 0 }, initial: 'a', states: { a: { on: { INC: { actions: 'inc' }, DONE: 'end' } }, end: { type: 'final' } } }, output: ({ context }) => context.count });
add('invoke', 'should stop a child actor when leaving the invoking state', {
  config: { initial: 'a', states: { a: { invoke: { id: 'c', src: counter.name }, on: { INC: { actions: 'forward' }, LEAVE: 'b' } }, b: { on: { INC: { actions: 'forward' } } } } },
  actions: { forward: sendTo('c', { type: 'INC' }) },
  children: [counter],
}, [ev('INC'), ev('LEAVE')]);
add('invoke', 'a child machine output reaches onDone', {
  config: { initial: 'a', states: { a: { invoke: { id: 'c', src: counter.name, onDone: { target: 'b', actions: 'saveOutput' } }, on: { INC: { actions: 'forward' }, FINISH: { actions: 'finish' } } }, b: { type: 'final' } } },
  actions: { forward: sendTo('c', { type: 'INC' }), finish: sendTo('c', { type: 'DONE' }), saveOutput: assign(({ event }: { event: Ev }) => ({ result: event.output })) },
  output: ({ context }) => context.result,
  children: [counter],
}, [ev('INC'), ev('INC'), ev('FINISH')]);
const withInput = { ...child('withInput', { config: { initial: 'a', states: { a: { always: 'done' }, done: { type: 'final' } } }, output: ({ context }) => context.greeting }), context: (input: { greeting: string }) => ({ log: [], greeting: input.greeting }) };
add('input', 'should provide input to an invoked machine', {
  config: { initial: 'a', states: { a: { invoke: { id: 'c', src: withInput.name, input: { greeting: 'hello' }, onDone: { target: 'b', actions: 'saveOutput' } } }, b: {} } },
  actions: { saveOutput: assign(({ event }: { event: Ev }) => ({ result: event.output })) },
  children: [withInput],
}, []);

// ---- spawnChild / stopChild ------------------------------------------------------------------------------------------------
add('spawnChild', 'can spawn from named actor', {
  config: { initial: 'a', states: { a: { entry: 'spawn', on: { INC: { actions: 'forward' } } } } },
  actions: { spawn: spawnChild(counter.name, { id: 'k' }), forward: sendTo('k', { type: 'INC' }) },
  children: [counter],
}, [ev('INC')]);
add('spawnChild', 'a spawned child can be stopped by id', {
  config: { initial: 'a', states: { a: { entry: 'spawn', on: { STOP: { actions: 'stop' } } } } },
  actions: { spawn: spawnChild(counter.name, { id: 'k' }), stop: stopChild('k') },
  children: [counter],
}, [ev('STOP')]);
add('spawnChild', 'spawn, stop and spawn again the same id in one step (issue 9)', {
  config: { initial: 'a', states: { a: { on: { GO: { actions: ['spawn', 'stop', 'spawn'] } } } } },
  actions: { spawn: spawnChild(counter.name, { id: 'k' }), stop: stopChild('k') },
  children: [counter],
}, [ev('GO')]);
add('spawnChild', 'a spawned promise child reports done', {
  config: { initial: 'a', states: { a: { entry: 'spawn', on: { 'xstate.done.actor.p': { target: 'b', actions: 'saveOutput' } } }, b: {} } },
  actions: { spawn: spawnChild('double', { id: 'p', input: { n: 5 } }), saveOutput: assign(({ event }: { event: Ev }) => ({ result: event.output })) },
}, []);

// ---- enqueueActions ----------------------------------------------------------------------------------------------------------
add('actions', 'enqueueActions runs assign and raise it enqueued, in order', {
  config: { context: { log: [], count: 0 }, initial: 'a', states: { a: { on: { GO: { actions: 'both' }, DONE: 'b' } }, b: {} } },
  actions: {
    both: enqueueActions(({ enqueue, context }) => {
      enqueue.assign({ count: (context as Ctx).count + 10 });
      enqueue({ type: 'log', params: { msg: 'enqueued' } });
      enqueue.raise({ type: 'DONE' });
    }),
  },
}, [ev('GO')]);
add('actions', 'enqueueActions checks guards', {
  config: { context: { log: [], allowed: false }, initial: 'a', states: { a: { on: { GO: { actions: 'maybe' }, ALLOW: { actions: 'allow' } } } } },
  guards: { allowed: ({ context }: { context: Ctx }) => context.allowed },
  actions: {
    allow: assign({ allowed: true }),
    maybe: enqueueActions(({ enqueue, check }) => {
      if (check('allowed')) enqueue({ type: 'log', params: { msg: 'allowed' } });
      else enqueue({ type: 'log', params: { msg: 'denied' } });
    }),
  },
}, [ev('GO'), ev('ALLOW'), ev('GO')]);
add('actions', 'enqueueActions sends to a child and emits', {
  config: { initial: 'a', states: { a: { invoke: { id: 'c', src: counter.name }, on: { GO: { actions: 'go' } } } } },
  actions: {
    go: enqueueActions(({ enqueue }) => {
      enqueue.sendTo('c', { type: 'INC' });
      enqueue.emit({ type: 'notified' });
    }),
  },
  children: [counter],
}, [ev('GO'), ev('GO')]);

// ---- emit -------------------------------------------------------------------------------------------------------------------------
add('emit', 'emits events that can be listened to on actorRef.on(…)', {
  config: { initial: 'a', states: { a: { on: { someEvent: { actions: 'emitted' } } } } },
  actions: { emitted: emit({ type: 'emitted', foo: 'bar' }) },
}, [ev('someEvent'), ev('someEvent')]);
add('emit', 'dynamically emits events', {
  config: { context: { log: [], count: 10 }, initial: 'a', states: { a: { on: { someEvent: { actions: ['inc', 'emitCount'] } } } } },
  actions: { emitCount: emit(({ context }: { context: Ctx }) => ({ type: 'count', count: context.count })) },
}, [ev('someEvent'), ev('someEvent')]);
add('emit', 'emits from the entry of the initial state', {
  config: { initial: 'a', entry: 'hello', states: { a: {} } },
  actions: { hello: emit({ type: 'hello' }) },
}, []);

// ---- errors -------------------------------------------------------------------------------------------------------------------------
add('errors', 'error thrown by a custom entry action when transitioning should error the actor (issue 9)', {
  config: { initial: 'a', states: { a: { on: { NEXT: 'b' } }, b: { entry: 'explode' } } },
  actions: {
    explode: () => {
      throw new Error('custom action failed');
    },
  },
}, [ev('NEXT')]);
add('errors', 'error thrown in initial custom entry action should error the actor', {
  config: { initial: 'a', states: { a: { entry: 'explode' } } },
  actions: {
    explode: () => {
      throw new Error('initial action failed');
    },
  },
}, []);
add('errors', 'error thrown when resolving an assign action should error the actor', {
  config: { initial: 'a', states: { a: { on: { NEXT: { actions: 'explode' } } } } },
  actions: {
    explode: assign(() => {
      throw new Error('assign failed');
    }),
  },
}, [ev('NEXT')]);

// ---- entry/exit order and reentry (actions.test.ts, internalTransitions.test.ts) -----------------------------------------
add('actions', 'should return nested actions in the correct (child to parent) order', {
  config: {
    initial: 'a',
    states: {
      a: { entry: log('enter a'), exit: log('exit a'), initial: 'a1', states: { a1: { entry: log('enter a1'), exit: log('exit a1') } }, on: { CHANGE: 'b' } },
      b: { entry: log('enter b'), exit: log('exit b'), initial: 'b1', states: { b1: { entry: log('enter b1'), exit: log('exit b1') } } },
    },
  },
}, [ev('CHANGE')]);
add('actions', 'should exit and enter the state for reentering self-transitions (deep)', {
  config: {
    initial: 'p',
    states: { p: { initial: 'c', entry: log('enter p'), exit: log('exit p'), on: { RESTART: { target: 'p', reenter: true } }, states: { c: { entry: log('enter c'), exit: log('exit c') } } } },
  },
}, [ev('RESTART')]);
add('actions', 'should not reenter leaf state during its default self-transition', {
  config: { initial: 'a', states: { a: { initial: 'a1', states: { a1: { entry: log('enter a1'), on: { EV: 'a1' } } } } } },
}, [ev('EV')]);
add('actions', 'root entry/exit actions should be called on root reentering transitions', {
  config: { entry: log('root entry'), exit: log('root exit'), on: { EVENT: { target: '#two', reenter: true } }, initial: 'one', states: { one: {}, two: { id: 'two' } } },
}, [ev('EVENT')]);
add('internalTransitions', 'should not reenter the parent on a targetless transition', {
  config: { initial: 'foo', states: { foo: { initial: 'a', entry: log('enter foo'), states: { a: { on: { NEXT: 'b' } }, b: {} }, on: { RESET: '.a', MARK: { actions: log('mark') } } } } },
}, [ev('NEXT'), ev('MARK'), ev('RESET')]);
add('internalTransitions', 'should reenter proper descendants of a source state of an internal transition', {
  config: { initial: 'a', states: { a: { initial: 'a1', states: { a1: { initial: 'a11', entry: log('enter a1'), exit: log('exit a1'), states: { a11: { entry: log('enter a11'), exit: log('exit a11') } } } }, on: { EVENT: '.a1' } } } },
}, [ev('EVENT')]);

// ---- callbacks (fromCallback: a long-lived activity; sendBack through the mailbox, receive in memory) -------------------------------------------------------------
const callbackCase = (name: string, callbackActors: Record<string, unknown>, def: Def, inputs: CaseInput[]) => {
  const spec = machine(`xstate/invoke/${name}`, def);
  spec.actors = callbackActors;
  cases.push({ name: `xstate/invoke/${name}`, source: `statelyai/xstate packages/core/test/invoke.test.ts: "${name}"`, spec, inputs, drainTimers: 5 });
};
callbackCase('should transition correctly if callback function invoked from start and sends an event', {
  cb: fromCallback(({ sendBack }) => {
    sendBack({ type: 'CALLBACK' });
  }),
}, { config: { initial: 'idle', states: { idle: { invoke: { id: 'cb', src: 'cb' }, on: { CALLBACK: 'done' } }, done: {} } } }, []);

callbackCase('callback should be able to receive messages from parent', {
  cb: fromCallback(({ sendBack, receive }) => {
    receive((event) => {
      if (event.type === 'PING') sendBack({ type: 'PONG' });
    });
  }),
}, {
  config: { initial: 'idle', states: { idle: { invoke: { id: 'cb', src: 'cb' }, on: { GO: { actions: 'ping' }, PONG: 'done' } }, done: {} } },
  actions: { ping: sendTo('cb', { type: 'PING' }) },
}, [ev('GO')]);

callbackCase('callback should be able to receive messages from parent (PING sent on entry, in the step that invokes it)', {
  child: fromCallback(({ sendBack, receive }) => {
    receive((event) => {
      if (event.type === 'PING') sendBack({ type: 'PONG' });
    });
  }),
}, {
  config: { initial: 'active', states: { active: { invoke: { id: 'child', src: 'child' }, entry: 'ping', on: { PONG: 'done' } }, done: { type: 'final' } } },
  actions: { ping: sendTo('child', { type: 'PING' }) },
}, []);

callbackCase('should transition correctly upon error (sync)', {
  failing: fromCallback(() => {
    throw new Error('test');
  }),
}, {
  config: { initial: 'safe', states: { safe: { invoke: { src: 'failing', onError: 'failed' } }, failed: { type: 'final' } } },
}, []);

callbackCase('should work with input', {
  greet: fromCallback(({ input, sendBack }) => {
    sendBack({ type: 'ECHO', value: (input as { foo: string }).foo });
  }),
}, {
  config: {
    initial: 'listening',
    states: {
      listening: { invoke: { src: 'greet', input: { foo: 'bar' } }, on: { ECHO: { target: 'heard', actions: 'keep' } } },
      heard: { type: 'final' },
    },
  },
  actions: { keep: assign(({ event }: { event: Ev }) => ({ value: event.value })) },
}, []);

export const xstateCases: ConformanceCase[] = cases;
