-- The experiment's aggregates and fits (bench/c_aggregate.ts loads this with MODULE_PATHNAME replaced
-- by the built library's path). Not part of the library: see xtx.c. The solves are the library's
-- (aoma_private.glm_solve), in the basis [1, x] (mean 0).
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

-- glm_solve of an aggregate's result r = [n, a (21), b (6), last] for the predictors x1..x5
create function aoma_c_solve(r float8[]) returns float8[]
language sql immutable as $$
  select (aoma_private.glm_solve(r[2:22], r[23:28], r[29], array_fill(0::float8, array[5]), '{x1,x2,x3,x4,x5}')).beta
$$;

-- OLS of column y on x1..x5 of rel: one aoma_xtx scan
create function aoma_c_ols(rel regclass, y text) returns float8[]
language plpgsql as $$
declare
  r float8[];
begin
  execute format('select aoma_xtx(%I, x1, x2, x3, x4, x5) from %s', y, rel) into r;
  return aoma_c_solve(r);
end;
$$;

-- Logistic regression of the 0/1 column yb on x1..x5 of rel as fit_glm does it: the start
-- (ln 3 + 4/3)·(2·β_OLS − e₁) from the least squares of yb (one aoma_xtx scan), then Newton steps
-- (one aoma_logit_scan each) until the Newton decrement ≤ 1e-14 (|deviance| + 1). scans counts both
-- kinds, as fit_glm's iterations count its check scan.
create function aoma_c_logistic(rel regclass, out beta float8[], out scans integer)
language plpgsql as $$
declare
  r float8[];
  step float8[];
begin
  beta := (select array_agg((ln(3::float8) + 4 / 3::float8) * (2 * v - case when i = 1 then 1 else 0 end) order by i)
           from unnest(aoma_c_ols(rel, 'yb')) with ordinality as u(v, i));
  scans := 1;
  loop
    execute format('select aoma_logit_scan($1, yb, x1, x2, x3, x4, x5) from %s', rel) into r using beta;
    scans := scans + 1;
    step := aoma_c_solve(r);
    beta := (select array_agg(b0 + d order by i) from unnest(beta, step) with ordinality as u(b0, d, i));
    exit when (select sum(d * g) from unnest(step, r[23:28]) as u(d, g)) <= 1e-14 * (abs(r[29]) + 1);
    if scans >= 50 then
      raise exception 'aoma_c_logistic: no convergence in 50 scans';
    end if;
  end loop;
end;
$$;
