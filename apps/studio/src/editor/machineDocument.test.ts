import { formatMachineJson } from '@spine/runtime/editing';
import { describe, expect, it } from 'vitest';
import * as ops from './machineDocument.js';

const writer = () =>
  ({
    id: 'writer',
    initial: 'idle',
    states: {
      idle: { on: { 'draft.requested': { target: 'drafting', actions: 'startDraft' } } },
      drafting: {
        initial: 'thinking',
        states: { thinking: { on: { 'draft.more': 'typing' } }, typing: { on: { 'draft.done': '#writer.reporting' } } },
        invoke: { id: 'model', src: 'draft', onDone: 'reporting', onError: [{ target: '#failed' }, { target: 'idle' }] },
      },
      reporting: { entry: 'handOff', on: { 'spine.delivery.refused': 'failed' } },
      failed: { id: 'failed', type: 'final' },
    },
  }) as ops.MachineDoc;

describe('machine document edits', () => {
  it('adds a state without touching the rest, and makes a first child the initial state', () => {
    const doc = writer();
    const next = ops.addState(doc, ['reporting'], 'waiting');
    expect(next.states!.idle).toBe(doc.states!.idle);
    expect(Object.keys(next.states!.reporting as object)).toEqual(['entry', 'on', 'initial', 'states']);
    expect(next.states!.reporting).toMatchObject({ initial: 'waiting', states: { waiting: {} } });
    expect(() => ops.addState(next, ['reporting'], 'waiting')).toThrow("There already is a state 'waiting' here.");
    expect(() => ops.addState(next, [], 'a.b')).toThrow(/cannot contain/);
    expect(ops.freeStateName(next, [], 'idle')).toBe('idle2');
  });

  it('renames a state and every target that names it, each in its own style, and the initial state', () => {
    const doc = ops.renameState(writer(), ['reporting'], 'handingOff');
    expect(Object.keys(doc.states!)).toEqual(['idle', 'drafting', 'handingOff', 'failed']);
    const drafting = doc.states!.drafting as any;
    expect(drafting.invoke.onDone).toBe('handingOff');
    expect(drafting.states.typing.on['draft.done']).toBe('#writer.handingOff');
    const inner = ops.renameState(writer(), ['drafting', 'typing'], 'writing');
    expect((inner.states!.drafting as any).states.thinking.on['draft.more']).toBe('writing');
    const first = ops.renameState(writer(), ['idle'], 'waiting');
    expect(first.initial).toBe('waiting');
    expect(((first.states!.drafting as any).invoke.onError as unknown[])[1]).toEqual({ target: 'waiting' });
  });

  it('deletes a state with the transitions into it, keeping other targets and fixing the initial state', () => {
    const doc = ops.deleteState(writer(), ['failed']);
    expect(doc.states!.failed).toBeUndefined();
    expect((doc.states!.reporting as any).on).toBeUndefined();
    expect((doc.states!.drafting as any).invoke.onError).toEqual([{ target: 'idle' }]);
    const noIdle = ops.deleteState(writer(), ['idle']);
    expect(noIdle.initial).toBe('drafting');
    expect((noIdle.states!.drafting as any).invoke.onError).toEqual([{ target: '#failed' }]);
  });

  it('adds, edits, moves and removes transitions, keeping a bare target a string while it is one', () => {
    let doc = writer();
    const added = ops.addTransition(doc, ['idle'], ['failed'], { source: 'on', key: 'draft.cancelled' });
    expect((added.doc.states!.idle as any).on['draft.cancelled']).toEqual({ target: 'failed' });
    const second = ops.addTransition(added.doc, ['idle'], ['reporting'], { source: 'on', key: 'draft.cancelled' });
    expect(second.ref).toEqual({ source: 'on', key: 'draft.cancelled', index: 1 });
    expect((second.doc.states!.idle as any).on['draft.cancelled']).toEqual([{ target: 'failed' }, { target: 'reporting' }]);

    doc = ops.updateTransition(writer(), ['reporting'], { source: 'on', key: 'spine.delivery.refused', index: 0 }, { target: 'idle' }).doc;
    expect((doc.states!.reporting as any).on['spine.delivery.refused']).toBe('idle');
    doc = ops.updateTransition(doc, ['reporting'], { source: 'on', key: 'spine.delivery.refused', index: 0 }, { guard: 'canRetry', actions: ['log'] }).doc;
    expect((doc.states!.reporting as any).on['spine.delivery.refused']).toEqual({ target: 'idle', guard: 'canRetry', actions: 'log' });
    const moved = ops.updateTransition(doc, ['reporting'], { source: 'on', key: 'spine.delivery.refused', index: 0 }, { source: 'after', key: '5000' });
    expect(moved.ref).toEqual({ source: 'after', key: '5000', index: 0 });
    expect((moved.doc.states!.reporting as any).on).toBeUndefined();
    expect((moved.doc.states!.reporting as any).after).toEqual({ 5000: { target: 'idle', guard: 'canRetry', actions: 'log' } });
    expect(ops.readTransition(moved.doc, ['reporting'], moved.ref)).toEqual({ source: 'after', key: '5000', target: 'idle', guard: 'canRetry', actions: ['log'] });
    const removed = ops.removeTransition(moved.doc, ['reporting'], moved.ref);
    expect((removed.states!.reporting as any).after).toBeUndefined();
  });

  it('sets and clears params of a transition\'s actions and guard, keeping them through edits', () => {
    const ref = { source: 'on' as const, key: 'draft.requested', index: 0 };
    let doc = ops.setReferenceParams(writer(), ['idle'], ref, { action: 0 }, { tone: 'brief' });
    expect((doc.states!.idle as any).on['draft.requested'].actions).toEqual({ type: 'startDraft', params: { tone: 'brief' } });
    doc = ops.updateTransition(doc, ['idle'], ref, { guard: 'ready', actions: ['startDraft', 'log'] }).doc;
    doc = ops.setReferenceParams(doc, ['idle'], ref, 'guard', { min: 1 });
    expect(ops.readTransition(doc, ['idle'], ref)).toMatchObject({ guard: 'ready', guardParams: { min: 1 }, actions: ['startDraft', 'log'], actionParams: [{ tone: 'brief' }, undefined] });
    doc = ops.setReferenceParams(doc, ['idle'], ref, { action: 0 }, undefined);
    expect((doc.states!.idle as any).on['draft.requested'].actions).toEqual(['startDraft', 'log']);
  });

  it('writes targets as people do: siblings by name, children with a dot, states with an id by #id', () => {
    const doc = writer();
    expect(ops.targetText(doc, ['idle'], ['drafting', 'typing'])).toBe('drafting.typing');
    expect(ops.targetText(doc, ['drafting'], ['drafting', 'typing'])).toBe('.typing');
    expect(ops.targetText(doc, ['drafting', 'typing'], ['failed'])).toBe('#failed');
    expect(ops.targetText(doc, ['drafting', 'typing'], ['idle'])).toBe('#writer.idle');
    expect(ops.targetText(doc, [], ['idle'])).toBe('.idle');
  });

  it('sets tags, risk tier, entry actions and invokes, removing what becomes empty', () => {
    let doc = ops.setRisk(writer(), ['drafting'], 'medium');
    doc = ops.setTags(doc, ['drafting'], ['model', ' model ', '']);
    expect(doc.states!.drafting).toMatchObject({ meta: { risk: 'medium' }, tags: ['model'] });
    doc = ops.setRisk(ops.setTags(doc, ['drafting'], []), ['drafting'], undefined);
    expect(Object.keys(doc.states!.drafting as object)).toEqual(['initial', 'states', 'invoke']);
    doc = ops.addInvoke(doc, ['drafting'], 'draft');
    expect((doc.states!.drafting as any).invoke.map((i: any) => i.id)).toEqual(['model', 'draft']);
    doc = ops.removeInvoke(doc, ['drafting'], 0);
    expect((doc.states!.drafting as any).invoke).toEqual({ id: 'draft', src: 'draft' });
    expect(ops.setStateActions(doc, ['reporting'], 'entry', []).states!.reporting).not.toHaveProperty('entry');
    expect(() => ops.setStateKind(doc, ['drafting'], 'final')).toThrow(/cannot be final/);
    expect(ops.setStateKind(doc, ['drafting'], 'parallel').states!.drafting).not.toHaveProperty('initial');
  });

  it('leaves the file byte-identical outside the edit', () => {
    const text = `${JSON.stringify(writer(), null, 2)}\n`;
    const doc = ops.addState(JSON.parse(text), [], 'review');
    const out = formatMachineJson(doc, { previous: text });
    expect(out.replace(',\n    "review": {}', '')).toBe(text);
  });
});
