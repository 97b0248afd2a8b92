/*
 * Experiment for issue 10's speed goals — NOT part of the library (the design card puts the math in
 * SQL/PL/pgSQL, and PGlite cannot load C). It measures what a C aggregate would buy, so the decision
 * "allow an optional C aggregate on server PostgreSQL" can be taken on numbers. Two aggregates, one
 * transition a row each, both returning the sums aoma_private.glm_solve takes (basis u = [1, x],
 * mean 0): [n, a = Σ w·u_i·u_j (packed upper triangle, row by row), b = Σ z·u_i, last]:
 *
 *   aoma_xtx(y, x1, …, xp)               w = 1, z = y, last = Σ y²: the least squares of y
 *   aoma_logit_scan(beta, y, x1, …, xp)  one IRLS scan of a logistic fit at beta (intercept first):
 *                                        w = μ(1 − μ), z = y − μ (the score), last = the deviance
 *
 * Both are PARALLEL SAFE with combine/serial/deserial functions, so max_parallel_workers_per_gather
 * splits them as it splits sum(). Plain sums, no compensation: a speed probe (bench/c_aggregate.ts,
 * the solves in xtx.sql by the library's glm_solve), not an implementation.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "libpq/pqformat.h"
#include "utils/array.h"
#include "utils/builtins.h"

PG_MODULE_MAGIC;

#define MAXK 32

typedef struct Acc
{
	int32		k;				/* 1 + predictors */
	int32		len;			/* sums in s[]: k(k+1)/2 + k + 1 (aoma_logit_scan keeps beta after them) */
	int64		n;
	double		s[FLEXIBLE_ARRAY_MEMBER];
} Acc;

static Acc *
acc_new(MemoryContext ctx, int k, int extra)
{
	int			len = k * (k + 1) / 2 + k + 1;
	Acc		   *a = MemoryContextAllocZero(ctx, offsetof(Acc, s) + sizeof(double) * (len + extra));

	a->k = k;
	a->len = len;
	return a;
}

static MemoryContext
agg_context(FunctionCallInfo fcinfo)
{
	MemoryContext ctx;

	if (!AggCheckCallContext(fcinfo, &ctx))
		elog(ERROR, "aoma_xtx: called outside an aggregate");
	return ctx;
}

/* The row's u = [1, x] from arguments first..first+k−2; false when one is null (complete cases only). */
static bool
read_row(FunctionCallInfo fcinfo, int first, int k, double *u)
{
	u[0] = 1.0;
	for (int i = 1; i < k; i++)
	{
		if (PG_ARGISNULL(first + i - 1))
			return false;
		u[i] = PG_GETARG_FLOAT8(first + i - 1);
	}
	return true;
}

/* s += [w·u u' (packed), z·u, last] */
static void
add_row(Acc *a, const double *u, double w, double z, double last)
{
	double	   *s = a->s;
	int			k = a->k;

	a->n++;
	for (int i = 0; i < k; i++)
	{
		double		wu = w * u[i];

		for (int j = i; j < k; j++)
			*s++ += wu * u[j];
	}
	for (int i = 0; i < k; i++)
		*s++ += z * u[i];
	*s += last;
}

PG_FUNCTION_INFO_V1(aoma_xtx_trans);
Datum
aoma_xtx_trans(PG_FUNCTION_ARGS)
{
	MemoryContext ctx = agg_context(fcinfo);
	int			k = PG_NARGS() - 1;	/* after state, y: the predictors, + 1 */
	Acc		   *a;
	double		u[MAXK];
	double		y;

	if (k > MAXK)
		elog(ERROR, "aoma_xtx: at most %d predictors", MAXK - 1);
	a = PG_ARGISNULL(0) ? acc_new(ctx, k, 0) : (Acc *) PG_GETARG_POINTER(0);
	if (PG_ARGISNULL(1) || !read_row(fcinfo, 2, k, u))
		PG_RETURN_POINTER(a);
	y = PG_GETARG_FLOAT8(1);
	add_row(a, u, 1.0, y, y * y);
	PG_RETURN_POINTER(a);
}

PG_FUNCTION_INFO_V1(aoma_logit_scan_trans);
Datum
aoma_logit_scan_trans(PG_FUNCTION_ARGS)
{
	MemoryContext ctx = agg_context(fcinfo);
	int			k = PG_NARGS() - 2;	/* after state, beta, y: the predictors, + 1 */
	Acc		   *a;
	double		u[MAXK];
	const double *beta;
	double		eta = 0,
				e,
				mu,
				y;

	if (k > MAXK)
		elog(ERROR, "aoma_logit_scan: at most %d predictors", MAXK - 1);
	if (PG_ARGISNULL(0))
	{
		ArrayType  *b;

		if (PG_ARGISNULL(1))
			elog(ERROR, "aoma_logit_scan: beta is null");
		b = PG_GETARG_ARRAYTYPE_P(1);
		if (ArrayGetNItems(ARR_NDIM(b), ARR_DIMS(b)) != k || ARR_HASNULL(b) || ARR_ELEMTYPE(b) != FLOAT8OID)
			elog(ERROR, "aoma_logit_scan: beta needs %d non-null float8 values", k);
		a = acc_new(ctx, k, k);	/* beta kept after the sums */
		memcpy(a->s + a->len, ARR_DATA_PTR(b), sizeof(double) * k);
	}
	else
		a = (Acc *) PG_GETARG_POINTER(0);
	if (PG_ARGISNULL(2) || !read_row(fcinfo, 3, k, u))
		PG_RETURN_POINTER(a);
	y = PG_GETARG_FLOAT8(2);
	beta = a->s + a->len;
	for (int i = 0; i < k; i++)
		eta += beta[i] * u[i];
	/* one exp a row: e = e^−|η|, μ from it, and ln(1 + e^−|η|) for the deviance */
	e = exp(-fabs(eta));
	mu = eta >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
	/* deviance of a 0/1 y: −2 ln μ = 2 ln(1 + e^−η), −2 ln(1 − μ) = 2 ln(1 + e^η), as
	 * 2 (ln(1 + e^−|η|) + max(0, ∓η)) without cancellation */
	add_row(a, u, mu * (1.0 - mu), y - mu, 2.0 * (log1p(e) + (y > 0.5 ? fmax(0.0, -eta) : fmax(0.0, eta))));
	PG_RETURN_POINTER(a);
}

PG_FUNCTION_INFO_V1(aoma_acc_combine);
Datum
aoma_acc_combine(PG_FUNCTION_ARGS)
{
	MemoryContext ctx = agg_context(fcinfo);
	Acc		   *a = PG_ARGISNULL(0) ? NULL : (Acc *) PG_GETARG_POINTER(0);
	Acc		   *b = PG_ARGISNULL(1) ? NULL : (Acc *) PG_GETARG_POINTER(1);
	int			i;

	if (b == NULL)
		PG_RETURN_POINTER(a);
	if (a == NULL)
	{
		/* a combined state never runs a transition again: its sums only (no beta) */
		a = acc_new(ctx, b->k, 0);
		a->n = b->n;
		memcpy(a->s, b->s, sizeof(double) * b->len);
		PG_RETURN_POINTER(a);
	}
	a->n += b->n;
	for (i = 0; i < a->len; i++)
		a->s[i] += b->s[i];
	PG_RETURN_POINTER(a);
}

PG_FUNCTION_INFO_V1(aoma_acc_serial);
Datum
aoma_acc_serial(PG_FUNCTION_ARGS)
{
	Acc		   *a = (Acc *) PG_GETARG_POINTER(0);
	StringInfoData buf;
	int			i;

	pq_begintypsend(&buf);
	pq_sendint32(&buf, a->k);
	pq_sendint32(&buf, a->len);
	pq_sendint64(&buf, a->n);
	for (i = 0; i < a->len; i++)
		pq_sendfloat8(&buf, a->s[i]);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

PG_FUNCTION_INFO_V1(aoma_acc_deserial);
Datum
aoma_acc_deserial(PG_FUNCTION_ARGS)
{
	MemoryContext ctx = agg_context(fcinfo);
	bytea	   *in = PG_GETARG_BYTEA_PP(0);
	StringInfoData buf;
	int			k,
				len,
				i;
	Acc		   *a;

	initStringInfo(&buf);
	appendBinaryStringInfo(&buf, VARDATA_ANY(in), VARSIZE_ANY_EXHDR(in));
	k = pq_getmsgint(&buf, 4);
	len = pq_getmsgint(&buf, 4);
	a = acc_new(ctx, k, 0);
	if (a->len != len)
		elog(ERROR, "aoma_xtx: serialized state of %d sums for %d columns", len, k);
	a->n = pq_getmsgint64(&buf);
	for (i = 0; i < len; i++)
		a->s[i] = pq_getmsgfloat8(&buf);
	pfree(buf.data);
	PG_RETURN_POINTER(a);
}

PG_FUNCTION_INFO_V1(aoma_acc_final);
Datum
aoma_acc_final(PG_FUNCTION_ARGS)
{
	Acc		   *a;
	Datum	   *d;
	int			i;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	a = (Acc *) PG_GETARG_POINTER(0);
	d = palloc(sizeof(Datum) * (a->len + 1));
	d[0] = Float8GetDatum((double) a->n);
	for (i = 0; i < a->len; i++)
		d[i + 1] = Float8GetDatum(a->s[i]);
	PG_RETURN_ARRAYTYPE_P(construct_array(d, a->len + 1, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}
