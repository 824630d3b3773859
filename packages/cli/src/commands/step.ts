import { stepProvenance, SpineError } from '@spine/runtime';
import { dbOptions, dbPath, intArg, parse } from '../args.js';
import { CliError, EXIT } from '../CliError.js';
import { stateText } from '../format.js';
import { openStore } from '../openStore.js';
import { help } from '../help.js';

const usage = 'spine step <runId> <seq> [--actor ID] [--db FILE] [--json]';

/** `spine step`: which machine version, prompt version and model produced one step of a run. */
export async function step(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { ...dbOptions, actor: { type: 'string' } }, usage);
  if (values.help) return help(usage);
  const [runId, seqText, ...extra] = positionals;
  if (!runId || seqText === undefined || extra.length) throw new CliError(`expected a run id and a step number\nusage: ${usage}`);
  const seq = intArg(seqText, 'the step number', 0);
  const store = await openStore(dbPath(values.db), { mustExist: true });
  try {
    let provenance;
    try {
      provenance = await stepProvenance(store, { actorId: values.actor ?? runId, seq });
    } catch (error) {
      if (error instanceof SpineError) throw new CliError(error.message);
      throw error;
    }
    if (values.json) {
      process.stdout.write(`${JSON.stringify(provenance)}\n`);
      return EXIT.done;
    }
    const lines = [
      `step ${provenance.seq} of ${provenance.actorId} (run ${provenance.runId}) at ${new Date(provenance.at).toISOString()}`,
      `  machine  ${provenance.machine}@${provenance.version}`,
      `  event    ${provenance.eventType}`,
      `  state    ${stateText(JSON.stringify(provenance.state))}`,
    ];
    const describe = (label: string, a: NonNullable<typeof provenance.applied>) =>
      `  ${label} ${a.src} (${a.jobKey}, ${a.status}): model ${a.models.join(', ') || '-'}${a.providers.length ? ` via ${a.providers.join(', ')}` : ''}, prompt ${a.promptVersions.join(', ') || '-'}`;
    if (provenance.applied) lines.push(describe('applied  ', provenance.applied));
    for (const r of provenance.requested) lines.push(describe('requested', r));
    process.stdout.write(`${lines.join('\n')}\n`);
    return EXIT.done;
  } finally {
    await store.close();
  }
}
