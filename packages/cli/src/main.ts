import { CliError, EXIT } from './CliError.js';

type Command = (args: string[]) => Promise<number>;

/**
 * Each command is imported when it is run, so a command loads only what it needs: `runs`, `show`
 * and `--help` never load xstate, zod, the AI SDK, OpenTelemetry or the studio. `machines` marks
 * the commands that load machines, whose tools (MCP servers) must be closed on the way out.
 */
const commands: Record<string, { load: () => Promise<Command>; machines?: true }> = {
  run: { load: async () => (await import('./commands/run.js')).run, machines: true },
  resume: { load: async () => (await import('./commands/resume.js')).resume, machines: true },
  runs: { load: async () => (await import('./commands/runs.js')).runs },
  show: { load: async () => (await import('./commands/show.js')).show },
  send: { load: async () => (await import('./commands/send.js')).send, machines: true },
  serve: { load: async () => (await import('./commands/serve.js')).serve, machines: true },
  bench: { load: async () => (await import('./commands/bench.js')).bench },
  demo: { load: async () => (await import('./commands/demo.js')).demo, machines: true },
  approvals: { load: async () => (await import('./commands/approvals.js')).approvals },
  approve: { load: async () => (await import('./commands/decide.js')).approve, machines: true },
  reject: { load: async () => (await import('./commands/decide.js')).reject, machines: true },
  audit: { load: async () => (await import('./commands/audit.js')).audit },
  step: { load: async () => (await import('./commands/step.js')).step },
  migrate: { load: async () => (await import('./commands/migrate.js')).migrate, machines: true },
  export: { load: async () => (await import('./commands/export.js')).exportMachine, machines: true },
  eval: { load: async () => (await import('./commands/eval.js')).evaluate, machines: true },
  copy: { load: async () => (await import('./commands/copy.js')).copy },
  worker: { load: async () => (await import('./commands/worker.js')).worker, machines: true },
};

const usage = `usage: spine <command> [options]

commands:
  run <machine> [--input JSON]   start a run and wait (exit 0 done, 1 failed, 3 waiting)
  demo [--serve] [--approve ask|auto|never]  the report pipeline, offline on a scripted server (not a model) unless a provider is set
  resume                         resume every unfinished run (exit 0 done, 1 one failed, 3 one waits)
  runs                           list runs
  show <runId>                   every step of a run: event, state, duration, activities
  send <runId> <eventJSON>       send an event to a run (validated against its schema)
                                 (any JSON argument may be - for stdin or @FILE)
  serve [--port N] [--host H]    the studio: live runs, diagrams, timeline, costs
  worker [--concurrency N] [--drain-timeout S]  a headless host: runs work until SIGTERM, then drains and releases its leases
  bench                          measure durable steps/s against in-memory and bare-SQLite baselines
  approvals [--all] [--run ID]   pending approvals: what each agent proposes, why, the deadline
  approve <runId> [--as NAME] [--edit JSON]   approve (an edited proposal too), signed; the run goes on
  reject <runId> [--as NAME] [--reason TEXT]  reject; the machine receives the rejection
  audit [--run ID] [--verify]    the append-only audit log; --verify checks its hash chain
  step <runId> <seq>             which machine version, prompt and model produced a step
  export <machine> [--format ts|mermaid]  a machine as TypeScript setup().createMachine() or a Mermaid diagram
  migrate <actorId> [--to VER]   move a running actor to another version of its machine, if its state exists there
  eval <suite> [--repeat N]      run an eval suite (evals/<suite>.eval.ts): exit 0 when every threshold and --baseline hold, 1 when not
  copy --from FILE --to URL      copy a whole database (every run, waiting ones too) into PostgreSQL; they resume there

common options: --db FILE|postgres://… (default $SPINE_DB or .spine/spine.db), --machines DIR (default ./machines), --json`;

/** Runs the `spine` command and returns its exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${usage}\n`);
    return name ? EXIT.done : EXIT.usage;
  }
  const entry = Object.prototype.hasOwnProperty.call(commands, name) ? commands[name] : undefined;
  if (!entry) {
    process.stderr.write(`spine: unknown command '${name}'\n${usage}\n`);
    return EXIT.usage;
  }
  // Telemetry only when the environment asks for it (the SDK is imported then).
  const telemetry = process.env.OTEL_EXPORTER_OTLP_ENDPOINT || process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ? await (await import('./telemetry.js')).startTelemetry() : undefined;
  try {
    const command = await entry.load();
    return await command(args);
  } catch (error) {
    if (error instanceof CliError) {
      process.stderr.write(`spine: ${error.message}\n`);
      return error.exitCode;
    }
    // The runtime's errors are loaded only now: `--help`, `runs --help` and bad arguments never load the runtime.
    const { SpineError } = await import('@spine/runtime/store');
    if (error instanceof SpineError) {
      process.stderr.write(`spine: ${error.message}\n`);
      return error.code === 'unknown_machine' || error.code === 'invalid_machine' || error.code === 'store_refused' ? EXIT.usage : EXIT.failed;
    }
    process.stderr.write(`spine: ${(error as Error)?.stack ?? String(error)}\n`);
    return EXIT.failed;
  } finally {
    // MCP servers (child processes, HTTP sessions) that machines opened would keep the process alive.
    if (entry.machines) await (await import('@spine/llm')).closeToolSources();
    await telemetry?.shutdown();
  }
}
