import type { MachineElement } from '@spine/runtime/editing';
import type { EditorState, MachineEditor } from '../MachineEditor.js';

/**
 * Every problem the live checks (and the last save) found, each naming its
 * element; clicking one selects that state or transition on the canvas.
 * Below them, the names that still need implementations in code.
 */
export function IssueList({ editor, state }: { editor: MachineEditor; state: EditorState }) {
  const select = (element: MachineElement | undefined) => {
    if (!element) return;
    if (element.transition && element.transition.index !== undefined) {
      editor.select({ kind: 'transition', state: element.state, ref: { ...element.transition, index: element.transition.index } });
    } else editor.select(element.state.length ? { kind: 'state', path: element.state } : null);
  };
  const needs = state.needsImplementation;
  const needed = needs ? (Object.entries(needs) as [string, string[]][]).filter(([, names]) => names.length) : [];
  return (
    <div className="editor-issues panel" data-testid="editor-issues">
      <h3>{state.issues.length ? `${state.issues.length} problem${state.issues.length === 1 ? '' : 's'}: fix them to save` : 'No problems: this machine can be saved'}</h3>
      <ul>
        {state.issues.map((issue, i) => (
          <li key={i}>
            <button className="link issue" onClick={() => select(issue.element)} data-testid="issue" data-rule={issue.rule}>
              <code>{issue.path}</code> {issue.message}
            </button>
          </li>
        ))}
        {(state.serverIssues ?? []).map((issue, i) => (
          <li key={`s${i}`}>
            <button className="link issue" onClick={() => select(issue.element as MachineElement | undefined)} data-testid="server-issue" data-rule={issue.rule}>
              <code>{issue.path}</code> {issue.message} <span className="muted">(server)</span>
            </button>
          </li>
        ))}
      </ul>
      {needs && (
        <div className="editor-needs" data-testid="needs-implementation">
          <h4>Needs implementations in {state.name}.ts</h4>
          {needed.length ? (
            <ul>
              {needed.map(([kind, names]) => (
                <li key={kind}>
                  {kind}: {names.join(', ')}
                </li>
              ))}
            </ul>
          ) : (
            <p className="muted small">Nothing yet: the machine names no actions, guards, delays, activities or events.</p>
          )}
          <p className="muted small">
            {state.lastSave?.scaffold
              ? `${state.lastSave.scaffold} was written with a stub for each; replace the stubs, then restart spine serve to run it.`
              : 'Saving writes the machine and, if it has no code yet, a stub implementation file to fill in.'}
          </p>
        </div>
      )}
    </div>
  );
}
