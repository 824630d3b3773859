import Database from 'better-sqlite3';
import { encodeHistoryStep, decodeHistoryStep } from '/work/wt/diet/packages/runtime/dist/history/index.js';
const db = new Database(process.argv[2], { readonly: true });
const rows = db.prepare('SELECT * FROM history ORDER BY row_id').all();
for (let k = 0; k < 30; k++) { const last = new Map(); let total = 0, raw = 0; let t = process.hrtime.bigint();
for (const r of rows) {
  const base = last.get(r.actor_id) ?? null;
  const enc = encodeHistoryStep({ seq: r.seq, event: r.event, snapshot: r.snapshot }, base);
  const dec = decodeHistoryStep(enc.body, enc.checkpoint ? null : base);
  if (dec.snapshot !== r.snapshot || dec.event !== r.event) throw new Error('mismatch');
  total += enc.body.length; raw += r.event.length + r.snapshot.length;
  last.set(r.actor_id, r.snapshot);
}
console.log(rows.length, 'rows raw', raw, 'encoded', total, 'per row', (total / rows.length).toFixed(0), 'us/row', Number(process.hrtime.bigint() - t) / 1000 / rows.length); }
