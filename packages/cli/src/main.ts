import { closeToolSources } from '@spine/llm';
import { SpineError } from '@spine/runtime';
import { CliError, EXIT } from './CliError.js';
import { approvals } from './commands/approvals.js';
import { audit } from './commands/audit.js';
import { bench } from './commands/bench.js';
import { copy } from './commands/copy.js';
import { approve, reject } from './commands/decide.js';
import { demo } from './commands/demo.js';
import { evaluate } from './commands/eval.js';
import { exportMachine } from './commands/export.js';
import { migrate } from './commands/migrate.js';
import { resume } from './commands/resume.js';
import { run } from './commands/run.js';
import { runs } from './commands/runs.js';
import { send } from './commands/send.js';
import { serve } from './commands/serve.js';
import { show } from './commands/show.js';
import { step } from './commands/step.js';
import { startTelemetry } from './telemetry.js';

const commands: Record<string, (args: string[]) => Promise<number>> = { run, resume, runs, show, send, serve, bench, demo, approvals, approve, reject, audit, step, migrate, export: exportMachine, eval: evaluate, copy };

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
  const command = Object.prototype.hasOwnProperty.call(commands, name) ? commands[name] : undefined;
  if (!command) {
    process.stderr.write(`spine: unknown command '${name}'\n${usage}\n`);
    return EXIT.usage;
  }
  const telemetry = await startTelemetry();
  try {
    return await command(args);
  } catch (error) {
    if (error instanceof CliError) {
      process.stderr.write(`spine: ${error.message}\n`);
      return error.exitCode;
    }
    if (error instanceof SpineError) {
      process.stderr.write(`spine: ${error.message}\n`);
      return error.code === 'unknown_machine' || error.code === 'invalid_machine' || error.code === 'store_refused' ? EXIT.usage : EXIT.failed;
    }
    process.stderr.write(`spine: ${(error as Error)?.stack ?? String(error)}\n`);
    return EXIT.failed;
  } finally {
    // MCP servers (child processes, HTTP sessions) that machines opened would keep the process alive.
    await closeToolSources();
    await telemetry?.shutdown();
  }
}
