import type { CostPoint, JobJson } from '@spine/server/protocol';
import { useMemo } from 'react';
import { usd } from '../model/format.js';
import type { ActorMeta } from '../model/RunTimeline.js';

const COLORS = ['#6366f1', '#f97316', '#0ea5e9', '#d946ef', '#84cc16', '#ef4444', '#14b8a6', '#a16207'];

/** Priced calls of a run's jobs, from their journals. */
export function costPointsOfJobs(jobs: JobJson[], actors: Record<string, ActorMeta>): CostPoint[] {
  const points: CostPoint[] = [];
  for (const job of jobs) {
    for (const entry of job.journal) {
      const cost = typeof entry.costUsd === 'number' ? entry.costUsd : 0;
      const usage = (entry.usage ?? {}) as Record<string, unknown>;
      const input = Number(usage.inputTokens ?? usage.input ?? usage.prompt_tokens ?? 0) || 0;
      const output = Number(usage.outputTokens ?? usage.output ?? usage.completion_tokens ?? 0) || 0;
      if (!cost && !input && !output) continue;
      const started = typeof entry.startedAt === 'number' ? entry.startedAt : (job.startedAt ?? job.createdAt);
      points.push({
        at: started + (typeof entry.durationMs === 'number' ? entry.durationMs : 0),
        runId: '',
        actorId: job.actorId,
        machine: actors[job.actorId]?.machine ?? job.actorId,
        model: typeof entry.model === 'string' ? entry.model : job.src,
        costUsd: cost,
        tokens: { input, output, total: input + output },
      });
    }
  }
  return points.sort((a, b) => a.at - b.at);
}

/** Cumulative spend over time, one line per agent (machine) or per model; plain SVG. */
export function CostChart({ points, grouping, width = 1000, height = 280 }: { points: CostPoint[]; grouping: 'agent' | 'model'; width?: number; height?: number }) {
  const pad = { left: 56, right: 12, top: 10, bottom: 24 };
  const series = useMemo(() => {
    const groups = new Map<string, { at: number; total: number }[]>();
    const totals = new Map<string, number>();
    for (const p of points) {
      const key = grouping === 'agent' ? p.machine : p.model;
      const total = (totals.get(key) ?? 0) + p.costUsd;
      totals.set(key, total);
      const list = groups.get(key) ?? [];
      list.push({ at: p.at, total });
      groups.set(key, list);
    }
    return [...groups.entries()].map(([key, list], i) => ({ key, list, color: COLORS[i % COLORS.length]!, total: totals.get(key)! }));
  }, [points, grouping]);
  if (!points.length) return null;
  // Leave a margin before the first call and after the last, so a single call still reads as a step up.
  const first = points[0]!.at;
  const last = points[points.length - 1]!.at;
  const margin = Math.max(1000, (last - first) * 0.05);
  const t0 = first - margin;
  const t1 = last + margin;
  const max = Math.max(...series.map((s) => s.total), 1e-9);
  const x = (t: number) => pad.left + ((t - t0) / (t1 - t0)) * (width - pad.left - pad.right);
  const y = (v: number) => height - pad.bottom - (v / max) * (height - pad.top - pad.bottom);
  return (
    <figure className="cost-chart" data-testid="cost-chart">
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`Cumulative spend per ${grouping}`}>
        {[0, 0.5, 1].map((f) => (
          <g key={f}>
            <line x1={pad.left} x2={width - pad.right} y1={y(max * f)} y2={y(max * f)} className="grid" />
            <text x={pad.left - 6} y={y(max * f) + 4} textAnchor="end" className="axis">
              {usd(max * f)}
            </text>
          </g>
        ))}
        <text x={pad.left} y={height - 6} className="axis">
          {new Date(t0).toLocaleTimeString()}
        </text>
        <text x={width - pad.right} y={height - 6} textAnchor="end" className="axis">
          {new Date(t1).toLocaleTimeString()}
        </text>
        {series.map((s) => {
          let d = `M ${x(t0)} ${y(0)}`;
          let last = 0;
          for (const p of s.list) {
            d += ` L ${x(p.at)} ${y(last)} L ${x(p.at)} ${y(p.total)}`;
            last = p.total;
          }
          d += ` L ${x(t1)} ${y(last)}`;
          return <path key={s.key} d={d} fill="none" stroke={s.color} strokeWidth={2} />;
        })}
      </svg>
      <figcaption className="legend">
        {series.map((s) => (
          <span key={s.key}>
            <i style={{ background: s.color }} /> {s.key}: {usd(s.total)}
          </span>
        ))}
      </figcaption>
    </figure>
  );
}
