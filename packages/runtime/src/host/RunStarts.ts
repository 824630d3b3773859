import type { CreatedActors, HostStore, NewActor, NewEvent } from '../Store.js';

interface Start {
  actors: NewActor[];
  events: NewEvent[];
  resolve(created: CreatedActors): void;
  reject(error: unknown): void;
}

/**
 * Group commit for run starts: the actors and init events of the runs started in the same turn
 * of the event loop are written by one `createActors` transaction (one fsync at
 * synchronous=FULL instead of one per run). Each caller's promise settles only after the
 * transaction holding its rows committed, with its actors as written. When the shared
 * transaction fails (a run id taken meanwhile, a full disk), each start is written alone, so
 * only the starts that fail by themselves are refused.
 */
export class RunStarts {
  readonly #store: Pick<HostStore, 'createActors'>;
  #pending: Start[] = [];
  #scheduled = false;

  constructor(store: Pick<HostStore, 'createActors'>) {
    this.#store = store;
  }

  /** Writes one run's actors and events with the other starts of this turn; resolves once committed, with its actors as written and its events' ids. */
  create(actors: NewActor[], events: NewEvent[]): Promise<CreatedActors> {
    return new Promise<CreatedActors>((resolve, reject) => {
      this.#pending.push({ actors, events, resolve, reject });
      if (this.#scheduled) return;
      this.#scheduled = true;
      setImmediate(() => void this.#flush());
    });
  }

  async #flush(): Promise<void> {
    this.#scheduled = false;
    const batch = this.#pending;
    this.#pending = [];
    if (batch.length > 1) {
      try {
        const { actors, eventIds } = await this.#store.createActors(
          batch.flatMap((s) => s.actors),
          batch.flatMap((s) => s.events),
        );
        const created = new Map(actors.map((actor) => [actor.id, actor]));
        let first = 0;
        for (const start of batch) {
          const ids = eventIds?.slice(first, first + start.events.length);
          first += start.events.length;
          start.resolve({ actors: start.actors.map((actor) => created.get(actor.id)!), ...(ids ? { eventIds: ids } : {}) });
        }
        return;
      } catch {
        // Nothing of the shared transaction was written: each start alone, below.
      }
    }
    for (const start of batch) {
      try {
        start.resolve(await this.#store.createActors(start.actors, start.events));
      } catch (error) {
        start.reject(error);
      }
    }
  }
}
