-- AOMA Mesh Analytics: bookkeeping for the sql/ analytics library.

-- bookkeeping of the sql/ library modules applied (src/db/migrate.ts applyLibrary)
create table if not exists aoma_private.library_modules (
  module      text primary key,
  sha256      text not null,
  applied_at  timestamptz not null default now()
);
comment on table aoma_private.library_modules is 'Which sql/ library module text was last applied (sha256), so unchanged modules are not re-run.';
comment on column aoma_private.library_modules.module is 'File name under sql/.';
comment on column aoma_private.library_modules.sha256 is 'SHA-256 of the module text applied.';
comment on column aoma_private.library_modules.applied_at is 'When it was applied.';
