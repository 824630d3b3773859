/** The application id written into `spine_meta`; a schema without it is not Spine's. */
export const APPLICATION = 'spine';

/**
 * Schema migrations, in order; migration N brings the schema to version N.
 * Never edit a released migration: add the next one. The tables mirror
 * packages/store-sqlite/src/migrations.ts (same names and columns), with
 * PostgreSQL types: times are epoch milliseconds in BIGINT, ids are identities.
 */
export const migrations: readonly string[] = [
  `
  CREATE TABLE spine_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

  CREATE TABLE machine_versions (
    machine TEXT NOT NULL,
    version TEXT NOT NULL,
    definition TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    ord BIGINT GENERATED ALWAYS AS IDENTITY,
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
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
  );
  CREATE INDEX actors_run ON actors (run_id);
  CREATE INDEX actors_parent ON actors (parent_id, status);
  CREATE INDEX actors_roots ON actors (created_at) WHERE parent_id IS NULL;

  CREATE TABLE events (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    actor_id TEXT NOT NULL,
    type TEXT NOT NULL,
    event TEXT NOT NULL,
    due_at BIGINT NOT NULL,
    send_id TEXT,
    source TEXT NOT NULL,
    created_at BIGINT NOT NULL
  );
  CREATE INDEX events_mailbox ON events (actor_id, due_at, id);
  CREATE INDEX events_due ON events (due_at);
  CREATE INDEX events_send ON events (source, send_id) WHERE send_id IS NOT NULL;

  CREATE TABLE history (
    row_id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    actor_id TEXT NOT NULL,
    run_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    event_type TEXT NOT NULL,
    state_value TEXT NOT NULL,
    status TEXT NOT NULL,
    version TEXT NOT NULL,
    emitted TEXT,
    started_at BIGINT NOT NULL,
    duration_us BIGINT NOT NULL,
    -- The event and snapshot as the runtime's history codec encodes them (encodeHistoryStep):
    -- the same bytes SQLite stores. A checkpoint decodes alone; any other body is a delta
    -- against the actor's previous step, and may refer to the output of the job job_key names.
    checkpoint BOOLEAN NOT NULL,
    body BYTEA NOT NULL,
    job_key TEXT,
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
    run_at BIGINT NOT NULL,
    owner TEXT,
    output TEXT,
    error TEXT,
    journal TEXT NOT NULL DEFAULT '[]',
    created_at BIGINT NOT NULL,
    started_at BIGINT,
    finished_at BIGINT
  );
  CREATE INDEX jobs_open ON jobs (status, run_at) WHERE status IN ('pending', 'running');
  CREATE INDEX jobs_actor ON jobs (actor_id, child_id);
  CREATE INDEX jobs_run ON jobs (run_id);

  CREATE TABLE dead_letters (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    actor_id TEXT NOT NULL,
    event TEXT NOT NULL,
    reason TEXT NOT NULL,
    issues TEXT,
    source TEXT NOT NULL,
    created_at BIGINT NOT NULL
  );
  CREATE INDEX dead_letters_actor ON dead_letters (actor_id, id);

  CREATE TABLE hosts (
    id TEXT PRIMARY KEY,
    hostname TEXT NOT NULL,
    pid INTEGER NOT NULL,
    started_at BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL
  );

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
    requested_at BIGINT NOT NULL,
    deadline_at BIGINT,
    on_deadline TEXT NOT NULL,
    escalated_at BIGINT,
    decided_by TEXT,
    decided_at BIGINT,
    reason TEXT,
    edited_input TEXT,
    signature TEXT
  );
  CREATE INDEX approvals_run ON approvals (run_id, status);
  CREATE INDEX approvals_actor ON approvals (actor_id, child_id) WHERE status = 'pending';
  CREATE INDEX approvals_deadline ON approvals (deadline_at) WHERE status = 'pending' AND escalated_at IS NULL AND deadline_at IS NOT NULL;

  CREATE TABLE decisions (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    approval_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    signature TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'submitted',
    created_at BIGINT NOT NULL
  );
  CREATE INDEX decisions_submitted ON decisions (id) WHERE status = 'submitted';

  CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY,
    at BIGINT NOT NULL,
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
  CREATE FUNCTION spine_audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    RAISE EXCEPTION 'audit_log is append-only: its rows cannot be changed or deleted';
  END $$;
  CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION spine_audit_log_append_only();
  CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log FOR EACH STATEMENT EXECUTE FUNCTION spine_audit_log_append_only();

  -- The audit log's anchor (row count and head hash, signed; see auditAnchor.ts). Its row is
  -- also the lock every audit append takes, so the chain has one writer at a time. 'pending'
  -- is replaced in the same transaction by the signed anchor of the (empty) log.
  INSERT INTO spine_meta (key, value) VALUES ('audit_anchor', 'pending');
  `,
  // 2: ownership leases and fencing tokens (as SQLite's migration 5). lease_until is in ms of the
  // database's clock (spine_now_ms()), so hosts with skewed clocks agree on who expired.
  `
  CREATE FUNCTION spine_now_ms() RETURNS BIGINT LANGUAGE sql VOLATILE AS $$ SELECT (extract(epoch FROM clock_timestamp()) * 1000)::BIGINT $$;
  ALTER TABLE hosts ADD COLUMN lease_until BIGINT NOT NULL DEFAULT 0;
  UPDATE hosts SET lease_until = heartbeat_at + 5000;
  ALTER TABLE actors ADD COLUMN owner_epoch BIGINT NOT NULL DEFAULT 0;
  `,
  // 3: jobs lose their run_id index (as SQLite's migration 7). Every job's insert wrote it, and so
  // did every change of a job's status (not a HOT update: jobs_open indexes status); a run's jobs
  // are found through actors_run and jobs_actor.
  `
  DROP INDEX jobs_run;
  `,
];
