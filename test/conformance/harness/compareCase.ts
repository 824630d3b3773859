import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ConformanceCase } from './MachineSpec.js';
import { firstDifference, type Observation } from './observe.js';
import { MACHINE_FORM, runDurable, type MachineForm } from './runDurable.js';
import { runOracle, type OracleRun } from './runOracle.js';

/** b: one durable host; c: the host closed and reopened before every input; d: SIGKILL mid-activity. */
export type Variant = 'b' | 'c' | 'd';

/** How one variant of one case compared with the oracle. */
export type Outcome = { kind: 'identical' } | { kind: 'different'; detail: string };

/** A difference the suite knows about: which variants, why, and the finding it is filed under. */
export interface KnownDifference {
  variants: Variant[];
  /** Only in these machine forms (default: all). */
  forms?: MachineForm[];
  reason: string;
  finding: string;
}

const KNOWN_FILE = join(import.meta.dirname, '..', 'known-differences.json');

/** `known-differences.json`: case name -> why it differs. */
export function knownDifferences(): Record<string, KnownDifference> {
  return JSON.parse(readFileSync(KNOWN_FILE, 'utf8')) as Record<string, KnownDifference>;
}

/** Compares the durable observations with the oracle's, input by input. */
export function compareRuns(oracle: OracleRun, durable: Observation[], fields?: Parameters<typeof firstDifference>[2]): Outcome {
  for (let i = 0; i < oracle.observations.length; i++) {
    const actual = durable[i];
    if (!actual) return { kind: 'different', detail: `after input #${i}: the durable run stopped early` };
    const diff = firstDifference(oracle.observations[i]!, actual, fields);
    if (diff) {
      const input = i === 0 ? 'start' : JSON.stringify(oracle.inputs[i - 1]);
      const errors = [oracle.observations[i]!.error && `xstate error: ${oracle.observations[i]!.error}`, actual.error && `spine error: ${actual.error}`].filter(Boolean).join('; ');
      return { kind: 'different', detail: `after input #${i} (${input}): ${diff}${errors ? ` [${errors}]` : ''}` };
    }
  }
  return { kind: 'identical' };
}

/** Runs the oracle and the in-process durable variants of one case. */
export async function compareCase(testCase: ConformanceCase, dir: string, variants: ('b' | 'c')[] = ['b', 'c']): Promise<{ oracle: OracleRun; outcomes: Partial<Record<Variant, Outcome>> }> {
  const oracle = await runOracle(testCase);
  const outcomes: Partial<Record<Variant, Outcome>> = {};
  const file = testCase.name.replace(/[^\w-]+/g, '_').slice(0, 120);
  for (const variant of variants) {
    try {
      const durable = await runDurable(testCase, oracle.inputs, join(dir, `${file}-${variant}.db`), { reopen: variant === 'c' });
      outcomes[variant] = compareRuns(oracle, durable);
    } catch (error) {
      outcomes[variant] = { kind: 'different', detail: `durable run failed: ${(error as Error).message}` };
    }
  }
  return { oracle, outcomes };
}

/** Tallies outcomes per variant against the known differences; returns the summary line and what is wrong. */
export class Tally {
  readonly #rows: { name: string; variant: Variant; outcome: Outcome }[] = [];

  constructor(readonly known: Record<string, KnownDifference>) {}

  add(name: string, variant: Variant, outcome: Outcome): void {
    this.#rows.push({ name, variant, outcome });
  }

  /** Differences not listed in known-differences.json (each fails its case). */
  unexplained(name: string, variant: Variant, outcome: Outcome): string | undefined {
    if (outcome.kind === 'identical') return undefined;
    return this.#isKnown(name, variant) ? undefined : outcome.detail;
  }

  #isKnown(name: string, variant: Variant): boolean {
    const entry = this.known[name];
    return Boolean(entry?.variants.includes(variant) && (!entry.forms || entry.forms.includes(MACHINE_FORM)));
  }

  /** One line per variant: "conformance (b): 243/262 identical, 19 known differences". */
  summary(label: string): string[] {
    const lines: string[] = [];
    for (const variant of ['b', 'c', 'd'] as const) {
      const rows = this.#rows.filter((r) => r.variant === variant);
      if (!rows.length) continue;
      const same = rows.filter((r) => r.outcome.kind === 'identical');
      const known = rows.filter((r) => r.outcome.kind !== 'identical' && this.#isKnown(r.name, variant));
      const stale = same.filter((r) => this.#isKnown(r.name, variant));
      const unexplained = rows.length - same.length - known.length;
      lines.push(
        `conformance ${label} (${variant}, ${MACHINE_FORM} form): ${same.length}/${rows.length} identical, ${known.length} known differences` +
          (unexplained ? `, ${unexplained} UNEXPLAINED` : '') +
          (stale.length ? `; ${stale.length} listed as known now identical (remove them): ${stale.map((r) => r.name).join(', ')}` : ''),
      );
    }
    return lines;
  }
}
