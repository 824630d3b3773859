import { useState } from 'react';
import type { MachineEditor } from '../MachineEditor.js';
import { minConfidenceOf } from '../confidenceMeta.js';

/**
 * The inspector's confidence threshold for a state (`meta.minConfidence`): when the agent's
 * declared confidence is below it, a low-risk action of this state waits in the review queue.
 */
export function ConfidenceField({ editor, path }: { editor: MachineEditor; path: string[] }) {
  const value = minConfidenceOf(editor.doc, path);
  const shown = value === undefined ? '' : String(value);
  const [text, setText] = useState(shown);
  const [base, setBase] = useState(shown);
  const [error, setError] = useState<string | undefined>();
  if (base !== shown) {
    setBase(shown);
    setText(shown);
  }
  const commit = () => {
    if (text === shown) return;
    const n = text.trim() === '' ? undefined : Number(text);
    if (n !== undefined && !(n >= 0 && n <= 1)) {
      setError('a number from 0 to 1, or empty for none');
      setText(shown);
      return;
    }
    setError(undefined);
    editor.setMinConfidence(path, n);
  };
  return (
    <label className="editor-field">
      <span className="editor-field-label">Min confidence</span>
      <span className="editor-field-value">
        <input
          value={text}
          data-testid="state-min-confidence"
          placeholder="0..1: below it, low risk goes to review"
          inputMode="decimal"
          onChange={(e) => setText(e.target.value)}
          onBlur={commit}
          onKeyDown={(e) => {
            if (e.key === 'Enter') commit();
            if (e.key === 'Escape') setText(shown);
          }}
        />
        {error && <span className="error small"> {error}</span>}
      </span>
    </label>
  );
}
