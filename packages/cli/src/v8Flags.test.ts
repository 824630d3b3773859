import { describe, expect, it } from 'vitest';
import { applyHostV8Flags, appliedV8Flags, HOST_V8_FLAGS } from './v8Flags.js';

describe('applyHostV8Flags', () => {
  it("applies a host's V8 settings, and keeps the list its child processes start with", () => {
    expect(applyHostV8Flags({}, [])).toEqual(['--no-allocation-site-pretenuring']);
    expect(appliedV8Flags()).toEqual([...HOST_V8_FLAGS]);
  });

  it('leaves a setting the user chose, in either direction, in node options or NODE_OPTIONS, and all of them with SPINE_V8_DEFAULTS=1', () => {
    expect(applyHostV8Flags({}, ['--allocation-site-pretenuring'])).toEqual([]);
    expect(applyHostV8Flags({ NODE_OPTIONS: '--max-old-space-size=4096 --no-allocation-site-pretenuring' }, [])).toEqual([]);
    expect(applyHostV8Flags({ NODE_OPTIONS: '--allocation_site_pretenuring' }, [])).toEqual([]);
    expect(applyHostV8Flags({ SPINE_V8_DEFAULTS: '1' }, [])).toEqual([]);
    // Another V8 option is no choice about this one.
    expect(applyHostV8Flags({ NODE_OPTIONS: '--max-semi-space-size=32' }, ['--inspect'])).toEqual(['--no-allocation-site-pretenuring']);
  });
});
