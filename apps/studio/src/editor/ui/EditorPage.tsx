import type { SaveMachineResult } from '@spine/server/protocol';
import { memo, useEffect, useMemo, useState, useSyncExternalStore } from 'react';
import type { Studio } from '../../model/Studio.js';
import { useStudio, useStudioState } from '../../ui/hooks.js';
import { warmLayout } from '../editorLayout.js';
import { EditorSessions } from '../editorSessions.js';
import type { EditorState, MachineEditor } from '../MachineEditor.js';
import { EditorCanvas } from './EditorCanvas.js';
import { Inspector as InspectorView } from './Inspector.js';
import { IssueList as IssueListView } from './IssueList.js';
import { MachineTools } from './MachineTools.js';
import './editor.css';

const sessions = new WeakMap<Studio, EditorSessions>();

function sessionsOf(studio: Studio): EditorSessions {
  let s = sessions.get(studio);
  if (!s) {
    s = new EditorSessions(async (request) => {
      const result = await studio.request<SaveMachineResult>({ type: 'saveMachine', ...request });
      void studio.loadMachines();
      return result;
    });
    sessions.set(studio, s);
  }
  return s;
}

/** The editor's state, re-rendered on every change. */
export function useEditorState(editor: MachineEditor): EditorState {
  return useSyncExternalStore(editor.subscribe, editor.getState);
}

/** The machine editor: the machines list, and the open machine's canvas, inspector and problems. */
export function EditorPage({ machine }: { machine: string | null }) {
  const studio = useStudio();
  const { machines } = useStudioState();
  const s = sessionsOf(studio);
  const [, setReopened] = useState(0);
  useEffect(() => void warmLayout(), []); // while the machines load
  const editor = machine ? s.open(machine, machines) : undefined;
  const names = [...Object.values(machines).filter((m) => m.source).map((m) => m.name), ...s.drafts(machines)].sort();
  const editable = Object.values(machines).some((m) => m.source);
  return (
    <div className="editor-page">
      <aside className="editor-machines">
        <h2>Machines</h2>
        {!editable && !names.length && <p className="muted">This server has no machines directory (start it with <code>spine serve --machines DIR</code>).</p>}
        <ul>
          {names.map((name) => (
            <li key={name}>
              <a href={`#/editor/${encodeURIComponent(name)}`} className={name === machine ? 'active' : ''} data-testid="editor-machine-link">
                {name}
              </a>
              {!machines[name] && <span className="muted"> (new)</span>}
              {machines[name]?.source && !machines[name]!.source!.implementation && <span className="muted"> (no code yet)</span>}
            </li>
          ))}
        </ul>
        <NewMachine onCreate={(name) => s.create(name, machines)} />
      </aside>
      {machine && !editor && <p className="muted pad">{machines[machine]?.source?.error ?? `Loading ${machine}…`}</p>}
      {!machine && <p className="muted pad">Pick a machine to edit, or create one.</p>}
      {editor && (
        <MachineEditorView
          key={machine}
          editor={editor}
          onRevert={async () => {
            // Drop this tab's edits and history and open the file as it is now.
            await studio.loadMachines();
            s.close(editor.name);
            if (!studio.getState().machines[editor.name]) studio.navigate({ page: 'editor', machine: null });
            setReopened((n) => n + 1);
          }}
        />
      )}
    </div>
  );
}

function NewMachine({ onCreate }: { onCreate: (name: string) => string | undefined }) {
  const studio = useStudio();
  const [name, setName] = useState('');
  const [error, setError] = useState<string | undefined>();
  return (
    <form
      className="editor-new"
      onSubmit={(e) => {
        e.preventDefault();
        const problem = onCreate(name.trim());
        setError(problem);
        if (!problem) {
          studio.navigate({ page: 'editor', machine: name.trim() });
          setName('');
        }
      }}
    >
      <input aria-label="New machine name" placeholder="new-machine" value={name} onChange={(e) => setName(e.target.value)} data-testid="new-machine-name" />
      <button type="submit" disabled={!name.trim()}>
        New machine
      </button>
      {error && <p className="error">{error}</p>}
    </form>
  );
}

function MachineEditorView({ editor, onRevert }: { editor: MachineEditor; onRevert: () => Promise<void> }) {
  const state = useEditorState(editor);
  useEffect(() => {
    if (!editor.getState().laidOut) void editor.autoLayout();
  }, [editor]);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const target = e.target as HTMLElement | null;
      const handled = editor.handleKey({
        key: e.key,
        ctrlKey: e.ctrlKey,
        metaKey: e.metaKey,
        shiftKey: e.shiftKey,
        altKey: e.altKey,
        targetTag: target?.tagName ?? '',
        targetEditable: Boolean(target?.isContentEditable),
      });
      if (handled) e.preventDefault();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [editor]);
  const selectedState = state.selection?.kind === 'state' ? state.selection.path : undefined;
  const status = useMemo(() => statusText(state), [state]);
  const [tool, setTool] = useState<'export' | 'simulate' | null>(null);
  return (
    <section className="editor-main" data-testid="machine-editor" data-machine={state.name} data-dirty={state.dirty} data-issues={state.issues.length}>
      <div className="editor-toolbar" role="toolbar" aria-label="Machine editor">
        <button onClick={() => editor.addState({ ...(selectedState && state.selection ? { parent: selectedState.slice(0, -1) } : {}) })} data-testid="add-state">
          + State
        </button>
        <button
          disabled={!selectedState || state.nodes.find((n) => n.path.join('.') === selectedState.join('.'))?.kind === 'final'}
          onClick={() => selectedState && editor.addState({ parent: selectedState })}
          title="Add a child state inside the selected state"
        >
          + Child
        </button>
        <button className={state.connect.name !== 'idle' ? 'active' : ''} onClick={() => (state.connect.name === 'idle' ? editor.startConnect() : editor.cancel())} data-testid="draw-transition">
          → Transition
        </button>
        <button onClick={() => void editor.autoLayout({ reset: true })} title="Lay every state out again (forgets dragged positions; undoable)">
          Auto-layout
        </button>
        <button disabled={!state.canUndo} onClick={() => editor.undo()} title="Undo (Ctrl/Cmd+Z)" data-testid="undo">
          Undo
        </button>
        <button disabled={!state.canRedo} onClick={() => editor.redo()} title="Redo (Ctrl/Cmd+Shift+Z, Ctrl+Y)" data-testid="redo">
          Redo
        </button>
        <button className="primary" disabled={state.saving || state.issues.length > 0} onClick={() => void editor.save()} title="Save (Ctrl/Cmd+S)" data-testid="save-machine">
          {state.saving ? 'Saving…' : 'Save'}
        </button>
        <button
          disabled={!state.dirty && state.baseVersion !== null}
          title="Forget the edits made here and open the file as it is now"
          onClick={() => {
            if (!state.dirty || window.confirm(`Discard your edits to ${state.name}?`)) void onRevert();
          }}
        >
          Revert
        </button>
        <button className={tool === 'simulate' ? 'active' : ''} onClick={() => setTool(tool === 'simulate' ? null : 'simulate')} data-testid="open-simulate" title="Step the machine through events without a run or any effect">
          Simulate
        </button>
        <button className={tool === 'export' ? 'active' : ''} onClick={() => setTool(tool === 'export' ? null : 'export')} data-testid="open-export" title="The machine as TypeScript (setup().createMachine()) or Mermaid">
          Export
        </button>
        <span className="editor-status muted" data-testid="editor-status">
          {status}
        </span>
      </div>
      {state.hint && <p className="editor-hint">{state.hint}</p>}
      {state.message && (
        <p className={`editor-message ${state.message.kind}`} role={state.message.kind === 'error' ? 'alert' : 'status'} data-testid="editor-message">
          {state.message.text}
        </p>
      )}
      {tool && <MachineTools key={tool} name={state.name} config={editor.doc} mode={tool} onClose={() => setTool(null)} />}
      <div className="editor-body">
        <EditorCanvas editor={editor} state={state} />
        <Inspector editor={editor} state={state} />
      </div>
      <IssueList editor={editor} state={state} />
    </section>
  );
}

// While a state is dragged only the boxes change: the panels beside the canvas need not render each frame.
const LAYOUT_ONLY = new Set<keyof EditorState>(['rects', 'fitRequest', 'layoutMs', 'laidOut']);
function sameBesidesLayout(a: { editor: MachineEditor; state: EditorState }, b: { editor: MachineEditor; state: EditorState }): boolean {
  return a.editor === b.editor && (Object.keys(a.state) as (keyof EditorState)[]).every((k) => LAYOUT_ONLY.has(k) || a.state[k] === b.state[k]);
}
const Inspector = memo(InspectorView, sameBesidesLayout);
const IssueList = memo(IssueListView, sameBesidesLayout);

function statusText(state: EditorState): string {
  const parts = [state.dirty ? 'unsaved changes' : 'saved', state.baseVersion ? `version ${state.baseVersion}` : 'new machine', `${state.nodes.length} states`];
  if (state.layoutMs !== null) parts.push(`layout ${Math.round(state.layoutMs)} ms`);
  return parts.join(' · ');
}
