import type { MachineJson, SaveMachineResult } from '@spine/server/protocol';
import { MachineEditor, type SaveRequest } from './MachineEditor.js';

/**
 * The editors open in this tab, by machine name: leaving the editor and coming
 * back keeps each machine's edits and undo history. A machine created in the
 * editor lives here until its first save writes it.
 */
export class EditorSessions {
  readonly #editors = new Map<string, MachineEditor>();

  constructor(readonly save: (request: SaveRequest) => Promise<SaveMachineResult>) {}

  /** The open editor of a machine, opening it from the machines list if needed. */
  open(name: string, machines: Record<string, MachineJson>): MachineEditor | undefined {
    const open = this.#editors.get(name);
    if (open) return open;
    const source = machines[name]?.source;
    if (!source?.config) return undefined;
    const editor = MachineEditor.fromSource(name, source, { machines: this.#agents(machines, name), save: this.save });
    this.#editors.set(name, editor);
    return editor;
  }

  /** Starts a new machine (not written until saved); returns why not, if the name is taken or malformed. */
  create(name: string, machines: Record<string, MachineJson>): string | undefined {
    if (!/^[A-Za-z][A-Za-z0-9_-]{0,63}$/.test(name)) return 'A machine name is a letter followed by letters, digits, - or _ (up to 64).';
    if (machines[name] || this.#editors.has(name)) return `There already is a machine named '${name}'.`;
    this.#editors.set(name, MachineEditor.create(name, { machines: this.#agents(machines, name), save: this.save }));
    return undefined;
  }

  /** Machines created in this tab and not saved yet. */
  drafts(machines: Record<string, MachineJson>): string[] {
    return [...this.#editors.keys()].filter((name) => !machines[name]);
  }

  /** Forgets a machine's editor, so it is opened again from the file (after a reload, or to drop edits). */
  close(name: string): void {
    this.#editors.delete(name);
  }

  #agents(machines: Record<string, MachineJson>, except: string): string[] {
    return Object.values(machines)
      .filter((m) => m.runnable && m.name !== except)
      .map((m) => m.name);
  }
}
