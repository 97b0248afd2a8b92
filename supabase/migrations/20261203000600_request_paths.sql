-- AOMA Mesh Analytics: how log templates treat the target of a quoted HTTP request line
-- ("GET /v2/…/servers/detail HTTP/1.1"); read by every template miner at the start of an ingest run
-- (src/ingest/templates.ts, src/ingest/mask.ts rule 2).
alter table analytics.settings
  add column if not exists request_paths text not null default 'parameter'
  check (request_paths in ('parameter', 'shape'));
comment on column analytics.settings.request_paths is
  'Request lines in log templates: ''parameter'' (default) — the method and protocol stay, the whole target is one parameter, as Loghub''s labelled templates group them (one template per method); ''shape'' — the path keeps its constant segments and only ids, numbers, hashes and the query become parameters ("GET /v2/<*>/servers/detail HTTP/1.1"), one template per endpoint. Set it before the first log ingest: templates already stored keep covering the messages they cover.';
grant update (request_paths) on analytics.settings to service_role;
