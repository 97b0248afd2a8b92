-- AOMA Mesh Analytics: known dates (issue 11). Dates the team knows matter — a cloud migration, a
-- format change, a major release — so that root-cause analysis can cut the upload-date cohort
-- around them ("files uploaded before the cloud migration"; analytics.root_cause_segments,
-- sql/83_root_cause.sql). service_role maintains them; the demo load records its migration date.

create table if not exists analytics.known_dates (
  day          date not null,
  label        text not null check (length(label) between 1 and 80 and label !~ '[[:cntrl:]]'),
  description  text,
  added_at     timestamptz not null default now(),
  primary key (day, label)
);
comment on table analytics.known_dates is
  'Dates that matter to the analyses (e.g. the cloud-migration date): root-cause analysis cuts the upload-date cohort of processing attempts at them. service_role adds rows; nothing overwrites them.';
comment on column analytics.known_dates.day is 'The UTC day (an asset uploaded on or after it is "after").';
comment on column analytics.known_dates.label is 'Short name shown in answers, e.g. "cloud migration".';
comment on column analytics.known_dates.description is 'What happened that day.';

grant select on analytics.known_dates to authenticated, service_role;
grant insert on analytics.known_dates to service_role;
alter table analytics.known_dates enable row level security;
drop policy if exists known_dates_read on analytics.known_dates;
create policy known_dates_read on analytics.known_dates for select to authenticated, service_role using (true);
drop policy if exists known_dates_write on analytics.known_dates;
create policy known_dates_write on analytics.known_dates for insert to service_role with check (true);
-- the demo quarter's own date leaves with the demo (src/demo/load.ts removeDemoBeforeIngest); nothing else is deleted
grant delete on analytics.known_dates to service_role;
drop policy if exists known_dates_demo_delete on analytics.known_dates;
create policy known_dates_demo_delete on analytics.known_dates for delete to service_role
  using (description = 'The demo quarter''s cloud-migration date (src/demo/truth.json)');
