import { closeSync, openSync, utimesSync, watch, type FSWatcher } from 'node:fs';

/**
 * Prompt wake-ups between processes on one database: a file beside it (`<db>.wake`) that a
 * process touches when it wrote work another host must pick up (an event for an actor that host
 * owns), and that every host watches (inotify on Linux, FSEvents or kqueue elsewhere). Any
 * number of hosts may watch; a crashed one leaves nothing to clean up. Where the file cannot be
 * written or watched (a read-only directory, a file system without change events), hosts still
 * find the work at their next poll.
 */
export class WakeFile {
  readonly path: string;

  constructor(databasePath: string) {
    this.path = `${databasePath}.wake`;
  }

  /** Tells every watching host to look for work now (best effort: polling is the fallback). */
  notify(): void {
    const now = new Date();
    try {
      utimesSync(this.path, now, now);
    } catch {
      if (this.#create()) {
        try {
          utimesSync(this.path, now, now);
        } catch {
          // polling finds it
        }
      }
    }
  }

  /** Calls `listener` whenever another process notifies; returns a function that stops watching. */
  watch(listener: () => void): () => void {
    if (!this.#create()) return () => {};
    let watcher: FSWatcher;
    try {
      watcher = watch(this.path, { persistent: false }, () => listener());
    } catch {
      return () => {};
    }
    watcher.on('error', () => watcher.close()); // the file went away: back to polling alone
    return () => watcher.close();
  }

  #create(): boolean {
    try {
      closeSync(openSync(this.path, 'a'));
      return true;
    } catch {
      return false;
    }
  }
}
