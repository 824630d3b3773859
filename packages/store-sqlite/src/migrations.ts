import type Database from 'better-sqlite3';
import { encodeHistoryStep, HistoryDecoder, packJobJournal, packJobOutput, packPayload, type StoredHistoryBody } from '@spine/runtime/store';
import { SNAPSHOT_IN_HISTORY } from './rows.js';

/** The application id written into `spine_meta`; a database without it is not Spine's. */
export const APPLICATION = 'spine';

/** One schema migration: SQL, or a function for what SQL cannot compute (it runs in the migration's transaction). */
export type Migration = string | ((db: Database.Database) => void);

/**
 * Schema migrations, in order; migration N brings the schema to version N.
 * Never edit a released migration: add the next one.
 */
export const migrations: readonly Migration[] = [
  `
  CREATE TABLE spine_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

  CREATE TABLE machine_versions (
    machine TEXT NOT NULL,
    version TEXT NOT NULL,
    definition TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (machine, version)
  );

  CREATE TABLE actors (
    id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    parent_id TEXT,
    child_key TEXT,
    machine TEXT NOT NULL,
    version TEXT NOT NULL,
    seq INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'active',
    snapshot TEXT,
    state_value TEXT,
    output TEXT,
    error TEXT,
    owner TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );
  CREATE INDEX actors_run ON actors (run_id);
  CREATE INDEX actors_parent ON actors (parent_id, status);
  CREATE INDEX actors_roots ON actors (created_at) WHERE parent_id IS NULL;

  CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    actor_id TEXT NOT NULL,
    type TEXT NOT NULL,
    event TEXT NOT NULL,
    due_at INTEGER NOT NULL,
    send_id TEXT,
    source TEXT NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE INDEX events_mailbox ON events (actor_id, due_at, id);
  CREATE INDEX events_due ON events (due_at);
  CREATE INDEX events_send ON events (source, send_id) WHERE send_id IS NOT NULL;

  CREATE TABLE history (
    row_id INTEGER PRIMARY KEY AUTOINCREMENT,
    actor_id TEXT NOT NULL,
    run_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    event_type TEXT NOT NULL,
    event TEXT NOT NULL,
    state_value TEXT NOT NULL,
    snapshot TEXT NOT NULL,
    status TEXT NOT NULL,
    version TEXT NOT NULL,
    emitted TEXT,
    started_at INTEGER NOT NULL,
    duration_us INTEGER NOT NULL,
    UNIQUE (actor_id, seq)
  );
  CREATE INDEX history_run ON history (run_id, row_id);

  CREATE TABLE jobs (
    key TEXT PRIMARY KEY,
    actor_id TEXT NOT NULL,
    run_id TEXT NOT NULL,
    child_id TEXT NOT NULL,
    src TEXT NOT NULL,
    input TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    run_at INTEGER NOT NULL,
    owner TEXT,
    output TEXT,
    error TEXT,
    journal TEXT NOT NULL DEFAULT '[]',
    created_at INTEGER NOT NULL,
    started_at INTEGER,
    finished_at INTEGER
  );
  CREATE INDEX jobs_open ON jobs (status, run_at) WHERE status IN ('pending', 'running');
  CREATE INDEX jobs_actor ON jobs (actor_id, child_id);
  CREATE INDEX jobs_run ON jobs (run_id);

  CREATE TABLE dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    actor_id TEXT NOT NULL,
    event TEXT NOT NULL,
    reason TEXT NOT NULL,
    issues TEXT,
    source TEXT NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE INDEX dead_letters_actor ON dead_letters (actor_id);

  CREATE TABLE hosts (
    id TEXT PRIMARY KEY,
    hostname TEXT NOT NULL,
    pid INTEGER NOT NULL,
    started_at INTEGER NOT NULL,
    heartbeat_at INTEGER NOT NULL
  );
  `,
  // 2: humans in the loop. Approvals for held jobs, signed decisions, and the
  // append-only, hash-chained audit log (triggers refuse any UPDATE or DELETE).
  `
  CREATE TABLE approvals (
    id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    job_key TEXT NOT NULL UNIQUE,
    child_id TEXT NOT NULL,
    src TEXT NOT NULL,
    machine TEXT NOT NULL,
    version TEXT NOT NULL,
    seq INTEGER NOT NULL,
    tier TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    proposal TEXT NOT NULL,
    rationale TEXT NOT NULL,
    requested_at INTEGER NOT NULL,
    deadline_at INTEGER,
    on_deadline TEXT NOT NULL,
    escalated_at INTEGER,
    decided_by TEXT,
    decided_at INTEGER,
    reason TEXT,
    edited_input TEXT,
    signature TEXT
  );
  CREATE INDEX approvals_run ON approvals (run_id, status);
  CREATE INDEX approvals_actor ON approvals (actor_id, child_id) WHERE status = 'pending';
  CREATE INDEX approvals_deadline ON approvals (deadline_at) WHERE status = 'pending' AND escalated_at IS NULL AND deadline_at IS NOT NULL;

  CREATE TABLE decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    approval_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    signature TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'submitted',
    created_at INTEGER NOT NULL
  );
  CREATE INDEX decisions_submitted ON decisions (id) WHERE status = 'submitted';

  CREATE TABLE audit_log (
    seq INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    run_id TEXT,
    actor_id TEXT,
    kind TEXT NOT NULL,
    who TEXT NOT NULL,
    subject TEXT,
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
  );
  CREATE INDEX audit_log_run ON audit_log (run_id, seq);
  CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: its rows cannot be changed'); END;
  CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: its rows cannot be deleted'); END;
  `,
  // 3: the audit log's anchor: its row count and head hash, kept outside the rows it covers and
  // signed with the database secret (see auditAnchor.ts). 'pending' is replaced in the same
  // transaction by the anchor of the rows already there; a missing anchor is reported as tampering.
  `
  INSERT INTO spine_meta (key, value) VALUES ('audit_anchor', 'pending');
  `,
  // 4: the history diet. A history row keeps its event and snapshot as one body encoded by the
  // runtime's codec (`encodeHistoryStep`: a delta against the actor's previous row, a deflated
  // checkpoint every 32 steps) instead of two whole texts. A step that applies an activity's result
  // names its job (job_key): the body refers to the job's stored output instead of copying it.
  // Rows keep their row ids (old rows refer to no job).
  encodeHistoryBodies,
  // 5: ownership leases and fencing tokens. A host's lease runs until lease_until (hosts that ran
  // before it count as expired once their old 5 s staleness window passed); an actor's owner_epoch
  // grows at every change of owner, and a step commits only with its owner's epoch.
  `
  ALTER TABLE hosts ADD COLUMN lease_until INTEGER NOT NULL DEFAULT 0;
  UPDATE hosts SET lease_until = heartbeat_at + 5000;
  ALTER TABLE actors ADD COLUMN owner_epoch INTEGER NOT NULL DEFAULT 0;
  `,
  // 6: the job and actor diet. A job's long input, output and journal are kept packed (the runtime's
  // `packPayload`: deflated, the output against the input, the journal against both); a finished
  // actor's snapshot, which its last history row holds too, is kept there only (a one-byte blob
  // in the actor row says so). Values are rewritten only where they read back exactly.
  packJobsAndFinishedActors,
  // 7: two pages fewer per step. History row ids come from the table's own INTEGER PRIMARY KEY
  // instead of AUTOINCREMENT, whose counter (a row of sqlite_sequence) was rewritten by every step:
  // history rows are never deleted, so the next row id is always past every id given before, as
  // the counter made it (the table is rebuilt with its rows and row ids as they are). And jobs lose
  // their run_id index, which every job's insert wrote: a run's jobs are found through its actors.
  historyWithoutSequence,
];

/** Migration 6, run in the migration's transaction. */
function packJobsAndFinishedActors(db: Database.Database): void {
  // Finished actors first: their history rows may refer to job outputs, still plain text here.
  const decoder = new HistoryDecoder({ limit: 1 });
  const chain = db.prepare(
    `SELECT h.actor_id AS actorId, h.seq, h.body, j.output AS shared FROM history h LEFT JOIN jobs j ON j.key = h.job_key
     WHERE h.actor_id = ? AND h.seq < ? AND h.seq >= (SELECT MAX(seq) FROM history WHERE actor_id = ? AND seq < ? AND checkpoint = 1) ORDER BY h.seq`,
  );
  const last = db.prepare('SELECT h.actor_id AS actorId, h.seq, h.body, j.output AS shared FROM history h LEFT JOIN jobs j ON j.key = h.job_key WHERE h.actor_id = ? AND h.seq = ?');
  const keep = db.prepare('UPDATE actors SET snapshot = ? WHERE id = ?');
  const finished = db.prepare("SELECT id, seq, snapshot FROM actors WHERE status <> 'active' AND typeof(snapshot) = 'text' AND id > ? ORDER BY id LIMIT 500");
  for (let after = ''; ; ) {
    const rows = finished.all(after) as { id: string; seq: number; snapshot: string }[];
    if (!rows.length) break;
    for (const r of rows) {
      after = r.id;
      const row = last.get(r.id, r.seq) as StoredHistoryBody | undefined;
      if (!row) continue;
      const { snapshot } = decoder.decode(row, (actorId, seq) => chain.all(actorId, seq, actorId, seq) as StoredHistoryBody[]);
      if (snapshot === r.snapshot) keep.run(SNAPSHOT_IN_HISTORY, r.id);
    }
  }
  const jobs = db.prepare('SELECT key, input, output, journal FROM jobs WHERE key > ? ORDER BY key LIMIT 500');
  const write = db.prepare('UPDATE jobs SET input = ?, output = ?, journal = ? WHERE key = ?');
  for (let after = ''; ; ) {
    const rows = jobs.all(after) as { key: string; input: string; output: string | null; journal: string }[];
    if (!rows.length) break;
    for (const r of rows) {
      after = r.key;
      write.run(packPayload(r.input), r.output === null ? null : packJobOutput(r.output, r.input), packJobJournal(r.journal, r.input, r.output), r.key);
    }
  }
}

/** Migration 7: the history table rebuilt without AUTOINCREMENT (same columns, rows and row ids); the jobs' run index dropped. */
function historyWithoutSequence(db: Database.Database): void {
  const createTable = HISTORY_V4.replace('AUTOINCREMENT', '').replace('CREATE TABLE history', 'CREATE TABLE history_v7');
  db.exec(`
    DROP INDEX jobs_run;
    ${createTable}
    INSERT INTO history_v7 (${HISTORY_COLUMNS}) SELECT ${HISTORY_COLUMNS} FROM history ORDER BY row_id;
    DROP TABLE history;
    ALTER TABLE history_v7 RENAME TO history;
    CREATE INDEX history_run ON history (run_id, row_id);
    DELETE FROM sqlite_sequence WHERE name = 'history';
  `);
}

const HISTORY_COLUMNS = 'row_id, actor_id, run_id, seq, event_type, state_value, status, version, emitted, started_at, duration_us, checkpoint, body, job_key';

const HISTORY_V4 = `
  CREATE TABLE history (
    row_id INTEGER PRIMARY KEY AUTOINCREMENT,
    actor_id TEXT NOT NULL,
    run_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    event_type TEXT NOT NULL,
    state_value TEXT NOT NULL,
    status TEXT NOT NULL,
    version TEXT NOT NULL,
    emitted TEXT,
    started_at INTEGER NOT NULL,
    duration_us INTEGER NOT NULL,
    checkpoint INTEGER NOT NULL,
    body BLOB NOT NULL,
    job_key TEXT,
    UNIQUE (actor_id, seq)
  );
`;

interface HistoryV3Row {
  row_id: number;
  actor_id: string;
  run_id: string;
  seq: number;
  event_type: string;
  event: string;
  state_value: string;
  snapshot: string;
  status: string;
  version: string;
  emitted: string | null;
  started_at: number;
  duration_us: number;
}

/** Rewrites every history row of schema 3 into the schema 4 layout, actor by actor in seq order, a page at a time. */
function encodeHistoryBodies(db: Database.Database): void {
  db.exec(`ALTER TABLE history RENAME TO history_v3; DROP INDEX history_run; ${HISTORY_V4}`);
  const page = db.prepare('SELECT * FROM history_v3 WHERE (actor_id, seq) > (?, ?) ORDER BY actor_id, seq LIMIT 500');
  const insert = db.prepare(
    `INSERT INTO history (row_id, actor_id, run_id, seq, event_type, state_value, status, version, emitted, started_at, duration_us, checkpoint, body)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  let previous: HistoryV3Row | undefined;
  for (;;) {
    const rows = page.all(previous?.actor_id ?? '', previous?.seq ?? -1) as HistoryV3Row[];
    if (!rows.length) break;
    for (const r of rows) {
      const base = previous && previous.actor_id === r.actor_id && previous.seq === r.seq - 1 ? previous.snapshot : null;
      const { body, checkpoint } = encodeHistoryStep({ seq: r.seq, event: r.event, snapshot: r.snapshot }, base);
      insert.run(r.row_id, r.actor_id, r.run_id, r.seq, r.event_type, r.state_value, r.status, r.version, r.emitted, r.started_at, r.duration_us, checkpoint ? 1 : 0, body);
      previous = r;
    }
  }
  // Row ids stay unique for good: the new table continues the old one's sequence.
  db.exec(`
    UPDATE sqlite_sequence SET seq = MAX(seq, COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'history_v3'), 0)) WHERE name = 'history';
    INSERT INTO sqlite_sequence (name, seq) SELECT 'history', seq FROM sqlite_sequence WHERE name = 'history_v3' AND NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'history');
    DROP TABLE history_v3;
    CREATE INDEX history_run ON history (run_id, row_id);
  `);
}
