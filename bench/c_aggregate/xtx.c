/*
 * Experiment for issue 10's speed goals — NOT part of the library (the design card puts the math in
 * SQL/PL/pgSQL, and PGlite cannot load C). It measures what a C aggregate would buy, so the decision
 * "allow an optional C aggregate on server PostgreSQL" can be taken on numbers:
 *
 *   aoma_xtx(v1, …, vk)                 one transition a row: n, Σv_i and Σv_i·v_j (i ≤ j)
 *   aoma_logit_scan(beta, y, x1, …, xk) one IRLS scan of a logistic fit at beta (intercept first):
 *                                       Σw·x_i·x_j over [1, x], the score Σ(y − μ)·x_i, the deviance
 *
 * Both return float8[]; both are PARALLEL SAFE with combine/serial/deserial functions, so
 * max_parallel_workers_per_gather splits them as it splits sum(). Plain sums, no compensation: this
 * is a speed probe (bench/c_aggregate.ts), not an implementation.
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
	int32		k;				/* columns summed (aoma_xtx: the arguments; logit: 1 + predictors) */
	int32		len;			/* doubles in s[] */
	int64		n;
	double		s[FLEXIBLE_ARRAY_MEMBER];
} Acc;

/* aoma_xtx: s = [Σv (k), Σv_i v_j (k(k+1)/2)]; logit: s = [XᵀWX (k(k+1)/2), score (k), deviance (1)] */
static Acc *
acc_new(MemoryContext ctx, int k, int len)
{
	Acc		   *a = MemoryContextAllocZero(ctx, offsetof(Acc, s) + sizeof(double) * len);

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

PG_FUNCTION_INFO_V1(aoma_xtx_trans);
Datum
aoma_xtx_trans(PG_FUNCTION_ARGS)
{
	MemoryContext ctx = agg_context(fcinfo);
	int			k = PG_NARGS() - 1;
	Acc		   *a;
	double		v[MAXK];
	double	   *s;
	int			i,
				j;

	if (k > MAXK)
		elog(ERROR, "aoma_xtx: at most %d columns", MAXK);
	a = PG_ARGISNULL(0) ? acc_new(ctx, k, k + k * (k + 1) / 2) : (Acc *) PG_GETARG_POINTER(0);
	for (i = 0; i < k; i++)
	{
		if (PG_ARGISNULL(i + 1))
			PG_RETURN_POINTER(a);	/* complete cases only */
		v[i] = PG_GETARG_FLOAT8(i + 1);
	}
	a->n++;
	s = a->s;
	for (i = 0; i < k; i++)
		s[i] += v[i];
	s += k;
	for (i = 0; i < k; i++)
		for (j = i; j < k; j++)
			*s++ += v[i] * v[j];
	PG_RETURN_POINTER(a);
}

PG_FUNCTION_INFO_V1(aoma_logit_scan_trans);
Datum
aoma_logit_scan_trans(PG_FUNCTION_ARGS)
{
	MemoryContext ctx = agg_context(fcinfo);
	int			p = PG_NARGS() - 3;	/* predictors (after state, beta, y) */
	int			k = p + 1;		/* with the intercept */
	Acc		   *a;
	double		x[MAXK];
	double		beta[MAXK];
	double		eta,
				e,
				mu,
				w,
				y,
				r;
	double	   *s;
	int			i,
				j;

	if (k > MAXK)
		elog(ERROR, "aoma_logit_scan: at most %d predictors", MAXK - 1);
	if (PG_ARGISNULL(0))
	{
		ArrayType  *b;
		int			nb;

		if (PG_ARGISNULL(1))
			elog(ERROR, "aoma_logit_scan: beta is null");
		b = PG_GETARG_ARRAYTYPE_P(1);
		nb = ArrayGetNItems(ARR_NDIM(b), ARR_DIMS(b));
		if (nb != k || ARR_HASNULL(b) || ARR_ELEMTYPE(b) != FLOAT8OID)
			elog(ERROR, "aoma_logit_scan: beta needs %d non-null float8 values", k);
		/* the state keeps beta after its sums: len = k(k+1)/2 + k + 1, beta at s[len] */
		a = acc_new(ctx, k, k * (k + 1) / 2 + k + 1 + k);
		a->len = k * (k + 1) / 2 + k + 1;
		memcpy(a->s + a->len, ARR_DATA_PTR(b), sizeof(double) * k);
	}
	else
		a = (Acc *) PG_GETARG_POINTER(0);
	if (PG_ARGISNULL(2))
		PG_RETURN_POINTER(a);
	y = PG_GETARG_FLOAT8(2);
	x[0] = 1.0;
	for (i = 1; i < k; i++)
	{
		if (PG_ARGISNULL(i + 2))
			PG_RETURN_POINTER(a);
		x[i] = PG_GETARG_FLOAT8(i + 2);
	}
	memcpy(beta, a->s + a->len, sizeof(double) * k);
	eta = 0;
	for (i = 0; i < k; i++)
		eta += beta[i] * x[i];
	/* one exp a row: e = e^−|η|, μ from it, and ln(1 + e^−|η|) for the deviance */
	e = exp(-fabs(eta));
	mu = eta >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
	w = mu * (1.0 - mu);
	r = y - mu;
	a->n++;
	s = a->s;
	for (i = 0; i < k; i++)
		for (j = i; j < k; j++)
			*s++ += w * x[i] * x[j];
	for (i = 0; i < k; i++)
		*s++ += r * x[i];
	/* binomial deviance of a 0/1 y: −2 ln μ = 2 ln(1 + e^−η), −2 ln(1 − μ) = 2 ln(1 + e^η), as
	 * 2 (ln(1 + e^−|η|) + max(0, ∓η)) without cancellation */
	*s += 2.0 * (log1p(e) + (y > 0.5 ? fmax(0.0, -eta) : fmax(0.0, eta)));
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
		a = acc_new(ctx, b->k, b->len);
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
	a = acc_new(ctx, k, len);
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
