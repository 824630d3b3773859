import type { HistoryRecord, JobRecord } from '@spine/runtime';
import { dbOptions, dbPath, parse } from '../args.js';
import { CliError, EXIT } from '../CliError.js';
import { micros, stateText, table } from '../format.js';
import { openStore } from '../openStore.js';
import { help } from './run.js';

const usage = 'spine show <runId> [--db FILE] [--json]';

/** `spine show`: every step of a run (all its actors), its activities and refused events. */
export async function show(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, dbOptions, usage);
  if (values.help) return help(usage);
  const [runId, ...extra] = positionals;
  if (!runId || extra.length) throw new CliError(`expected one run id\nusage: ${usage}`);
  const store = await openStore(dbPath(values.db), { mustExist: true, readonly: true });
  try {
    const root = await store.getActor(runId);
    if (!root) throw new CliError(`no run with id '${runId}' (list runs with \`spine runs\`)`);
    const actors = await store.listActors({ runId: root.runId, limit: 100_000 });
    const steps = await store.runHistory(root.runId);
    const jobs = await store.listJobs({ runId: root.runId });
    const deadLetters = (await Promise.all(actors.map((a) => store.listDeadLetters(a.id)))).flat();
    if (values.json) {
      process.stdout.write(
        `${JSON.stringify({
          run: { runId: root.id, machine: root.machine, version: root.version, status: root.status, state: parse0(root.stateValue), output: parse0(root.output), error: root.error },
          actors: actors.map((a) => ({ id: a.id, parentId: a.parentId, machine: a.machine, version: a.version, status: a.status, state: parse0(a.stateValue), steps: a.seq })),
          steps: steps.map(stepJson),
          jobs: jobs.map(jobJson),
          deadLetters: deadLetters.map((d) => ({ actorId: d.actorId, event: parse0(d.event), reason: d.reason, issues: parse0(d.issues) })),
        })}\n`,
      );
      return EXIT.done;
    }
    const out: string[] = [];
    out.push(`run ${root.id}  ${root.machine}@${root.version}  ${root.status}  state ${stateText(root.stateValue)}`);
    if (root.error) out.push(`error: ${root.error}`);
    if (root.output) out.push(`output: ${root.output}`);
    out.push('', 'steps');
    out.push(table(['SEQ', 'ACTOR', 'EVENT', 'STATE', 'DURATION'], steps.map((s) => [s.seq, shortActor(s.actorId, root.id), s.eventType, stateText(s.stateValue), micros(s.durationUs)])));
    if (jobs.length) {
      out.push('', 'activities');
      out.push(
        table(
          ['KEY', 'ACTIVITY', 'STATUS', 'ATTEMPTS', 'LATENCY'],
          jobs.map((j) => [shortActor(j.key, root.id), j.src, j.status, j.attempts, j.finishedAt && j.startedAt ? `${j.finishedAt - j.startedAt}ms` : '-']),
        ),
      );
    }
    if (deadLetters.length) {
      out.push('', 'refused events');
      out.push(table(['ACTOR', 'REASON'], deadLetters.map((d) => [shortActor(d.actorId, root.id), d.reason])));
    }
    process.stdout.write(`${out.join('\n')}\n`);
    return EXIT.done;
  } finally {
    await store.close();
  }
}

function shortActor(id: string, runId: string): string {
  return id === runId ? '(run)' : id.startsWith(runId) ? `…${id.slice(runId.length)}` : id;
}

function parse0(json: string | null): unknown {
  return json === null ? null : JSON.parse(json);
}

function stepJson(s: HistoryRecord) {
  return { actorId: s.actorId, seq: s.seq, event: JSON.parse(s.event), state: JSON.parse(s.stateValue), status: s.status, version: s.version, startedAt: s.startedAt, durationUs: s.durationUs, emitted: parse0(s.emitted) };
}

function jobJson(j: JobRecord) {
  return { key: j.key, actorId: j.actorId, activity: j.src, status: j.status, attempts: j.attempts, input: parse0(j.input), output: parse0(j.output), error: parse0(j.error), journal: JSON.parse(j.journal), startedAt: j.startedAt, finishedAt: j.finishedAt };
}
