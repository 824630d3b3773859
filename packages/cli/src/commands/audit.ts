import { dbOptions, dbPath, parse } from '../args.js';
import { CliError, EXIT } from '../CliError.js';
import { table } from '../format.js';
import { openStore } from '../openStore.js';
import { help } from '../help.js';

const usage = 'spine audit [--run ID] [--verify] [--db FILE] [--json]';

/**
 * `spine audit`: the append-only audit log (decisions, refused decisions, refused
 * tools, budget stops, halts, machine versions). `--verify` recomputes the hash
 * chain and exits 1 if a row was altered or removed outside Spine.
 */
export async function audit(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { ...dbOptions, run: { type: 'string' }, verify: { type: 'boolean', default: false } }, usage);
  if (values.help) return help(usage);
  if (positionals.length) throw new CliError(`unexpected argument '${positionals[0]}'\nusage: ${usage}`);
  const store = await openStore(dbPath(values.db), { mustExist: true });
  try {
    if (values.verify) {
      const result = await store.verifyAudit();
      if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
      else if (result.ok) process.stdout.write(`audit log intact: ${result.rows} rows, head ${result.head}\n`);
      else process.stderr.write(`spine: audit log TAMPERED: ${result.reason} (first bad row ${result.firstBadSeq})\n`);
      return result.ok ? EXIT.done : EXIT.failed;
    }
    const rows = await store.listAudit(values.run ? { runId: values.run } : {});
    if (values.json) {
      process.stdout.write(`${JSON.stringify(rows.map((r) => ({ ...r, detail: JSON.parse(r.detail) as unknown })))}\n`);
      return EXIT.done;
    }
    if (!rows.length) {
      process.stdout.write(values.run ? `no audit rows for run '${values.run}'\n` : 'the audit log is empty\n');
      return EXIT.done;
    }
    const lines = rows.map((r) => [r.seq, new Date(r.at).toISOString(), r.runId ?? '-', r.kind, r.who, r.subject ?? '-', summary(r.kind, JSON.parse(r.detail) as Record<string, unknown>)]);
    process.stdout.write(`${table(['SEQ', 'TIME', 'RUN', 'KIND', 'WHO', 'SUBJECT', 'DETAIL'], lines)}\n`);
    return EXIT.done;
  } finally {
    await store.close();
  }
}

function summary(kind: string, d: Record<string, unknown>): string {
  const parts: string[] = [];
  const add = (label: string, value: unknown) => {
    if (value !== undefined && value !== null && value !== '') parts.push(`${label}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
  };
  if (kind === 'machine.version') add('previous', d.previous);
  add('src', d.src);
  add('tier', d.tier);
  add('tool', d.tool);
  add('reason', d.reason);
  if (kind === 'approval.edited') add('edited', d.editedInput);
  if (typeof d.decidedAt === 'number') add('decidedAt', new Date(d.decidedAt).toISOString());
  add('claimedBy', d.claimedBy);
  add('outcome', d.outcome);
  const text = parts.join(' ');
  return text.length > 120 ? `${text.slice(0, 119)}…` : text;
}
