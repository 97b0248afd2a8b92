-- AOMA Mesh Analytics: ingest runs whose process died (SIGKILL, power loss, OOM) no longer stay
-- `running` forever. Each run records which process runs it (host, pid, a process identity) and a
-- heartbeat; the next ingest run marks runs whose process is gone, or whose heartbeat stopped, as
-- `abandoned` (src/ingest/run.ts).

alter table aoma.ingest_runs add column if not exists host text;
alter table aoma.ingest_runs add column if not exists pid integer;
alter table aoma.ingest_runs add column if not exists process_id text;
alter table aoma.ingest_runs add column if not exists heartbeat_at timestamptz;

alter table aoma.ingest_runs drop constraint if exists ingest_runs_status_check;
alter table aoma.ingest_runs add constraint ingest_runs_status_check
  check (status in ('running', 'succeeded', 'failed', 'abandoned'));

create index if not exists ingest_runs_running on aoma.ingest_runs (started_at) where status = 'running';

comment on column aoma.ingest_runs.status is 'running, succeeded, failed, or abandoned (its process died while it ran; marked by the next ingest run).';
comment on column aoma.ingest_runs.finished_at is 'When it ended (or was found abandoned); null while running.';
comment on column aoma.ingest_runs.host is 'Host name of the process that runs it (null where the runtime does not tell).';
comment on column aoma.ingest_runs.pid is 'Process id of the process that runs it, on host.';
comment on column aoma.ingest_runs.process_id is 'Linux: boot id, PID namespace, pid and start time of that process, so another process on the same machine can tell whether it still lives; null elsewhere.';
comment on column aoma.ingest_runs.heartbeat_at is 'Last sign of life: the running process writes it every 30 seconds; a running run silent for 10 minutes is abandoned.';
