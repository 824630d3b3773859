import {
  jsonEqual,
  machineNames,
  validateMachineConfig,
  type ImplementationNames,
  type MachineIssue,
  type MachineNames,
  type TransitionRef,
} from '@spine/runtime/editing';
import type { ImplementationJson, MachineSourceJson, SaveMachineResult } from '@spine/server/protocol';
import { createStore } from '@xstate/store';
import { undoRedo } from '@xstate/store/undo';
import { buildEditorGraph, indexIssues, nodeId, ROOT_NODE, type EditorEdge, type EditorNode, type IssueIndex } from './editorGraph.js';
import { autoLayout, freeSpot, geometry, warmLayout, type Positions, type Rect } from './editorLayout.js';
import { commandForKey, type KeyInput } from './keyboard.js';
import { setMinConfidence } from './confidenceMeta.js';
import * as ops from './machineDocument.js';
import type { MachineDoc, StateKind, TransitionFields } from './machineDocument.js';
import { connectToolHint, stepConnectTool, type ConnectToolState } from './tools/ConnectTool.js';
import { stepDragTool, type DragToolState } from './tools/DragTool.js';

/** What is selected: a state, a transition, or nothing (the machine itself). */
export type Selection = { kind: 'state'; path: string[] } | { kind: 'transition'; state: string[]; ref: TransitionRef & { index: number } } | null;

/** The body of a save request, as the server's `saveMachine` command takes it. */
export interface SaveRequest {
  machine: string;
  config: Record<string, unknown>;
  layout: { positions: Positions };
  baseVersion: string | null;
}

/** A refusal the server answered a save with. */
export interface SaveRefusal {
  message: string;
  issues?: { path: string; message: string; rule?: string; element?: unknown }[];
}

/** Options of a MachineEditor. */
export interface MachineEditorOptions {
  /** The machine's name (its file is `<name>.machine.json`). */
  name: string;
  /** The structure as the file holds it; nothing is normalised. */
  config: MachineDoc;
  /** Positions the user placed states at (the layout sidecar). */
  positions?: Positions;
  /** What the implementation provides; null for a machine with no code yet (names are then not checked). */
  implementation: ImplementationJson | null;
  /** Other machines, which states may invoke as durable agents. */
  machines?: string[];
  /** The version the file had when opened; null for a machine not saved yet. */
  baseVersion: string | null;
  /** Sends the save to the server; rejects with a SaveRefusal-like error when refused. */
  save?: (request: SaveRequest) => Promise<SaveMachineResult>;
}

/** Everything the editor view renders, as one immutable value. */
export interface EditorState {
  name: string;
  doc: MachineDoc;
  positions: Positions;
  selection: Selection;
  nodes: EditorNode[];
  edges: EditorEdge[];
  /** Boxes by node id, relative to the parent state, including a state being dragged. */
  rects: ReadonlyMap<string, Rect>;
  issues: MachineIssue[];
  issueIndex: IssueIndex;
  /** Problems the server found that the local checks did not (cleared by the next edit). */
  serverIssues: SaveRefusal['issues'];
  /** Names the structure uses that no implementation provides yet. */
  needsImplementation: MachineNames | null;
  implementation: ImplementationJson | null;
  machines: string[];
  canUndo: boolean;
  canRedo: boolean;
  /** Whether the structure or the layout differs from what was last saved (or opened). */
  dirty: boolean;
  saving: boolean;
  baseVersion: string | null;
  lastSave: SaveMachineResult | null;
  message: { kind: 'info' | 'error'; text: string } | null;
  connect: ConnectToolState;
  /** The prompt of the active tool. */
  hint: string | undefined;
  /** How long the last auto-layout took, in ms (measured around ELK). */
  layoutMs: number | null;
  laidOut: boolean;
  /** Grows when the view should fit every state again (after a layout, or a state added). */
  fitRequest: number;
}

interface DocContext {
  doc: MachineDoc;
  positions: Positions;
  selection: Selection;
}

function createDocStore(context: DocContext) {
  return createStore({
    context,
    on: {
      /** Replaces the document (and positions and selection): every edit goes through here. */
      edit: (ctx, event: { doc: MachineDoc; positions?: Positions; selection?: Selection }) => ({
        doc: event.doc,
        positions: event.positions ?? ctx.positions,
        selection: event.selection === undefined ? ctx.selection : event.selection,
      }),
      /** Moves states (a finished drag, or a cleared layout). */
      place: (ctx, event: { positions: Positions }) => ({ ...ctx, positions: event.positions }),
      /** Selects without an undo step. */
      select: (ctx, event: { selection: Selection }) => ({ ...ctx, selection: event.selection }),
    },
  }).with(
    undoRedo({
      strategy: 'snapshot',
      historyLimit: 200,
      skipEvent: (event) => event.type === 'select',
      // Undo restores the document and positions but keeps a selection only if it still exists.
      restore: ({ current, next }) => ({ ...next, selection: exists(next.doc, current.selection) ? current.selection : next.selection }),
    }),
  );
}

type DocStore = ReturnType<typeof createDocStore>;

/**
 * The machine editor's model (tldraw's `Editor`): owns the document, its undo
 * history (@xstate/store's undoRedo, snapshot strategy), selection, tools,
 * layout and live validation, and saves through the server. React renders
 * `getState()` and calls these methods; it holds no editor state of its own.
 *
 * @example
 * const editor = new MachineEditor({ name: 'writer', config, implementation, baseVersion, save });
 * editor.addState();
 * await editor.save();
 */
export class MachineEditor {
  readonly name: string;
  readonly store: DocStore;
  readonly #options: MachineEditorOptions;
  readonly #listeners = new Set<() => void>();
  #saved: { doc: MachineDoc; positions: Positions };
  #auto: ReadonlyMap<string, Rect> = new Map();
  #drag: DragToolState = { name: 'idle' };
  #connect: ConnectToolState = { name: 'idle' };
  #serverIssues: SaveRefusal['issues'];
  #serverIssuesFor: MachineDoc | undefined;
  #baseVersion: string | null;
  #saving = false;
  #lastSave: SaveMachineResult | null = null;
  #message: EditorState['message'] = null;
  #layoutMs: number | null = null;
  #laidOut = false;
  #fitRequest = 0;
  #state: EditorState | undefined;
  #derived: { doc: MachineDoc; nodes: EditorNode[]; edges: EditorEdge[]; issues: MachineIssue[]; issueIndex: IssueIndex; needs: MachineNames | null } | undefined;

  constructor(options: MachineEditorOptions) {
    this.#options = options;
    this.name = options.name;
    this.#baseVersion = options.baseVersion;
    const positions = options.positions ?? {};
    this.store = createDocStore({ doc: options.config, positions, selection: null });
    this.#saved = { doc: options.config, positions };
    this.store.subscribe(() => this.#changed());
  }

  /** Opens a machine as `GET /api/machines` lists it. */
  static fromSource(name: string, source: MachineSourceJson, options: Pick<MachineEditorOptions, 'machines' | 'save'> = {}): MachineEditor {
    if (!source.config) throw new Error(source.error ?? `${source.file} could not be read.`);
    return new MachineEditor({ name, config: source.config, positions: source.layout.positions, implementation: source.implementation, baseVersion: source.version, ...options });
  }

  /** A new machine: one state to start from, nothing saved yet. */
  static create(name: string, options: Pick<MachineEditorOptions, 'machines' | 'save'> = {}): MachineEditor {
    const config: MachineDoc = { id: name, initial: 'idle', states: { idle: {}, done: { type: 'final' } } };
    return new MachineEditor({ name, config, implementation: null, baseVersion: null, ...options });
  }

  // ---- reading ------------------------------------------------------------------------

  /** Current state (stable between changes, for useSyncExternalStore). */
  getState = (): EditorState => (this.#state ??= this.#compute());

  /** Calls `listener` after every change. */
  subscribe = (listener: () => void): (() => void) => {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  };

  /** The document as it would be saved. */
  get doc(): MachineDoc {
    return this.store.getSnapshot().context.doc;
  }

  /** The placed positions as they would be saved. */
  get positions(): Positions {
    return this.store.getSnapshot().context.positions;
  }

  // ---- selection and tools ----------------------------------------------------------------

  select(selection: Selection): void {
    if (this.#connect.name !== 'idle' && selection?.kind === 'state') {
      this.#pickForConnect(selection.path);
      return;
    }
    this.store.trigger.select({ selection });
  }

  /** Starts drawing a transition from the selected state (or asks for a source). */
  startConnect(): void {
    const selection = this.store.getSnapshot().context.selection;
    this.#connect = stepConnectTool(this.#connect, selection?.kind === 'state' ? { type: 'start', source: selection.path } : { type: 'start' }).state;
    this.#changed();
  }

  /** Cancels the active tool, or else clears the selection. */
  cancel(): void {
    if (this.#connect.name !== 'idle' || this.#drag.name !== 'idle') {
      this.#connect = { name: 'idle' };
      this.#drag = { name: 'idle' };
      this.#changed();
    } else this.select(null);
  }

  #pickForConnect(path: string[]): void {
    const { state, connect } = stepConnectTool(this.#connect, { type: 'pick', path });
    this.#connect = state;
    if (connect) this.addTransition(connect.from, connect.to);
    else this.#changed();
  }

  // ---- states -----------------------------------------------------------------------------

  /** Adds a state under `parent` (default: the selected compound state's parent level, else the root) and selects it. */
  addState(options: { parent?: string[]; name?: string; kind?: StateKind } = {}): string[] {
    const doc = this.doc;
    const parent = options.parent ?? [];
    const name = options.name ?? ops.freeStateName(doc, parent);
    const next = ops.addState(doc, parent, name, options.kind);
    const path = [...parent, name];
    const { nodes, rects, selection } = this.getState();
    const near = selection?.kind === 'state' && nodeId(selection.path.slice(0, -1)) === nodeId(parent) ? nodeId(selection.path) : undefined;
    const spot = freeSpot(parent.length ? nodeId(parent) : null, nodes, rects, near);
    this.#edit(next, { selection: { kind: 'state', path }, positions: { ...this.positions, [nodeId(path)]: spot } });
    this.#fitRequest++;
    return path;
  }

  /** Renames a state; returns why not, when the name is not usable. */
  renameState(path: string[], name: string): string | undefined {
    const problem = ops.badStateName(this.doc, path.slice(0, -1), name, path.at(-1));
    if (problem) return problem;
    if (name === path.at(-1)) return undefined;
    const next = ops.renameState(this.doc, path, name);
    const renamed = [...path.slice(0, -1), name];
    this.#edit(next, { selection: { kind: 'state', path: renamed }, positions: movePositions(this.positions, nodeId(path), nodeId(renamed)) });
    return undefined;
  }

  /** Sets a state's kind; returns why not, when it cannot be. */
  setStateKind(path: string[], kind: StateKind): string | undefined {
    try {
      this.#edit(ops.setStateKind(this.doc, path, kind));
      return undefined;
    } catch (error) {
      return (error as Error).message;
    }
  }

  setInitial(parent: string[], child: string): void {
    this.#edit(ops.setInitial(this.doc, parent, child));
  }

  setTags(path: string[], tags: string[]): void {
    this.#edit(ops.setTags(this.doc, path, tags));
  }

  setRisk(path: string[], risk: 'low' | 'medium' | 'high' | undefined): void {
    this.#edit(ops.setRisk(this.doc, path, risk));
  }

  /** Sets (or, with undefined, removes) a state's `meta.minConfidence`. */
  setMinConfidence(path: string[], value: number | undefined): void {
    this.#edit(setMinConfidence(this.doc, path, value));
  }

  setStateActions(path: string[], which: 'entry' | 'exit', actions: string[]): void {
    this.#edit(ops.setStateActions(this.doc, path, which, actions));
  }

  addInvoke(path: string[], src: string): void {
    this.#edit(ops.addInvoke(this.doc, path, src));
  }

  setInvokeSrc(path: string[], index: number, src: string): void {
    this.#edit(ops.setInvokeSrc(this.doc, path, index, src));
  }

  removeInvoke(path: string[], index: number): void {
    this.#edit(ops.removeInvoke(this.doc, path, index));
  }

  // ---- transitions --------------------------------------------------------------------------

  /** Adds a transition between two states (on an event the machine accepts and `from` does not handle yet) and selects it. */
  addTransition(from: string[], to: string[], where?: Omit<TransitionRef, 'index'>): void {
    if (!from.length) return;
    const handled = new Set(Object.keys((ops.stateAt(this.doc, from)?.on as Record<string, unknown> | undefined) ?? {}));
    const accepted = this.#options.implementation?.events ?? [];
    const event = accepted.find((e) => !handled.has(e)) ?? freeEventName(handled);
    const { doc, ref } = ops.addTransition(this.doc, from, to, where ?? { source: 'on', key: event });
    this.#edit(doc, { selection: { kind: 'transition', state: from, ref } });
  }

  /** Edits the selected (or given) transition: event or delay, target, guard, actions. */
  updateTransition(state: string[], ref: TransitionRef, fields: Partial<TransitionFields>): void {
    const { doc, ref: next } = ops.updateTransition(this.doc, state, ref, fields);
    this.#edit(doc, { selection: { kind: 'transition', state, ref: next } });
  }

  /** Retargets a transition to the state at `to`. */
  retarget(state: string[], ref: TransitionRef, to: string[]): void {
    this.updateTransition(state, ref, { target: ops.targetText(this.doc, state, to) });
  }

  /** Sets the params of one of a transition's actions, or of its guard. */
  setParams(state: string[], ref: TransitionRef & { index: number }, which: { action: number } | 'guard', params: Record<string, unknown> | undefined): void {
    this.#edit(ops.setReferenceParams(this.doc, state, ref, which, params), { selection: { kind: 'transition', state, ref } });
  }

  setDescription(path: string[], description: string): void {
    this.#edit(ops.setDescription(this.doc, path, description));
  }

  removeTransition(state: string[], ref: TransitionRef): void {
    this.#edit(ops.removeTransition(this.doc, state, ref), { selection: { kind: 'state', path: state } });
  }

  /** Deletes what is selected (a state with its children and the transitions into them, or a transition). */
  deleteSelection(): void {
    const selection = this.store.getSnapshot().context.selection;
    if (selection?.kind === 'state' && selection.path.length) {
      const prefix = nodeId(selection.path);
      const positions = Object.fromEntries(Object.entries(this.positions).filter(([id]) => id !== prefix && !id.startsWith(`${prefix}.`)));
      this.#edit(ops.deleteState(this.doc, selection.path), { selection: null, positions });
    } else if (selection?.kind === 'transition') this.removeTransition(selection.state, selection.ref);
  }

  // ---- layout -------------------------------------------------------------------------------

  /** Transient drag input: positions move on screen without touching the document or its history. */
  drag(event: { type: 'start' | 'move' | 'end'; id: string; position: { x: number; y: number } }): void {
    const { state, commit } = stepDragTool(this.#drag, event);
    this.#drag = state;
    if (commit) this.store.trigger.place({ positions: { ...this.positions, [commit.id]: roundPosition(commit.position) } });
    else this.#changed();
  }

  /** Lays every state out with ELK; with `reset`, forgets the placed positions (one undo step). Returns the layout time in ms. */
  async autoLayout(options: { reset?: boolean } = {}): Promise<number> {
    await warmLayout();
    const { nodes, edges } = this.#derive();
    const started = performance.now();
    const auto = await autoLayout(nodes, edges);
    const ms = performance.now() - started;
    this.#auto = auto;
    this.#layoutMs = ms;
    this.#laidOut = true;
    this.#fitRequest++;
    if (options.reset && Object.keys(this.positions).length) this.store.trigger.place({ positions: {} });
    else this.#changed();
    return ms;
  }

  // ---- history ------------------------------------------------------------------------------

  undo(): void {
    this.store.trigger.undo();
  }

  redo(): void {
    this.store.trigger.redo();
  }

  /** Runs the command a key press means; returns whether it meant one (the caller then prevents the default). */
  handleKey(input: KeyInput): boolean {
    const command = commandForKey(input);
    if (!command) return false;
    if (command === 'delete') this.deleteSelection();
    else if (command === 'undo') this.undo();
    else if (command === 'redo') this.redo();
    else if (command === 'cancel') this.cancel();
    else if (command === 'save') void this.save();
    return true;
  }

  // ---- saving -------------------------------------------------------------------------------

  /**
   * Saves through the server, which validates again, writes the file and
   * registers a new version. Refused locally while the live checks find problems.
   */
  async save(): Promise<SaveMachineResult | undefined> {
    const state = this.getState();
    if (state.issues.length) {
      this.#message = { kind: 'error', text: `Not saved: ${plural(state.issues.length, 'problem')} to fix first (listed below).` };
      this.#changed();
      return undefined;
    }
    if (!this.#options.save) throw new Error('This editor has no server to save to.');
    const doc = this.doc;
    const positions = this.positions;
    this.#saving = true;
    this.#message = null;
    this.#changed();
    try {
      const result = await this.#options.save({ machine: this.name, config: doc, layout: { positions }, baseVersion: this.#baseVersion });
      this.#saved = { doc, positions };
      this.#baseVersion = result.version;
      this.#lastSave = result;
      this.#serverIssues = undefined;
      const what = result.created ? `Created ${result.file}` : result.changed ? `Saved ${result.file}` : `${result.file} is unchanged`;
      this.#message = { kind: 'info', text: `${what}: version ${result.version}${result.runnable ? '; new runs use it' : ''}.` };
      return result;
    } catch (error) {
      const refusal = error as SaveRefusal;
      this.#serverIssues = refusal.issues;
      this.#serverIssuesFor = doc;
      this.#message = { kind: 'error', text: `The server refused the save: ${refusal.message}` };
      return undefined;
    } finally {
      this.#saving = false;
      this.#changed();
    }
  }

  // ---- internals ----------------------------------------------------------------------------

  #edit(doc: MachineDoc, options: { selection?: Selection; positions?: Positions } = {}): void {
    if (doc === this.doc && !options.positions) {
      if (options.selection !== undefined) this.store.trigger.select({ selection: options.selection });
      return;
    }
    this.#message = null;
    this.store.trigger.edit({ doc, ...options });
  }

  #changed(): void {
    this.#state = undefined;
    for (const listener of [...this.#listeners]) listener();
  }

  #derive() {
    const doc = this.doc;
    if (this.#derived?.doc === doc) return this.#derived;
    const { nodes, edges } = buildEditorGraph(doc);
    const implementation = this.#options.implementation;
    const names: ImplementationNames = implementation ? implementationNames(implementation) : namesOnly(machineNames(doc));
    const issues = validateMachineConfig(doc, names, { machines: this.#options.machines ?? [], strict: true });
    const needs = implementation ? null : machineNames(doc);
    this.#derived = { doc, nodes, edges, issues, issueIndex: indexIssues(issues), needs };
    return this.#derived;
  }

  #compute(): EditorState {
    const snapshot = this.store.getSnapshot();
    const { doc, positions, selection } = snapshot.context;
    const derived = this.#derive();
    const placed = this.#drag.name === 'dragging' ? { ...positions, [this.#drag.id]: this.#drag.current } : positions;
    return {
      name: this.name,
      doc,
      positions,
      selection: exists(doc, selection) ? selection : null,
      nodes: derived.nodes,
      edges: derived.edges,
      rects: geometry(derived.nodes, placed, this.#auto),
      issues: derived.issues,
      issueIndex: derived.issueIndex,
      serverIssues: this.#serverIssuesFor === doc ? this.#serverIssues : undefined,
      needsImplementation: derived.needs,
      implementation: this.#options.implementation,
      machines: this.#options.machines ?? [],
      // undoRedo keeps its stacks on the snapshot, beside the context (not in its type).
      canUndo: ((snapshot as unknown as { past?: unknown[] }).past?.length ?? 0) > 0,
      canRedo: ((snapshot as unknown as { future?: unknown[] }).future?.length ?? 0) > 0,
      dirty: !jsonEqual(doc, this.#saved.doc) || !jsonEqual(positions, this.#saved.positions),
      saving: this.#saving,
      baseVersion: this.#baseVersion,
      lastSave: this.#lastSave,
      message: this.#message,
      connect: this.#connect,
      hint: connectToolHint(this.#connect),
      layoutMs: this.#layoutMs,
      laidOut: this.#laidOut,
      fitRequest: this.#fitRequest,
    };
  }
}

/** The names an implementation provides, as the validator reads them. */
export function implementationNames(implementation: ImplementationJson): ImplementationNames {
  const record = (names: string[]) => Object.fromEntries(names.map((n) => [n, true]));
  return {
    actions: record(implementation.actions.map((a) => a.name)),
    guards: record(implementation.guards.map((g) => g.name)),
    delays: record(implementation.delays.map((d) => d.name)),
    activities: record(implementation.activities.map((a) => a.name)),
    schemas: { events: record(implementation.events) },
  };
}

/** For a machine with no code yet: every name it uses counts as provided (they are listed as needed instead). */
function namesOnly(names: MachineNames): ImplementationNames {
  const record = (list: string[]) => Object.fromEntries(list.map((n) => [n, true]));
  return { actions: record(names.actions), guards: record(names.guards), delays: record(names.delays), activities: record(names.activities) };
}

function exists(doc: MachineDoc, selection: Selection): boolean {
  if (!selection) return true;
  if (selection.kind === 'state') return ops.stateAt(doc, selection.path) !== undefined;
  return ops.readTransition(doc, selection.state, selection.ref) !== undefined;
}

function movePositions(positions: Positions, from: string, to: string): Positions {
  const out: Positions = {};
  for (const [id, p] of Object.entries(positions)) {
    out[id === from ? to : id.startsWith(`${from}.`) ? to + id.slice(from.length) : id] = p;
  }
  return out;
}

function roundPosition(p: { x: number; y: number }): { x: number; y: number } {
  return { x: Math.round(p.x), y: Math.round(p.y) };
}

function freeEventName(taken: Set<string>): string {
  for (let i = 1; ; i++) if (!taken.has(`event${i === 1 ? '' : i}`)) return `event${i === 1 ? '' : i}`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export { ROOT_NODE };
