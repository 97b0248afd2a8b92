-- sql/99_privileges.sql — applied last: no function in our schemas is executable by PUBLIC (and so by
-- anon). Functions are created EXECUTE-able by PUBLIC by default and per-schema default privileges
-- cannot change that; each module revokes after each function, and this catches any it missed.
-- Explicit grants (authenticated, service_role) are untouched.
revoke execute on all functions in schema aoma, analytics, aoma_private from public;
