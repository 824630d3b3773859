import Database from 'better-sqlite3';

/** The parts of LangGraph.js the benchmark uses (typed here: the peer is optional, never a dependency of the CLI). */
interface LangGraph {
  StateGraph: new (state: unknown) => GraphBuilder;
  Annotation: ((options?: unknown) => unknown) & { Root(fields: Record<string, unknown>): unknown };
  START: string;
  END: string;
}
interface GraphBuilder {
  addNode(name: string, run: (state: { n: number }) => Promise<{ n: number }>): GraphBuilder;
  addEdge(from: string, to: string): GraphBuilder;
  compile(options: { checkpointer: unknown }): { invoke(input: { n: number }, config: Record<string, unknown>): Promise<{ n: number }> };
}

/** A 20-node LangGraph.js graph with SqliteSaver, run like Spine's activity workflow. */
export interface Peer {
  name: string;
  version: string;
  /** Runs `runs` graphs, `inFlight` at a time, on a fresh database at `synchronous`; returns steps per second. */
  measure(path: string, synchronous: 'NORMAL' | 'FULL', runs: number, inFlight: number, steps: number, warmUp: boolean): Promise<number>;
}

// Variables, not literals: TypeScript and bundlers must not treat the peer as a dependency.
const LANGGRAPH = '@langchain/langgraph';
const SQLITE_SAVER = '@langchain/langgraph-checkpoint-sqlite';

/**
 * LangGraph.js + SqliteSaver when they are installed (they are dev dependencies of the repo's
 * test workspace, not of @spine/cli), else the reason they are not.
 */
export async function loadLangGraph(): Promise<Peer | { missing: string }> {
  let lg: LangGraph;
  let saver: { SqliteSaver: new (db: Database.Database) => unknown };
  try {
    lg = (await import(LANGGRAPH)) as LangGraph;
    saver = (await import(SQLITE_SAVER)) as typeof saver;
  } catch (error) {
    return { missing: `LangGraph.js peer not installed (${LANGGRAPH} and ${SQLITE_SAVER}; in the Spine repo run npm install): ${(error as Error).message.split('\n')[0]}` };
  }
  const version = await packageVersion(LANGGRAPH);
  return {
    name: 'LangGraph.js + SqliteSaver',
    version,
    async measure(path, synchronous, runs, inFlight, steps, warmUp) {
      const db = new Database(path);
      db.pragma('journal_mode = WAL');
      db.pragma(`synchronous = ${synchronous}`);
      const State = lg.Annotation.Root({ n: lg.Annotation() });
      let graph = new lg.StateGraph(State);
      // Each node stands for an activity: async work whose result is checkpointed before the next node runs.
      for (let i = 0; i < steps; i++) graph = graph.addNode(`s${i}`, async (state) => ({ n: state.n + 1 }));
      graph = graph.addEdge(lg.START, 's0');
      for (let i = 0; i + 1 < steps; i++) graph = graph.addEdge(`s${i}`, `s${i + 1}`);
      graph = graph.addEdge(`s${steps - 1}`, lg.END);
      const app = graph.compile({ checkpointer: new saver.SqliteSaver(db) });
      const one = async (thread: string) => {
        // durability 'sync': each checkpoint is written before the next step starts (as Spine commits each step).
        const out = await app.invoke({ n: 0 }, { configurable: { thread_id: thread }, durability: 'sync' });
        if (out.n !== steps) throw new Error(`LangGraph run ${thread} ended at n=${out.n}, expected ${steps}`);
      };
      if (warmUp) for (let i = 0; i < WARM_UP_RUNS; i++) await one(`warm-up-${i}`);
      const seconds = await inParallel(runs, inFlight, (i) => one(`t${i}`));
      db.close();
      return (runs * steps) / seconds;
    },
  };
}

/**
 * Runs each system does, one at a time, on each fresh database before its timed runs, the same for
 * Spine and its peer: a host is a long-lived process, so the figure is its steady state, with the
 * step path compiled by the JIT. Measured (activity workflow, 1 in flight, NORMAL, both systems):
 * after 5 warm-up runs and 20 timed ones, Spine/LangGraph.js came out 1.69–2.25× from round to
 * round; after 200 and 200, 2.78–3.17×, each system faster and the rounds steadier. With 50, the
 * first round of a bench was still compiling: Spine's activity workflow at NORMAL, 1 in flight,
 * ran 3,246 steps/s in round 1 against 4,618 and 4,062 in rounds 2 and 3 (LangGraph.js: 1,027
 * against 1,220 and 1,367).
 */
export const WARM_UP_RUNS = 200;

/** Runs `task(0..runs-1)` with `inFlight` at a time; returns the wall time in seconds. */
export async function inParallel(runs: number, inFlight: number, task: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(inFlight, runs) }, async () => {
      while (next < runs) await task(next++);
    }),
  );
  return (performance.now() - t0) / 1000;
}

/** The installed version of a package (found beside its resolved entry), `?` when it cannot be told. */
export async function packageVersion(name: string): Promise<string> {
  try {
    const { createRequire } = await import('node:module');
    const require = createRequire(import.meta.url);
    const { readFileSync } = await import('node:fs');
    const { dirname, join } = await import('node:path');
    // The package's exports may hide package.json: find it beside its resolved entry.
    let dir = dirname(require.resolve(name));
    for (let i = 0; i < 6; i++) {
      try {
        const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
        if (pkg.name === name) return pkg.version ?? '?';
      } catch {
        // keep walking up
      }
      dir = dirname(dir);
    }
  } catch {
    // unknown
  }
  return '?';
}
