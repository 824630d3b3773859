import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { machineToMermaid, machineToTypeScript } from '@spine/server';
import { parse } from '../args.js';
import { CliError, EXIT } from '../CliError.js';
import { help } from '../help.js';

const usage = 'spine export <machine> [--format ts|mermaid] [--out FILE] [--machines DIR]';

/**
 * `spine export`: a machine's structure as TypeScript (`setup(...).createMachine(...)`, with
 * stubs naming its implementations) or as a Mermaid state diagram, on stdout or into a file.
 * Reads only `<machines>/<machine>.machine.json`; nothing is imported or run.
 */
export async function exportMachine(args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    { machines: { type: 'string' }, format: { type: 'string', short: 'f' }, out: { type: 'string', short: 'o' }, help: { type: 'boolean', short: 'h', default: false } },
    usage,
  );
  if (values.help) return help(usage);
  const [machine, ...extra] = positionals;
  if (!machine || extra.length) throw new CliError(`expected one machine name\nusage: ${usage}`);
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(machine)) throw new CliError(`'${machine}' is not a machine name (letters, digits, - and _)`);
  const format = values.format ?? (values.out?.endsWith('.mmd') || values.out?.endsWith('.md') ? 'mermaid' : 'ts');
  if (format !== 'ts' && format !== 'mermaid') throw new CliError(`--format must be ts or mermaid, got '${format}'\nusage: ${usage}`);
  const dir = resolve(values.machines ?? 'machines');
  const file = join(dir, `${machine}.machine.json`);
  if (!existsSync(file)) throw new CliError(`no machine '${machine}' in ${dir} (expected ${machine}.machine.json; set the directory with --machines DIR)`);
  let config: unknown;
  try {
    config = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new CliError(`${file} is not valid JSON: ${(error as Error).message}`, EXIT.failed);
  }
  const text = format === 'ts' ? machineToTypeScript(machine, config) : machineToMermaid(config);
  if (values.out) {
    writeFileSync(values.out, text);
    process.stderr.write(`wrote ${machine} as ${format === 'ts' ? 'TypeScript' : 'Mermaid'} to ${values.out}\n`);
  } else {
    process.stdout.write(text);
  }
  return EXIT.done;
}
