import type { Runtime, Store } from '@spine/runtime';
import type { z } from 'zod';
import { MachineFiles } from './MachineFiles.js';
import type { bodies, MachineJson, MoveActorJson, SaveMachineResult } from './protocol.js';
import { ServerError } from './ServerError.js';

type Body<K extends keyof typeof bodies> = z.infer<(typeof bodies)[K]>;

/**
 * The editor's commands: machine sources for GET /api/machines, `saveMachine`
 * and `moveActor`. Saving needs the machines directory (`spine serve --machines`);
 * moving needs the runtime, whose registry builds the target version.
 */
export class MachineEditing {
  readonly files: MachineFiles | undefined;
  readonly #runtime: Runtime | undefined;
  readonly #store: Store;
  readonly #onRunChanged: (runId: string) => void;

  constructor(options: { store: Store; runtime?: Runtime; machinesDir?: string; onRunChanged?: (runId: string) => void }) {
    this.#store = options.store;
    this.#runtime = options.runtime;
    this.#onRunChanged = options.onRunChanged ?? (() => {});
    this.files = options.machinesDir ? new MachineFiles(options.machinesDir, { store: options.store, ...(options.runtime ? { registry: options.runtime.registry } : {}) }) : undefined;
  }

  /** Adds each machine's files (and machines that exist only as files, created in the editor) to the machines list. */
  withSources(machines: MachineJson[]): MachineJson[] {
    if (!this.files) return machines;
    const sources = this.files.list();
    const out = machines.map((m) => (sources.has(m.name) ? { ...m, source: sources.get(m.name)! } : m));
    for (const [name, source] of sources) {
      if (!machines.some((m) => m.name === name)) out.push({ name, runnable: false, current: source.version, versions: [], events: [], input: null, source });
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Validates, writes and registers an edited (or new) machine. */
  async save(body: Body<'saveMachine'>): Promise<SaveMachineResult> {
    if (!this.files) {
      throw new ServerError('not_available', 'This server has no machines directory to save to: start it with `spine serve --machines DIR`.');
    }
    return this.files.save(body);
  }

  /** Moves a running actor to another version of its machine, if its current state exists there. */
  async move(body: Body<'moveActor'>): Promise<MoveActorJson> {
    if (!this.#runtime) throw new ServerError('no_runtime', 'This server has no runtime (no machines loaded), so it cannot build the version to move to.');
    const result = await this.#runtime.control.moveVersion(body.actorId, { to: body.version ?? 'current', who: 'studio' });
    const actor = await this.#store.getActor(body.actorId);
    if (actor) this.#onRunChanged(actor.runId);
    return result;
  }
}
