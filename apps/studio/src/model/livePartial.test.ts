import type { JobJson, PartialJson } from '@spine/server/protocol';
import { describe, expect, it } from 'vitest';
import { livePartial } from './livePartial.js';

const job = (status: JobJson['status'], attempts: number) => ({ key: 'r:1:0', status, attempts }) as JobJson;
const partial = (attempt: number, ended?: true): PartialJson => ({ type: 'partial', runId: 'r', actorId: 'r', jobKey: 'r:1:0', src: 'model', attempt, text: 'so far', omitted: 0, at: 0, ...(ended ? { ended } : {}) });

describe('livePartial', () => {
  it('shows the text so far while the job runs, even if its loaded row still says pending', () => {
    expect(livePartial(job('running', 1), partial(1))).toBeDefined();
    expect(livePartial(job('pending', 0), partial(1))).toBeDefined();
  });

  it('keeps an ended attempt’s text until the committed result is loaded, then shows the result instead', () => {
    expect(livePartial(job('running', 1), partial(1, true))).toBeDefined();
    expect(livePartial(job('done', 1), partial(1, true))).toBeUndefined();
    expect(livePartial(job('done', 1), partial(1))).toBeUndefined();
  });

  it('drops a cut-off attempt’s text once the job waits to retry or a newer attempt runs', () => {
    expect(livePartial(job('pending', 1), partial(1, true))).toBeUndefined();
    expect(livePartial(job('running', 2), partial(1, true))).toBeUndefined();
    expect(livePartial(job('failed', 3), partial(3, true))).toBeUndefined();
  });
});
