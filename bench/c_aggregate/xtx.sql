-- The experiment's aggregates (bench/c_aggregate.ts loads this with MODULE_PATHNAME replaced by the
-- built library's path). Not part of the library: see xtx.c.
create function aoma_acc_combine(internal, internal) returns internal
  language c parallel safe as 'MODULE_PATHNAME', 'aoma_acc_combine';
create function aoma_acc_serial(internal) returns bytea
  language c strict parallel safe as 'MODULE_PATHNAME', 'aoma_acc_serial';
create function aoma_acc_deserial(bytea, internal) returns internal
  language c strict parallel safe as 'MODULE_PATHNAME', 'aoma_acc_deserial';
create function aoma_acc_final(internal) returns float8[]
  language c parallel safe as 'MODULE_PATHNAME', 'aoma_acc_final';
create function aoma_xtx_trans(internal, float8, float8, float8, float8, float8, float8) returns internal
  language c parallel safe as 'MODULE_PATHNAME', 'aoma_xtx_trans';
create aggregate aoma_xtx(float8, float8, float8, float8, float8, float8) (
  sfunc = aoma_xtx_trans, stype = internal, finalfunc = aoma_acc_final,
  combinefunc = aoma_acc_combine, serialfunc = aoma_acc_serial, deserialfunc = aoma_acc_deserial,
  parallel = safe);
create function aoma_logit_scan_trans(internal, float8[], float8, float8, float8, float8, float8, float8) returns internal
  language c parallel safe as 'MODULE_PATHNAME', 'aoma_logit_scan_trans';
create aggregate aoma_logit_scan(float8[], float8, float8, float8, float8, float8, float8) (
  sfunc = aoma_logit_scan_trans, stype = internal, finalfunc = aoma_acc_final,
  combinefunc = aoma_acc_combine, serialfunc = aoma_acc_serial, deserialfunc = aoma_acc_deserial,
  parallel = safe);
