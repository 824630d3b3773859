import { describe, expect, it } from 'vitest';
import { colourOn, table } from './format.js';
import { progress } from './progress.js';

function fakeStream(isTTY: boolean) {
  const writes: string[] = [];
  return { writes, stream: { isTTY, columns: 80, write: (s: string) => writes.push(s), hasColors: () => true } as unknown as NodeJS.WriteStream };
}

describe('progress lines', () => {
  it('redraws one line on a terminal, at most every interval, and clears it at the end', () => {
    const { writes, stream } = fakeStream(true);
    let t = 0;
    const bar = progress('resuming', 4, { stream, now: () => t });
    bar.update(0, 'run-a');
    t = 50;
    bar.update(1, 'run-b'); // too soon: skipped
    t = 200;
    bar.update(2, 'run-c');
    bar.update(4); // the last one is always drawn
    bar.finish();
    expect(writes).toEqual([
      '\r\u001b[2Kresuming [....................] 0/4 run-a',
      '\r\u001b[2Kresuming [##########..........] 2/4 run-c',
      '\r\u001b[2Kresuming [####################] 4/4',
      '\r\u001b[2K',
    ]);
  });

  it('writes nothing into a pipe or a log file', () => {
    const { writes, stream } = fakeStream(false);
    const bar = progress('bench', 3, { stream });
    bar.update(1, 'x');
    bar.finish();
    expect(writes).toEqual([]);
  });
});

describe('colour', () => {
  it('is on for a terminal with colours, off with NO_COLOR, forced by FORCE_COLOR, off in a pipe', () => {
    const tty = fakeStream(true).stream;
    const pipe = fakeStream(false).stream;
    expect(colourOn(tty, {})).toBe(true);
    expect(colourOn(tty, { NO_COLOR: '1' })).toBe(false);
    expect(colourOn(pipe, {})).toBe(false);
    expect(colourOn(pipe, { FORCE_COLOR: '1' })).toBe(true);
    expect(colourOn(tty, { FORCE_COLOR: '0' })).toBe(false);
  });

  it('colours cells without breaking the alignment', () => {
    const plain = table(['RUN', 'STATUS', 'AGE'], [['r1', 'failed', '2s'], ['run-22', 'done', '5m']], { colour: false });
    const coloured = table(['RUN', 'STATUS', 'AGE'], [['r1', 'failed', '2s'], ['run-22', 'done', '5m']], { colour: true, style: (_r, c, t) => (c === 1 ? `\u001b[31m${t}\u001b[39m` : t) });
    expect(coloured).not.toBe(plain);
    expect(coloured.replace(/\u001b\[\d+m/g, '')).toBe(plain);
  });
});
