/** Editor commands reachable from the keyboard. */
export type KeyCommand = 'delete' | 'undo' | 'redo' | 'cancel' | 'save';

/** The parts of a keyboard event the editor reads. */
export interface KeyInput {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  shiftKey: boolean;
  altKey?: boolean;
  /** The focused element's tag name (typing in a field is never a command, except Escape and save). */
  targetTag?: string;
  /** Whether the focused element is content-editable. */
  targetEditable?: boolean;
}

/**
 * The shortcuts people expect: Delete / Backspace deletes the selection,
 * Ctrl/Cmd+Z undoes, Ctrl/Cmd+Shift+Z and Ctrl+Y redo, Escape cancels the
 * current tool or selection, Ctrl/Cmd+S saves.
 */
export function commandForKey(input: KeyInput): KeyCommand | undefined {
  const mod = input.ctrlKey || input.metaKey;
  const key = input.key.length === 1 ? input.key.toLowerCase() : input.key;
  const typing = input.targetEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(input.targetTag ?? '');
  if (mod && !input.altKey && key === 's') return 'save';
  if (key === 'Escape') return 'cancel';
  if (typing) return undefined;
  if (mod && !input.altKey && key === 'z') return input.shiftKey ? 'redo' : 'undo';
  if (input.ctrlKey && !input.metaKey && !input.altKey && key === 'y') return 'redo';
  if (!mod && (key === 'Delete' || key === 'Backspace')) return 'delete';
  return undefined;
}
