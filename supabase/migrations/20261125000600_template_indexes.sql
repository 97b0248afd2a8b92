-- AOMA Mesh Analytics: indexes for template look-ups. Log ingest re-points events and attempts when
-- Drain generalises a template, and recomputes template statistics; root-cause analyses group by
-- template. Without these every such step scans the whole table.
create index if not exists log_events_template_id_idx on aoma.log_events (template_id);
create index if not exists processing_attempts_error_template_id_idx on aoma.processing_attempts (error_template_id);
