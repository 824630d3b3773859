import { readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';

/** Where a WAV file's samples are, and how big one frame is. */
export interface WavLayout {
  /** The bytes of the `fmt ` chunk, kept to build each slice's header. */
  fmt: string;
  dataOffset: number;
  dataLength: number;
  blockAlign: number;
  sampleRate: number;
}

/** Reads a RIFF/WAVE file's chunk list; throws naming the problem for anything else. */
export function wavLayout(path: string): WavLayout {
  const file = readFileSync(path);
  if (file.toString('latin1', 0, 4) !== 'RIFF' || file.toString('latin1', 8, 12) !== 'WAVE') throw new Error(`${path} is not a WAV file (no RIFF/WAVE header)`);
  let fmt: Buffer | undefined;
  for (let at = 12; at + 8 <= file.length; ) {
    const id = file.toString('latin1', at, at + 4);
    const size = file.readUInt32LE(at + 4);
    if (id === 'fmt ') fmt = file.subarray(at + 8, at + 8 + size);
    if (id === 'data') {
      if (!fmt) throw new Error(`${path}: the data chunk comes before the fmt chunk`);
      return { fmt: fmt.toString('base64'), dataOffset: at + 8, dataLength: Math.min(size, file.length - at - 8), blockAlign: fmt.readUInt16LE(12), sampleRate: fmt.readUInt32LE(4) };
    }
    at += 8 + size + (size % 2);
  }
  throw new Error(`${path} has no data chunk`);
}

/** A standalone WAV file holding `length` bytes of samples from `offset` of the original. */
export async function wavSlice(path: string, layout: Pick<WavLayout, 'fmt'>, offset: number, length: number): Promise<Buffer> {
  const fmt = Buffer.from(layout.fmt, 'base64');
  const samples = Buffer.alloc(length);
  const handle = await open(path, 'r');
  try {
    await handle.read(samples, 0, length, offset);
  } finally {
    await handle.close();
  }
  const header = Buffer.alloc(12 + 8 + fmt.length + 8);
  header.write('RIFF', 0, 'latin1');
  header.writeUInt32LE(header.length - 8 + length, 4);
  header.write('WAVE', 8, 'latin1');
  header.write('fmt ', 12, 'latin1');
  header.writeUInt32LE(fmt.length, 16);
  fmt.copy(header, 20);
  header.write('data', 20 + fmt.length, 'latin1');
  header.writeUInt32LE(length, 24 + fmt.length);
  return Buffer.concat([header, samples]);
}

/** A mono 16-bit PCM WAV of `seconds` seconds: a quiet tone per second, so every slice differs. */
export function toneWav(seconds: number, sampleRate = 8000): Buffer {
  const samples = Buffer.alloc(seconds * sampleRate * 2);
  for (let i = 0; i < seconds * sampleRate; i++) {
    const hz = 220 + 40 * Math.floor(i / sampleRate);
    samples.writeInt16LE(Math.round(3000 * Math.sin((2 * Math.PI * hz * i) / sampleRate)), i * 2);
  }
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'latin1');
  header.writeUInt32LE(36 + samples.length, 4);
  header.write('WAVEfmt ', 8, 'latin1');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'latin1');
  header.writeUInt32LE(samples.length, 40);
  return Buffer.concat([header, samples]);
}
