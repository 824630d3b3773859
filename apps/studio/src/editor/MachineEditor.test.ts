import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatMachineJson } from '@spine/runtime/editing';
import type { ImplementationJson, SaveMachineResult } from '@spine/server/protocol';
import { describe, expect, it } from 'vitest';
import { MachineEditor, type SaveRequest } from './MachineEditor.js';

const MACHINES = fileURLToPath(new URL('../../../../machines', import.meta.url));

const implementation: ImplementationJson = {
  actions: [
    { name: 'startDraft', kind: 'assign', params: null },
    { name: 'handOff', kind: 'send', params: null },
  ],
  guards: [],
  delays: [],
  activities: [{ name: 'draft', kind: 'activity', input: null }],
  events: ['draft.requested', 'draft.cancelled'],
};

const config = () => ({
  id: 'writer',
  initial: 'idle',
  states: {
    idle: { on: { 'draft.requested': { target: 'drafting', actions: 'startDraft' } } },
    drafting: { invoke: { id: 'model', src: 'draft', onDone: 'done', onError: 'done' } },
    done: { type: 'final', entry: 'handOff' },
  },
});

function editor(save?: (r: SaveRequest) => Promise<SaveMachineResult>) {
  return new MachineEditor({ name: 'writer', config: config(), implementation, baseVersion: 'v1', ...(save ? { save } : {}) });
}

const key = (k: string, mods: Partial<{ ctrlKey: boolean; metaKey: boolean; shiftKey: boolean }> = {}) => ({ key: k, ctrlKey: false, metaKey: false, shiftKey: false, ...mods });

describe('MachineEditor', () => {
  it('validates live while editing, pointing each problem at its state or transition', () => {
    const e = editor();
    expect(e.getState().issues).toEqual([]);
    const path = e.addState();
    expect(path).toEqual(['state']);
    expect(e.getState().issues.map((i) => [i.rule, i.element])).toEqual([
      ['unreachable', { state: ['state'] }],
      ['dead_end', { state: ['state'] }],
    ]);
    expect(e.getState().issueIndex.byNode.get('state')).toHaveLength(2);
    e.addTransition(['idle'], ['state']);
    const selection = e.getState().selection;
    expect(selection).toEqual({ kind: 'transition', state: ['idle'], ref: { source: 'on', key: 'draft.cancelled', index: 0 } });
    e.updateTransition(['idle'], { source: 'on', key: 'draft.cancelled', index: 0 }, { actions: ['launchRockets'] });
    e.setStateKind(['state'], 'final');
    expect(e.getState().issues.map((i) => [i.rule, i.message, i.element])).toEqual([
      ['unknown_action', "unknown action 'launchRockets'", { state: ['idle'], transition: { source: 'on', key: 'draft.cancelled', index: 0 } }],
    ]);
    const edge = e.getState().edges.find((x) => x.source === 'idle' && x.target === 'state')!;
    expect(edge.label).toBe('draft.cancelled');
  });

  it('refuses to save while there are problems, and saves through the server otherwise', async () => {
    const requests: SaveRequest[] = [];
    const e = editor(async (r) => {
      requests.push(r);
      return { machine: 'writer', file: 'writer.machine.json', version: 'v2', previousVersion: 'v1', changed: true, layoutChanged: false, created: false, runnable: true, scaffold: null, needsImplementation: null };
    });
    e.addState({ name: 'review' });
    expect(await e.save()).toBeUndefined();
    expect(e.getState().message).toEqual({ kind: 'error', text: 'Not saved: 2 problems to fix first (listed below).' });
    expect(requests).toEqual([]);
    e.addTransition(['idle'], ['review']);
    e.setStateKind(['review'], 'final');
    expect(e.getState().dirty).toBe(true);
    const result = await e.save();
    expect(result?.version).toBe('v2');
    expect(requests[0]).toMatchObject({ machine: 'writer', baseVersion: 'v1', layout: { positions: { review: expect.any(Object) } } });
    expect((requests[0]!.config.states as Record<string, unknown>).review).toEqual({ type: 'final' });
    expect(e.getState()).toMatchObject({ dirty: false, baseVersion: 'v2', message: { kind: 'info' } });
  });

  it('shows what the server refused, on the element it names', async () => {
    const e = editor(async () => {
      throw { message: "unknown action 'x'", issues: [{ path: 'states.idle', message: "unknown action 'x'", rule: 'unknown_action', element: { state: ['idle'] } }] };
    });
    await e.save();
    expect(e.getState().serverIssues).toHaveLength(1);
    expect(e.getState().message?.text).toContain('The server refused the save');
    e.addState({ name: 'x', kind: 'final' });
    expect(e.getState().serverIssues).toBeUndefined();
  });

  it('undoes and redoes edits (a rename with its targets at once), never a mere selection', () => {
    const e = editor();
    e.renameState(['drafting'], 'writing');
    expect((e.doc.states as any).idle.on['draft.requested'].target).toBe('writing');
    e.select({ kind: 'state', path: ['idle'] });
    e.select(null);
    expect(e.getState().canUndo).toBe(true);
    expect(e.handleKey(key('z', { ctrlKey: true }))).toBe(true);
    expect(e.doc).toEqual(config());
    expect(e.getState().canUndo).toBe(false);
    e.handleKey(key('z', { metaKey: true, shiftKey: true }));
    expect(Object.keys(e.doc.states!)).toEqual(['idle', 'writing', 'done']);
    e.undo();
    e.handleKey(key('y', { ctrlKey: true }));
    expect(Object.keys(e.doc.states!)).toEqual(['idle', 'writing', 'done']);
    expect(e.renameState(['writing'], 'idle')).toBe("There already is a state 'idle' here.");
  });

  it('deletes the selection with Delete, but not while typing in a field', () => {
    const e = editor();
    e.select({ kind: 'state', path: ['done'] });
    expect(e.handleKey({ ...key('Delete'), targetTag: 'INPUT' })).toBe(false);
    expect(e.doc.states!.done).toBeDefined();
    e.handleKey(key('Delete'));
    expect(e.doc.states!.done).toBeUndefined();
    expect((e.doc.states as any).drafting.invoke).toEqual({ id: 'model', src: 'draft' });
    e.select({ kind: 'transition', state: ['idle'], ref: { source: 'on', key: 'draft.requested', index: 0 } });
    e.handleKey(key('Backspace'));
    expect((e.doc.states as any).idle).toEqual({});
    e.undo();
    e.undo();
    expect(e.doc).toEqual(config());
  });

  it('keeps drag positions out of the document and history until the drop, then commits one undo step', () => {
    const e = editor();
    e.drag({ type: 'start', id: 'idle', position: { x: 0, y: 0 } });
    for (let i = 1; i <= 30; i++) e.drag({ type: 'move', id: 'idle', position: { x: i * 3, y: i } });
    expect(e.getState().rects.get('idle')).toMatchObject({ x: 90, y: 30 });
    expect(e.positions).toEqual({});
    e.drag({ type: 'end', id: 'idle', position: { x: 90.4, y: 30.2 } });
    e.drag({ type: 'end', id: 'idle', position: { x: 90.4, y: 30.2 } }); // reported twice: still one move
    expect(e.positions).toEqual({ idle: { x: 90, y: 30 } });
    e.undo();
    expect(e.positions).toEqual({});
    expect(e.getState().canUndo).toBe(false);
  });

  it('draws a transition with the connect tool: pick a source, then a target; Escape cancels', () => {
    const e = editor();
    e.startConnect();
    expect(e.getState().hint).toMatch(/leaves from/);
    e.select({ kind: 'state', path: ['done'] });
    e.handleKey(key('Escape'));
    expect(e.getState().connect).toEqual({ name: 'idle' });
    e.select({ kind: 'state', path: ['drafting'] });
    e.startConnect();
    e.select({ kind: 'state', path: ['idle'] });
    expect((e.doc.states as any).drafting.on).toEqual({ 'draft.requested': { target: 'idle' } });
  });

  it('lays out with ELK and keeps the positions a person placed', async () => {
    const e = editor();
    e.drag({ type: 'start', id: 'done', position: { x: 0, y: 0 } });
    e.drag({ type: 'end', id: 'done', position: { x: 900, y: 400 } });
    const ms = await e.autoLayout();
    expect(ms).toBeGreaterThan(0);
    const rects = e.getState().rects;
    expect(rects.get('done')).toMatchObject({ x: 900, y: 400 });
    expect(rects.get('drafting')!.x).toBeGreaterThan(rects.get('idle')!.x);
    await e.autoLayout({ reset: true });
    expect(e.positions).toEqual({});
    expect(e.getState().rects.get('done')!.x).not.toBe(900);
  });

  it('starts a new machine that lists the names it will need implementations for', () => {
    const e = MachineEditor.create('triage');
    e.addTransition(['idle'], ['done']);
    e.updateTransition(['idle'], { source: 'on', key: 'event', index: 0 }, { source: 'on', key: 'ticket.opened', actions: ['classify'] });
    expect(e.getState().issues).toEqual([]);
    expect(e.getState().needsImplementation).toEqual({ actions: ['classify'], guards: [], delays: [], activities: [], events: ['ticket.opened'] });
  });
});

describe('round trip over the real machines/', () => {
  const files = readdirSync(MACHINES).filter((f) => f.endsWith('.machine.json'));

  it('finds the machines', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  it.each(files)('%s loads into the editor and saves back byte-identical when nothing changed, and after an edit undone', (file) => {
    const text = readFileSync(join(MACHINES, file), 'utf8');
    const e = new MachineEditor({ name: file.replace('.machine.json', ''), config: JSON.parse(text), implementation: null, baseVersion: 'v' });
    expect(formatMachineJson(e.doc, { previous: text })).toBe(text);
    const first = Object.keys(e.doc.states ?? {})[0]!;
    e.renameState([first], `${first}Renamed`);
    e.addState({ name: 'extra' });
    e.select({ kind: 'state', path: ['extra'] });
    e.deleteSelection();
    expect(formatMachineJson(e.doc, { previous: text })).not.toBe(text);
    e.undo();
    e.undo();
    e.undo();
    expect(e.getState().dirty).toBe(false);
    expect(formatMachineJson(e.doc, { previous: text })).toBe(text);
  });
});
