import { useEffect, useRef } from 'react';
import { clock, duration } from '../model/format.js';
import { formatStateValue } from '../model/machineGraph.js';
import type { RunTimeline } from '../model/RunTimeline.js';
import { useStudio } from './hooks.js';

const WINDOW = 400;

/** The event timeline of a run, with a scrubber to view any past step. */
export function Timeline({ timeline, index, live }: { timeline: RunTimeline; index: number; live: boolean }) {
  const studio = useStudio();
  const { steps } = timeline;
  const listRef = useRef<HTMLOListElement>(null);
  const start = Math.max(0, Math.min(index - WINDOW / 2, steps.length - WINDOW));
  const shown = steps.slice(start, start + WINDOW);
  useEffect(() => {
    const row = listRef.current?.querySelector<HTMLElement>('[data-selected="true"]');
    row?.scrollIntoView({ block: 'nearest' });
  }, [index, steps.length]);
  return (
    <div className="timeline">
      <div className="scrubber">
        <button onClick={() => studio.ui.trigger.setCursor({ cursor: Math.max(0, index - 1) })} disabled={index <= 0} aria-label="Previous step">
          ‹
        </button>
        <input
          type="range"
          min={0}
          max={Math.max(0, steps.length - 1)}
          value={Math.max(0, index)}
          onChange={(e) => studio.ui.trigger.setCursor({ cursor: Number(e.target.value) })}
          aria-label="Step"
          data-testid="scrubber"
        />
        <button onClick={() => studio.ui.trigger.setCursor({ cursor: Math.min(steps.length - 1, index + 1) })} disabled={index >= steps.length - 1} aria-label="Next step">
          ›
        </button>
        <span className="muted step-count">
          step {index + 1} / {steps.length}
          {timeline.truncated ? ` (latest ${steps.length} of ${timeline.total}+)` : ''}
        </span>
        <button className={live ? 'live on' : 'live'} onClick={() => studio.ui.trigger.goLive()} data-testid="live-toggle" title="Follow the run as it moves">
          {live ? '● Live' : 'Go live'}
        </button>
      </div>
      <ol className="steps" ref={listRef} data-testid="timeline" data-caught-up={timeline.caughtUp ? 'true' : 'false'}>
        {start > 0 && <li className="muted">{start} earlier steps (move the scrubber to see them)</li>}
        {shown.map((step, i) => {
          const at = start + i;
          const selected = at === index;
          return (
            <li
              key={step.key}
              className={`step ${selected ? 'selected' : ''} ${at > index ? 'future' : ''}`}
              data-testid="step-row"
              data-index={at}
              data-seq={step.seq}
              data-actor={step.actorId}
              data-selected={selected}
              onClick={() => studio.ui.trigger.selectStep({ index: at, actorId: step.actorId })}
            >
              <span className="muted mono">{clock(step.at)}</span>
              <span className="mono actor" title={step.actorId}>
                {step.actorId === timeline.runId ? 'root' : step.actorId.slice(timeline.runId.length + 1)}#{step.seq}
              </span>
              <span className="event mono">{step.eventType}</span>
              <span className="arrow">→</span>
              <span className="mono">{formatStateValue(step.value)}</span>
              <span className="muted num">{duration(step.durationUs)}</span>
            </li>
          );
        })}
      </ol>
    </div>
  );
}
