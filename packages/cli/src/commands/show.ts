import { runLedger, usageOf, costOfEntry, type LedgerTotal, type RunLedger } from '@spine/llm';
import type { ActorRecord, DeadLetter, HistoryRecord, JobRecord, Store } from '@spine/runtime';
import { dbOptions, dbPath, parse } from '../args.js';
import { CliError, EXIT } from '../CliError.js';
import { micros, stateText, table } from '../format.js';
import { openStore } from '../openStore.js';
import { help } from './run.js';

const usage = 'spine show <runId> [--db FILE] [--json]';

/**
 * `spine show`: every step of a run (all its agents) with the tokens, cost and latency of the
 * model and tool calls it applied; every journaled call; totals per agent and per model; what
 * resuming did not have to pay again; circuit breakers; refused tool calls and events.
 */
export async function show(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, dbOptions, usage);
  if (values.help) return help(usage);
  const [runId, ...extra] = positionals;
  if (!runId || extra.length) throw new CliError(`expected one run id\nusage: ${usage}`);
  const store = await openStore(dbPath(values.db), { mustExist: true, readonly: true });
  try {
    process.stdout.write(`${await showRun(store, runId, { json: values.json })}\n`);
    return EXIT.done;
  } finally {
    await store.close();
  }
}

/** What `spine show` prints for a run: the text report, or its JSON. */
export async function showRun(store: Store, runId: string, options: { json: boolean }): Promise<string> {
  const root = await store.getActor(runId);
  if (!root) throw new CliError(`no run with id '${runId}' (list runs with \`spine runs\`)`);
  const actors = await store.listActors({ runId: root.runId, limit: 100_000 });
  const history = await store.runHistory(root.runId);
  const jobs = await store.listJobs({ runId: root.runId });
  const deadLetters = (await Promise.all(actors.map((a) => store.listDeadLetters(a.id)))).flat();
  const report = describeRun(root, actors, history, jobs, deadLetters);
  return options.json ? JSON.stringify(report) : render(report);
}

/** What one step spent: the calls of the activity whose result it applied (every attempt). */
interface StepSpend {
  tokens: { input: number; output: number };
  costUsd: number;
  latencyMs: number;
  calls: number;
}

type RunReport = ReturnType<typeof describeRun>;

/** Everything `show` prints, as JSON. */
export function describeRun(root: ActorRecord, actors: ActorRecord[], history: HistoryRecord[], jobs: JobRecord[], deadLetters: DeadLetter[]) {
  const machineOf = new Map(actors.map((a) => [a.id, a.machine]));
  const spendByStep = attributeJobs(history, jobs);
  const ledger = runLedger(jobs);
  return {
    run: { runId: root.id, machine: root.machine, version: root.version, status: root.status, state: parse0(root.stateValue), output: parse0(root.output), error: root.error },
    actors: actors.map((a) => ({ id: a.id, parentId: a.parentId, machine: a.machine, version: a.version, status: a.status, state: parse0(a.stateValue), steps: a.seq })),
    steps: history.map((s) => ({
      actorId: s.actorId,
      agent: machineOf.get(s.actorId) ?? '?',
      seq: s.seq,
      event: JSON.parse(s.event) as { type: string },
      state: JSON.parse(s.stateValue) as unknown,
      status: s.status,
      version: s.version,
      startedAt: s.startedAt,
      durationUs: s.durationUs,
      emitted: parse0(s.emitted),
      spend: spendByStep.get(`${s.actorId}#${s.seq}`) ?? null,
    })),
    jobs: jobs.map((j) => ({
      key: j.key,
      actorId: j.actorId,
      activity: j.src,
      status: j.status,
      attempts: j.attempts,
      input: parse0(j.input),
      output: parse0(j.output),
      error: parse0(j.error),
      journal: JSON.parse(j.journal) as unknown[],
      startedAt: j.startedAt,
      finishedAt: j.finishedAt,
    })),
    ledger,
    deadLetters: deadLetters.map((d) => ({ actorId: d.actorId, event: parse0(d.event), reason: d.reason, issues: parse0(d.issues), source: d.source })),
  };
}

/**
 * Attaches each job's journaled spend to the step that applied its result: the first step of
 * the requesting actor after the request (`actorId:seq:index`) whose event is that invoke's
 * `xstate.done.actor.*` / `xstate.error.actor.*`.
 */
function attributeJobs(history: HistoryRecord[], jobs: JobRecord[]): Map<string, StepSpend> {
  const out = new Map<string, StepSpend>();
  const byActor = new Map<string, HistoryRecord[]>();
  for (const h of history) byActor.set(h.actorId, [...(byActor.get(h.actorId) ?? []), h]);
  for (const job of jobs) {
    const requestedAt = Number(job.key.slice(job.actorId.length + 1).split(':')[0]);
    const step = (byActor.get(job.actorId) ?? []).find(
      (h) => h.seq > requestedAt && (h.eventType === `xstate.done.actor.${job.childId}` || h.eventType === `xstate.error.actor.${job.childId}`),
    );
    if (!step) continue;
    const journal = JSON.parse(job.journal) as Record<string, unknown>[];
    const calls = journal.filter((e) => e['call'] === 'model' || e['call'] === 'tool');
    if (!calls.length) continue;
    const spend: StepSpend = { tokens: { input: 0, output: 0 }, costUsd: 0, latencyMs: 0, calls: calls.length };
    for (const entry of calls) {
      const usage = usageOf(entry);
      spend.tokens.input += usage.inputTokens;
      spend.tokens.output += usage.outputTokens;
      spend.costUsd += costOfEntry(entry);
      spend.latencyMs += typeof entry['latencyMs'] === 'number' ? entry['latencyMs'] : 0;
    }
    spend.costUsd = Math.round(spend.costUsd * 1e9) / 1e9;
    out.set(`${step.actorId}#${step.seq}`, spend);
  }
  return out;
}

function render(report: RunReport): string {
  const { run, ledger } = report;
  const out: string[] = [];
  out.push(`run ${run.runId}  ${run.machine}@${run.version}  ${run.status}  state ${stateText(JSON.stringify(run.state))}`);
  if (run.error) out.push(`error: ${run.error}`);
  if (run.output !== null) out.push(`output: ${JSON.stringify(run.output)}`);
  if (ledger.unpriced.length) {
    out.push(
      `UNPRICED: no price for ${ledger.unpriced.join(', ')}: those calls are counted at $0 and their real cost is unknown. ` +
        'Add the model to a SPINE_PRICES file (see packages/llm/README.md).',
    );
  }

  out.push('', 'steps');
  out.push(
    table(
      ['#', 'AGENT', 'ACTOR', 'SEQ', 'EVENT', 'STATE', 'TOKENS IN/OUT', 'COST', 'LATENCY'],
      report.steps.map((s, i) => [
        i + 1,
        s.agent,
        shortActor(s.actorId, run.runId),
        s.seq,
        s.event.type,
        stateText(JSON.stringify(s.state)),
        s.spend && s.spend.tokens.input + s.spend.tokens.output > 0 ? `${s.spend.tokens.input}/${s.spend.tokens.output}` : '-',
        s.spend && s.spend.tokens.input + s.spend.tokens.output > 0 ? usd(s.spend.costUsd) : '-',
        s.spend ? `${s.spend.latencyMs}ms${s.spend.calls > 1 ? ` (${s.spend.calls} calls)` : ''}` : micros(s.durationUs),
      ]),
    ),
  );

  if (ledger.calls.length) {
    out.push('', `calls (one line per attempt, from the journal${ledger.hosts.length > 1 ? '; PROC numbers the processes that ran the run, in order' : ''})`);
    const proc = (host: string | undefined) => (host === undefined ? '?' : String(ledger.hosts.indexOf(host) + 1));
    out.push(
      table(
        ['PROC', 'AGENT', 'ACTIVITY', 'ATTEMPT', 'MODEL/TOOL', 'DECISION', 'TOKENS IN/OUT', 'COST', 'LATENCY', 'FAILURE'],
        ledger.calls.map((c) => [
          proc(c.host),
          c.agent,
          `${shortActor(c.jobKey, run.runId)} ${c.activity}`,
          c.attempt,
          c.call === 'tool' ? `tool ${c.tool ?? '?'}` : (c.model ?? '?'),
          c.decision,
          c.call === 'tool' ? '-' : `${c.usage.inputTokens}/${c.usage.outputTokens}`,
          c.call === 'tool' ? '-' : usd(c.costUsd),
          `${c.latencyMs}ms`,
          c.failure ? truncate(c.failure, 80) : '',
        ]),
      ),
    );
    out.push('', 'totals by agent');
    out.push(totalsTable('AGENT', ledger.byAgent, ledger.total));
    if (Object.keys(ledger.byModel).length) {
      out.push('', 'totals by model');
      out.push(totalsTable('MODEL', ledger.byModel));
    }
  }

  out.push('', 'resume');
  out.push(resumeText(ledger));

  if (ledger.breakers.length) {
    out.push('', 'circuit breakers (last journaled state)');
    out.push(table(['BREAKER', 'STATE', 'FAILURES IN A ROW'], ledger.breakers.map((b) => [b.name, b.state, b.consecutiveFailures])));
  }
  if (ledger.refusals.length) {
    out.push('', 'refused tool calls (not granted to the agent)');
    out.push(table(['AGENT', 'TOOL', 'GRANTED'], ledger.refusals.map((r) => [r.agent, r.tool, r.allowed.join(', ') || '(none)'])));
  }
  if (report.deadLetters.length) {
    out.push('', 'refused events');
    out.push(table(['ACTOR', 'FROM', 'REASON'], report.deadLetters.map((d) => [shortActor(d.actorId, run.runId), shortActor(d.source, run.runId), d.reason])));
  }
  return out.join('\n');
}

function totalsTable(label: string, groups: Record<string, LedgerTotal>, total?: LedgerTotal): string {
  const rows = Object.entries(groups).map(([name, t]) => [name, t.calls, t.usage.inputTokens, t.usage.outputTokens, t.usage.cacheReadTokens, usd(t.costUsd), `${t.latencyMs}ms`]);
  if (total) rows.push(['(all)', total.calls, total.usage.inputTokens, total.usage.outputTokens, total.usage.cacheReadTokens, usd(total.costUsd), `${total.latencyMs}ms`]);
  return table([label, 'CALLS', 'INPUT', 'OUTPUT', 'CACHE READ', 'COST', 'LATENCY'], rows);
}

function resumeText(ledger: RunLedger): string {
  const { resume } = ledger;
  if (resume.resumes === 0) {
    return `not resumed: one process ran every call${resume.reExecuted ? `; ${resume.reExecuted} attempt(s) were cut off and ran again` : ''}`;
  }
  const saved = resume.notRepaid;
  return [
    `resumed ${resume.resumes} time(s) (${ledger.hosts.length} processes)`,
    `tokens a resume did not have to re-pay: ${saved.tokens} (${saved.calls} journaled call attempts before the last resume, ${usd(saved.costUsd)})`,
    `attempts cut off in flight and run again: ${resume.reExecuted}`,
  ].join('\n');
}

function usd(n: number): string {
  return `$${n.toFixed(6)}`;
}

function truncate(text: string, n: number): string {
  return text.length > n ? `${text.slice(0, n - 1)}…` : text;
}

function shortActor(id: string, runId: string): string {
  return id === runId ? '(run)' : id.startsWith(runId) ? `…${id.slice(runId.length)}` : id;
}

function parse0(json: string | null): unknown {
  return json === null ? null : JSON.parse(json);
}
