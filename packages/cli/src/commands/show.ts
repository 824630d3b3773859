import { runLedger, usageOf, costOfEntry, type LedgerTotal, type RunLedger } from '@spine/llm/ledger';
import type { ActorRecord, DeadLetter, HistoryRecord, JobRecord, Store } from '@spine/runtime/store';
import { dbOptions, dbPath, intArg, parse } from '../args.js';
import { CliError, EXIT } from '../CliError.js';
import { micros, stateText, table } from '../format.js';
import { openStore } from '../openStore.js';
import { help } from '../help.js';

const usage = 'spine show <runId> [--limit N] [--cursor ROW] [--db FILE] [--json]';

/** Steps `show` prints at most at once unless `--limit` says otherwise. */
export const SHOW_PAGE = 1000;

/**
 * `spine show`: every step of a run (all its agents) with the tokens, cost and latency of the
 * model and tool calls it applied; every journaled call; totals per agent and per model; what
 * resuming did not have to pay again; circuit breakers; refused tool calls and events. A long
 * run is shown a page at a time (`--limit`, default 1000 steps); the page says where the next starts.
 */
export async function show(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { ...dbOptions, limit: { type: 'string' }, cursor: { type: 'string' } }, usage);
  if (values.help) return help(usage);
  const [runId, ...extra] = positionals;
  if (!runId || extra.length) throw new CliError(`expected one run id\nusage: ${usage}`);
  const limit = intArg(values.limit, '--limit', SHOW_PAGE);
  if (limit < 1) throw new CliError(`--limit must be at least 1\nusage: ${usage}`);
  const cursor = intArg(values.cursor, '--cursor', 0);
  const store = await openStore(dbPath(values.db), { mustExist: true, readonly: true });
  try {
    process.stdout.write(`${await showRun(store, runId, { json: values.json, limit, cursor })}\n`);
    return EXIT.done;
  } finally {
    await store.close();
  }
}

/** Which steps of a run a report holds: `limit` steps committed after row `cursor` (0: from the first). */
export interface ShowPage {
  limit?: number;
  cursor?: number;
}

/** What `spine show` prints for a run (one page of its steps): the text report, or its JSON. */
export async function showRun(store: Store, runId: string, options: { json: boolean } & ShowPage): Promise<string> {
  const root = await store.getActor(runId);
  if (!root) throw new CliError(`no run with id '${runId}' (list runs with \`spine runs\`)`);
  const limit = options.limit ?? SHOW_PAGE;
  const cursor = options.cursor ?? 0;
  const [actors, rows, jobs, before, all] = await Promise.all([
    store.listActors({ runId: root.runId, limit: 100_000 }),
    store.runHistory(root.runId, { afterRowId: cursor, limit: limit + 1 }),
    store.listJobs({ runId: root.runId }),
    cursor > 0 ? store.runStats(root.runId, { upToRowId: cursor }) : undefined,
    store.runStats(root.runId),
  ]);
  const deadLetters = (await Promise.all(actors.map((a) => store.listDeadLetters(a.id)))).flat();
  const history = rows.slice(0, limit);
  const more = rows.length > limit;
  const page: StepPage = { cursor, limit, first: (before?.steps ?? 0) + 1, total: Math.max(all.steps, (before?.steps ?? 0) + history.length), next: more ? history.at(-1)!.rowId : null };
  const report = describeRun(root, actors, history, jobs, deadLetters, page);
  return options.json ? JSON.stringify(report) : render(report);
}

/** Where a report's steps sit in the run: the first one's number (1-based), the run's total, and the cursor of the next page (null on the last). */
export interface StepPage {
  cursor: number;
  limit: number;
  first: number;
  total: number;
  next: number | null;
}

/** What one step spent: the calls of the activity whose result it applied (every attempt). */
interface StepSpend {
  tokens: { input: number; output: number };
  costUsd: number;
  latencyMs: number;
  calls: number;
}

type RunReport = ReturnType<typeof describeRun>;

/**
 * Everything `show` prints, as JSON: the run, its actors, the given steps (a page of the run's
 * history, oldest first) with what each spent, the jobs those steps requested (every job when
 * the page is the whole run), the run's ledger and its dead letters.
 */
export function describeRun(root: ActorRecord, actors: ActorRecord[], history: HistoryRecord[], jobs: JobRecord[], deadLetters: DeadLetter[], page?: StepPage) {
  const machineOf = new Map(actors.map((a) => [a.id, a.machine]));
  const spendByStep = attributeJobs(history, jobs);
  const ledger = runLedger(jobs);
  const whole = !page || (page.first === 1 && page.next === null);
  const requestedHere = new Set(history.map((h) => `${h.actorId}:${h.seq}`));
  const shownJobs = whole ? jobs : jobs.filter((j) => requestedHere.has(`${j.actorId}:${requestedSeq(j)}`));
  return {
    run: { runId: root.id, machine: root.machine, version: root.version, status: root.status, state: parse0(root.stateValue), output: parse0(root.output), error: root.error },
    page: page ?? { cursor: 0, limit: history.length, first: 1, total: history.length, next: null },
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
    jobs: shownJobs.map((j) => ({
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

/** The seq of the step that requested a job (its key is `actorId:seq:index`). */
function requestedSeq(job: JobRecord): number {
  return Number(job.key.slice(job.actorId.length + 1).split(':')[0]);
}

const RESULT_EVENT = /^xstate\.(?:done|error)\.actor\.(.+)$/;

/**
 * Attaches each job's journaled spend to the step that applied its result: the first step of
 * the requesting actor after the request (`actorId:seq:index`) whose event is that invoke's
 * `xstate.done.actor.*` / `xstate.error.actor.*`. Seen from the step: of the jobs of that actor
 * and invoke id, the one requested last before it. Linear in steps and jobs (a binary search per
 * result step), so a page of steps needs no more than itself and the run's jobs.
 */
function attributeJobs(history: HistoryRecord[], jobs: JobRecord[]): Map<string, StepSpend> {
  const out = new Map<string, StepSpend>();
  const byInvoke = new Map<string, { seq: number; job: JobRecord }[]>();
  for (const job of jobs) {
    const id = `${job.actorId}\u0000${job.childId}`;
    let list = byInvoke.get(id);
    if (!list) byInvoke.set(id, (list = []));
    list.push({ seq: requestedSeq(job), job });
  }
  for (const list of byInvoke.values()) list.sort((a, b) => a.seq - b.seq);
  for (const step of history) {
    const childId = RESULT_EVENT.exec(step.eventType)?.[1];
    if (childId === undefined) continue;
    const list = byInvoke.get(`${step.actorId}\u0000${childId}`);
    if (!list) continue;
    // The last request strictly before this step.
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid]!.seq < step.seq) lo = mid + 1;
      else hi = mid;
    }
    const job = list[lo - 1]?.job;
    if (!job) continue;
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

  const { page } = report;
  const whole = page.first === 1 && page.next === null;
  const last = page.first + report.steps.length - 1;
  out.push('', whole ? 'steps' : `steps ${page.first}-${last} of ${page.total}`);
  out.push(
    table(
      ['#', 'AGENT', 'ACTOR', 'SEQ', 'EVENT', 'STATE', 'TOKENS IN/OUT', 'COST', 'LATENCY'],
      report.steps.map((s, i) => [
        page.first + i,
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
  if (page.next !== null) out.push(`more steps: spine show ${run.runId} --cursor ${page.next}${page.limit !== SHOW_PAGE ? ` --limit ${page.limit}` : ''}`);

  // A page lists the calls of the jobs its steps requested; the totals below are the whole run's.
  const jobsHere = new Set(report.jobs.map((j) => j.key));
  const calls = whole ? ledger.calls : ledger.calls.filter((c) => jobsHere.has(c.jobKey));
  if (calls.length) {
    out.push('', `calls (one line per attempt, from the journal${ledger.hosts.length > 1 ? '; PROC numbers the processes that ran the run, in order' : ''})`);
    const proc = (host: string | undefined) => (host === undefined ? '?' : String(ledger.hosts.indexOf(host) + 1));
    out.push(
      table(
        ['PROC', 'AGENT', 'ACTIVITY', 'ATTEMPT', 'MODEL/TOOL', 'DECISION', 'TOKENS IN/OUT', 'COST', 'LATENCY', 'FAILURE'],
        calls.map((c) => [
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
  }
  if (ledger.calls.length) {
    out.push('', whole ? 'totals by agent' : 'totals by agent (the whole run)');
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
