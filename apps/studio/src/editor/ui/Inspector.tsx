import type { TransitionRef } from '@spine/runtime/editing';
import { useState, type ReactNode } from 'react';
import { edgeIssues, nodeId, transitionKey } from '../editorGraph.js';
import { invokesOf, readTransition, stateAt, stateKind, type StateKind, type TransitionFields, type TransitionSource } from '../machineDocument.js';
import type { EditorState, MachineEditor } from '../MachineEditor.js';
import { ConfidenceField } from './ConfidenceField.js';

/** The right-hand panel: the selected state, transition, or the machine itself. */
export function Inspector({ editor, state }: { editor: MachineEditor; state: EditorState }) {
  const selection = state.selection;
  return (
    <aside className="editor-inspector panel" data-testid="inspector">
      {!selection && <MachinePanel editor={editor} state={state} />}
      {selection?.kind === 'state' && <StatePanel key={nodeId(selection.path)} editor={editor} state={state} path={selection.path} />}
      {selection?.kind === 'transition' && (
        <TransitionPanel key={transitionKey(selection.state, selection.ref)} editor={editor} state={state} from={selection.state} ref_={selection.ref} />
      )}
    </aside>
  );
}

function MachinePanel({ editor, state }: { editor: MachineEditor; state: EditorState }) {
  const root = state.doc;
  const children = Object.keys((root.states as Record<string, unknown> | undefined) ?? {});
  const impl = state.implementation;
  return (
    <>
      <h3>Machine {state.name}</h3>
      <Field label="Initial state">
        <select value={String(root.initial ?? '')} onChange={(e) => editor.setInitial([], e.target.value)} data-testid="machine-initial">
          {children.map((c) => (
            <option key={c}>{c}</option>
          ))}
        </select>
      </Field>
      {impl ? (
        <div className="muted small">
          <p>From its implementation ({state.name}.ts):</p>
          <p>Events: {impl.events.join(', ') || 'none'}</p>
          <p>Actions: {impl.actions.map((a) => `${a.name} (${a.kind})`).join(', ') || 'none'}</p>
          <p>Guards: {impl.guards.map((g) => g.name).join(', ') || 'none'}</p>
          <p>Activities: {impl.activities.map((a) => (a.kind === 'machine' ? `${a.name} (agent)` : a.name)).join(', ') || 'none'}</p>
        </div>
      ) : (
        <p className="muted small">No implementation is loaded for this machine yet: any name can be used here, and the problems list says which ones need code.</p>
      )}
      <p className="muted small">Select a state or a transition to edit it. Delete removes the selection; Ctrl/Cmd+Z undoes, Ctrl/Cmd+Shift+Z redoes.</p>
    </>
  );
}

function StatePanel({ editor, state, path }: { editor: MachineEditor; state: EditorState; path: string[] }) {
  const [error, setError] = useState<string | undefined>();
  const node = stateAt(state.doc, path);
  if (!node) return null;
  const parent = path.slice(0, -1);
  const parentNode = stateAt(state.doc, parent);
  const kind = stateKind(node);
  const hasChildren = Object.keys((node.states as Record<string, unknown> | undefined) ?? {}).length > 0;
  const impl = state.implementation;
  const actionNames = impl ? impl.actions.map((a) => a.name) : undefined;
  const issues = state.issueIndex.byNode.get(nodeId(path)) ?? [];
  const outgoing = state.edges.filter((e) => e.element.state.join('.') === path.join('.'));
  const tags = Array.isArray(node.tags) ? (node.tags as string[]) : typeof node.tags === 'string' ? [node.tags] : [];
  const risk = (node.meta as { risk?: string } | undefined)?.risk;
  return (
    <>
      <h3>State {path.join('.')}</h3>
      <Field label="Name">
        <CommitInput
          value={path.at(-1)!}
          testId="state-name"
          onCommit={(name) => {
            const problem = editor.renameState(path, name);
            setError(problem);
            return !problem;
          }}
        />
      </Field>
      {error && <p className="error small">{error}</p>}
      <Field label="About">
        <CommitInput value={typeof node.description === 'string' ? node.description : ''} testId="state-description" placeholder="what happens here" onCommit={(text) => (editor.setDescription(path, text), true)} />
      </Field>
      <Field label="Kind">
        <select value={kind} onChange={(e) => setError(editor.setStateKind(path, e.target.value as StateKind))} data-testid="state-kind">
          <option value="atomic" disabled={hasChildren}>
            atomic
          </option>
          <option value="compound" disabled={!hasChildren}>
            compound
          </option>
          <option value="parallel">parallel</option>
          <option value="final" disabled={hasChildren}>
            final
          </option>
        </select>
      </Field>
      {parentNode?.type !== 'parallel' && (
        <Field label="Initial">
          <input type="checkbox" checked={parentNode?.initial === path.at(-1)} disabled={parentNode?.initial === path.at(-1)} onChange={() => editor.setInitial(parent, path.at(-1)!)} />
          <span className="muted small"> the state {parent.length ? `'${parent.join('.')}'` : 'the machine'} starts in</span>
        </Field>
      )}
      <Field label="Risk tier">
        <select value={risk ?? ''} onChange={(e) => editor.setRisk(path, (e.target.value || undefined) as 'low' | 'medium' | 'high' | undefined)} data-testid="state-risk">
          <option value="">none</option>
          <option value="low">low: act and log</option>
          <option value="medium">medium: queue for approval</option>
          <option value="high">high: halt and alert</option>
        </select>
      </Field>
      <ConfidenceField editor={editor} path={path} />
      <Field label="Tags">
        <CommitInput value={tags.join(', ')} testId="state-tags" placeholder="comma, separated" onCommit={(text) => (editor.setTags(path, text.split(',')), true)} />
      </Field>
      <Field label="Entry">
        <NameList names={toNames(node.entry)} options={actionNames} testId="state-entry" onChange={(list) => editor.setStateActions(path, 'entry', list)} />
      </Field>
      <Field label="Exit">
        <NameList names={toNames(node.exit)} options={actionNames} testId="state-exit" onChange={(list) => editor.setStateActions(path, 'exit', list)} />
      </Field>
      <Field label="Invokes">
        <div className="editor-list">
          {invokesOf(node).map((invoke, i) => (
            <div key={i} className="editor-row">
              <select value={String(invoke.src ?? '')} onChange={(e) => editor.setInvokeSrc(path, i, e.target.value)} aria-label={`Invoke ${i + 1}`}>
                {[...new Set([String(invoke.src ?? ''), ...(impl?.activities.map((a) => a.name) ?? [])])].map((name) => (
                  <option key={name}>{name}</option>
                ))}
              </select>
              <span className="muted small">id {String(invoke.id ?? '')}</span>
              <button className="link" onClick={() => editor.removeInvoke(path, i)} aria-label={`Remove invoke ${String(invoke.src)}`}>
                ×
              </button>
            </div>
          ))}
          <AddName options={impl?.activities.map((a) => a.name)} placeholder="activity…" testId="state-add-invoke" onAdd={(src) => editor.addInvoke(path, src)} />
        </div>
      </Field>
      <Field label="Transitions">
        <div className="editor-list">
          {outgoing.map((e) => (
            <button key={e.id} className="link" onClick={() => editor.select({ kind: 'transition', state: e.element.state, ref: e.element.transition })}>
              {e.label} → {e.target}
            </button>
          ))}
          <button onClick={() => (editor.select({ kind: 'state', path }), editor.startConnect())}>+ Transition from here</button>
        </div>
      </Field>
      <div className="editor-row">
        <button onClick={() => editor.addState({ parent: path })}>+ Child state</button>
        <button className="danger" onClick={() => editor.deleteSelection()} data-testid="delete-state">
          Delete state
        </button>
      </div>
      <IssuesHere messages={issues.map((i) => i.message)} />
    </>
  );
}

const SOURCES: { value: TransitionSource; label: string }[] = [
  { value: 'on', label: 'on event' },
  { value: 'after', label: 'after a delay' },
  { value: 'always', label: 'always (eventless)' },
  { value: 'invoke.onDone', label: 'when an invoke is done' },
  { value: 'invoke.onError', label: 'when an invoke fails' },
  { value: 'onDone', label: 'when its child states are done' },
];

function TransitionPanel({ editor, state, from, ref_ }: { editor: MachineEditor; state: EditorState; from: string[]; ref_: TransitionRef & { index: number } }) {
  const fields = readTransition(state.doc, from, ref_);
  if (!fields) return null;
  const node = stateAt(state.doc, from);
  const invokes = invokesOf(node);
  const impl = state.implementation;
  const edge = state.edges.find((e) => transitionKey(e.element.state, e.element.transition) === transitionKey(from, ref_));
  const issues = edge ? edgeIssues(state.issueIndex, edge) : (state.issueIndex.byTransition.get(transitionKey(from, ref_)) ?? []);
  const targets = state.nodes.filter((n) => n.path.length).map((n) => n.id);
  const currentTarget = edge?.target;
  const update = (patch: Parameters<MachineEditor['updateTransition']>[2]) => editor.updateTransition(from, ref_, patch);
  const used = Object.keys((node?.on as Record<string, unknown> | undefined) ?? {});
  return (
    <>
      <h3>Transition from {from.join('.')}</h3>
      <Field label="When">
        <select
          value={ref_.source}
          data-testid="transition-kind"
          onChange={(e) => {
            const source = e.target.value as TransitionSource;
            const key = source === 'on' ? (impl?.events.find((x) => !used.includes(x)) ?? 'event') : source === 'after' ? '1000' : undefined;
            update({ source, ...(key !== undefined ? { key } : {}), ...(source.startsWith('invoke.') ? { invoke: 0 } : {}) });
          }}
        >
          {SOURCES.filter((s) => (!s.value.startsWith('invoke.') || invokes.length > 0) && (s.value !== 'onDone' || Boolean(node?.states))).map((s) => (
            <option key={s.value} value={s.value}>
              {s.label}
            </option>
          ))}
        </select>
      </Field>
      {ref_.source === 'on' && (
        <Field label="Event">
          <CommitInput value={ref_.key ?? ''} testId="transition-event" list="editor-events" onCommit={(key) => (key.trim() ? (update({ source: 'on', key: key.trim() }), true) : false)} />
          <datalist id="editor-events">
            {(impl?.events ?? []).map((e) => (
              <option key={e} value={e} />
            ))}
          </datalist>
        </Field>
      )}
      {ref_.source === 'after' && (
        <Field label="Delay">
          <CommitInput value={ref_.key ?? ''} testId="transition-delay" list="editor-delays" placeholder="ms, or a named delay" onCommit={(key) => (key.trim() ? (update({ source: 'after', key: key.trim() }), true) : false)} />
          <datalist id="editor-delays">
            {(impl?.delays ?? []).map((d) => (
              <option key={d.name} value={d.name}>
                {d.ms !== null ? `${d.ms} ms` : ''}
              </option>
            ))}
          </datalist>
        </Field>
      )}
      {ref_.source.startsWith('invoke.') && invokes.length > 1 && (
        <Field label="Invoke">
          <select value={ref_.invoke ?? 0} onChange={(e) => update({ source: ref_.source, invoke: Number(e.target.value) })}>
            {invokes.map((inv, i) => (
              <option key={i} value={i}>
                {String(inv.id ?? inv.src)}
              </option>
            ))}
          </select>
        </Field>
      )}
      <Field label="Target">
        <select
          value={fields.target === undefined ? '' : (currentTarget ?? '(unresolved)')}
          data-testid="transition-target"
          onChange={(e) => (e.target.value ? editor.retarget(from, ref_, e.target.value.split('.')) : update({ target: undefined }))}
        >
          <option value="">(none: stay, run the actions)</option>
          {fields.target !== undefined && !currentTarget && <option value="(unresolved)">{fields.target} (does not exist)</option>}
          {targets.map((t) => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
        </select>
      </Field>
      <Field label="Guard">
        {impl ? (
          <select value={fields.guard ?? ''} onChange={(e) => update({ guard: e.target.value || undefined })} data-testid="transition-guard">
            <option value="">(none)</option>
            {[...new Set([...(fields.guard ? [fields.guard] : []), ...impl.guards.map((g) => g.name)])].map((g) => (
              <option key={g}>{g}</option>
            ))}
          </select>
        ) : (
          <CommitInput value={fields.guard ?? ''} testId="transition-guard" onCommit={(g) => (update({ guard: g.trim() || undefined }), true)} />
        )}
      </Field>
      <Field label="Actions">
        <NameList names={fields.actions} options={impl?.actions.map((a) => a.name)} testId="transition-actions" onChange={(actions) => update({ actions })} />
      </Field>
      <ParamsFields editor={editor} state={state} from={from} ref_={ref_} fields={fields} />
      <button className="danger" onClick={() => editor.removeTransition(from, ref_)} data-testid="delete-transition">
        Delete transition
      </button>
      <IssuesHere messages={issues.map((i) => i.message)} />
    </>
  );
}

/** Params of the guard and actions that take them (declared in `schemas.params`, or already written), as JSON. */
function ParamsFields({ editor, state, from, ref_, fields }: { editor: MachineEditor; state: EditorState; from: string[]; ref_: TransitionRef & { index: number }; fields: TransitionFields }) {
  const impl = state.implementation;
  const rows: { label: string; which: { action: number } | 'guard'; params: Record<string, unknown> | undefined; schema: unknown }[] = [];
  if (fields.guard) {
    const schema = impl?.guards.find((g) => g.name === fields.guard)?.params ?? null;
    if (schema || fields.guardParams) rows.push({ label: `${fields.guard}`, which: 'guard', params: fields.guardParams, schema });
  }
  fields.actions.forEach((name, i) => {
    const schema = impl?.actions.find((a) => a.name === name)?.params ?? null;
    const params = fields.actionParams?.[i];
    if (schema || params) rows.push({ label: name, which: { action: i }, params, schema });
  });
  if (!rows.length) return null;
  return (
    <>
      {rows.map((row) => (
        <Field key={row.which === 'guard' ? 'guard' : `a${row.which.action}`} label={`${row.label} params`}>
          <CommitInput
            value={row.params ? JSON.stringify(row.params) : ''}
            placeholder={schemaHint(row.schema)}
            testId={row.which === 'guard' ? 'guard-params' : `action-params-${row.which.action}`}
            onCommit={(text) => {
              if (!text.trim()) {
                editor.setParams(from, ref_, row.which, undefined);
                return true;
              }
              try {
                const value = JSON.parse(text) as unknown;
                if (!value || typeof value !== 'object' || Array.isArray(value)) return false;
                editor.setParams(from, ref_, row.which, value as Record<string, unknown>);
                return true;
              } catch {
                return false;
              }
            }}
          />
        </Field>
      ))}
    </>
  );
}

/** A one-line reminder of a params JSON Schema: `{ channel: string, urgent?: boolean }`. */
function schemaHint(schema: unknown): string {
  const s = schema as { properties?: Record<string, { type?: unknown }>; required?: string[] } | null;
  if (!s?.properties) return '{ … } as JSON';
  const fields = Object.entries(s.properties).map(([k, v]) => `${k}${s.required?.includes(k) ? '' : '?'}: ${String(v.type ?? 'any')}`);
  return `{ ${fields.join(', ')} }`;
}

function Field({ label, children }: { label: string; children: ReactNode }) {
  return (
    <label className="editor-field">
      <span className="editor-field-label">{label}</span>
      <span className="editor-field-value">{children}</span>
    </label>
  );
}

/** A text field that applies its value on Enter or when it loses focus; Escape restores it. */
function CommitInput({ value, onCommit, testId, placeholder, list }: { value: string; onCommit: (value: string) => boolean; testId?: string; placeholder?: string; list?: string }) {
  const [text, setText] = useState(value);
  const [base, setBase] = useState(value);
  if (base !== value) {
    setBase(value);
    setText(value);
  }
  const commit = () => {
    if (text !== value && !onCommit(text)) setText(value);
  };
  return (
    <input
      value={text}
      placeholder={placeholder}
      list={list}
      data-testid={testId}
      onChange={(e) => setText(e.target.value)}
      onBlur={commit}
      onKeyDown={(e) => {
        if (e.key === 'Enter') commit();
        if (e.key === 'Escape') setText(value);
      }}
    />
  );
}

/** A list of names (actions) with remove buttons and a picker to add one. */
function NameList({ names, options, onChange, testId }: { names: string[]; options: string[] | undefined; onChange: (names: string[]) => void; testId: string }) {
  return (
    <div className="editor-list" data-testid={testId}>
      {names.map((name, i) => (
        <span key={`${name}-${i}`} className="editor-chip">
          {name}
          <button className="link" onClick={() => onChange(names.filter((_, j) => j !== i))} aria-label={`Remove ${name}`}>
            ×
          </button>
        </span>
      ))}
      <AddName options={options} placeholder="action…" testId={`${testId}-add`} onAdd={(name) => onChange([...names, name])} />
    </div>
  );
}

/**
 * Adds a name: typed, with the implementation's names offered as suggestions.
 * A name the implementation does not provide is accepted here and flagged by
 * the live checks (it blocks saving until it exists or is removed).
 */
function AddName({ options, onAdd, placeholder, testId }: { options: string[] | undefined; onAdd: (name: string) => void; placeholder: string; testId: string }) {
  const [text, setText] = useState('');
  const listId = `${testId}-options`;
  return (
    <>
      <input
        value={text}
        placeholder={`add ${placeholder}`}
        list={options ? listId : undefined}
        data-testid={testId}
        aria-label={`Add ${placeholder}`}
        onChange={(e) => {
          const value = e.target.value;
          // Picking a suggestion adds it at once; typing waits for Enter.
          if (options?.includes(value) && (e.nativeEvent as InputEvent).inputType === undefined) {
            onAdd(value);
            setText('');
          } else setText(value);
        }}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && text.trim()) {
            onAdd(text.trim());
            setText('');
          }
        }}
      />
      {options && (
        <datalist id={listId}>
          {options.map((o) => (
            <option key={o} value={o} />
          ))}
        </datalist>
      )}
    </>
  );
}

function IssuesHere({ messages }: { messages: string[] }) {
  if (!messages.length) return null;
  return (
    <ul className="editor-issues-here" role="alert">
      {messages.map((m, i) => (
        <li key={i} className="error small">
          {m}
        </li>
      ))}
    </ul>
  );
}

function toNames(value: unknown): string[] {
  const list = Array.isArray(value) ? value : value === undefined ? [] : [value];
  return list.map((a) => (typeof a === 'string' ? a : String((a as { type?: unknown })?.type ?? ''))).filter(Boolean);
}
