import type { OnlineReport } from './scoreOnline.js';
import type { EvalReport } from './runEvalSuite.js';

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

function fmt(value: number | undefined): string {
  if (value === undefined) return '(missing)';
  return Number.isInteger(value) ? String(value) : value.toFixed(4).replace(/0+$/, '').replace(/\.$/, '');
}

/** The text report of `spine eval`: the gate table (which checks held), distributions, failing runs. */
export function formatReport(report: EvalReport): string {
  const lines: string[] = [];
  lines.push(`suite ${report.suite} (${report.kind} eval of ${report.machine}@${report.versions[report.machine]?.slice(0, 12)}): ${report.metrics['runs']} runs, ${report.repeat} per case${report.resumed ? ', resumed an unfinished session' : ''}`);
  lines.push(`session ${report.sessionId}; tokens ${report.totals.tokens}, cost $${fmt(report.totals.costUsd)} (runs and judge calls)`);
  lines.push('');
  if (report.checks.length) {
    lines.push(table([['metric', 'value', 'check', 'expected', 'held'], ...report.checks.map((c) => [c.metric, fmt(c.value), c.check, c.expected, c.held ? 'yes' : 'NO'])]));
  } else {
    lines.push('no thresholds and no baseline: nothing to hold');
  }
  lines.push('');
  const dists = Object.entries(report.distributions);
  if (dists.length) {
    lines.push(table([['scorer', 'n', 'mean', 'stdev', 'min', 'p50', 'p90', 'max'], ...dists.map(([name, d]) => [name, String(d.n), fmt(d.mean), fmt(d.stdev), fmt(d.min), fmt(d.p50), fmt(d.p90), fmt(d.max)])]));
    lines.push('');
  }
  if (report.failing.length) {
    lines.push(`failing runs (open one with: spine show <runId>, or in the studio):`);
    for (const f of report.failing) lines.push(`  ${f.runId}  case ${f.caseId} #${f.repeat}: ${f.reasons.join('; ')}`);
    lines.push('');
  }
  lines.push(report.passed ? 'PASS: every check held' : `FAIL: ${report.checks.filter((c) => !c.held).map((c) => `${c.metric} (${c.check})`).join(', ')} did not hold`);
  return lines.join('\n');
}

/** The text report of `spine eval --online`. */
export function formatOnlineReport(report: OnlineReport): string {
  const lines = [`online scoring of ${report.suite}: ${report.scored.length} of ${report.candidates} unscored finished runs sampled (session ${report.sessionId})`];
  for (const r of report.scored) {
    const scores = Object.entries(r.scores).filter(([, s]) => !s.skipped).map(([name, s]) => `${name}=${fmt(s.value)}${s.pass ? '' : '!'}`);
    lines.push(`  ${r.runId} (${r.machine}@${r.version.slice(0, 12)}): ${scores.join(' ') || 'no scorer applied'}`);
  }
  const versions = Object.entries(report.byVersion);
  if (versions.length) {
    lines.push('', 'quality by machine version (every online score so far):');
    const keys = [...new Set(versions.flatMap(([, m]) => Object.keys(m)))].filter((k) => !k.startsWith('tokens') && !k.startsWith('cost_'));
    lines.push(table([['version', ...keys], ...versions.map(([v, m]) => [v.slice(0, 12), ...keys.map((k) => fmt(m[k]))])]));
  }
  return lines.join('\n');
}
