/* SPDX-License-Identifier: MIT
 * stats/calib.c - Brier score, expected calibration error and logistic recalibration
 *
 * Discrimination (AUROC) says whether positives score higher than negatives; these say
 * whether a score of 0.8 means an 80% risk. Brier (1950) mixes both; ECE (Naeini, Cooper
 * & Hauskrecht 2015) is the binned gap between predicted and observed risk; Cox's (1958)
 * logistic recalibration fits logit P(y = 1) = a + b logit(p), where a = 0, b = 1 is a
 * perfectly calibrated model, b < 1 overfitting (too extreme scores), a != 0 a shift in
 * the base rate (calibration-in-the-large), the usual drift after deployment.
 *
 * All three take probabilities p in [0, 1] and labels y in {0, 1}; anything else (NaN
 * included) is -EINVAL.
 */
#include "stats/calib.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

#define RECAL_CLIP 1e-12
#define RECAL_MAX_ITER 100
#define RECAL_MAX_HALVINGS 60
#define RECAL_TOL 1e-10

static int check_input(const double *p, const uint8_t *y, size_t n)
{
	size_t i;

	if (!p || !y || n == 0)
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (!(p[i] >= 0.0 && p[i] <= 1.0) || y[i] > 1)
			return -EINVAL;
	return 0;
}

int stats_brier(const double *p, const uint8_t *y, size_t n, double *out)
{
	double s = 0.0;
	size_t i;
	int ret;

	if (!out)
		return -EINVAL;
	ret = check_input(p, y, n);
	if (ret)
		return ret;
	for (i = 0; i < n; i++) {
		double d = p[i] - (double)y[i];

		s += d * d;
	}
	*out = s / (double)n;
	return 0;
}

/* Bin b holds p in [b/bins, (b+1)/bins), the last bin also p = 1: index
 * min(floor(p * bins), bins - 1), computed exactly so (one rounded product, then floor),
 * as numpy's np.minimum(np.floor(p * bins), bins - 1) does. Empty bins add nothing. */
int stats_ece(const double *p, const uint8_t *y, size_t n, size_t bins, double *out)
{
	double *cnt = NULL, *sy, *sp, e = 0.0;
	size_t i, b;
	int ret;

	if (!out || bins == 0)
		return -EINVAL;
	ret = check_input(p, y, n);
	if (ret)
		return ret;
	cnt = calloc(bins, 3 * sizeof(*cnt));
	if (!cnt)
		return -ENOMEM;
	sy = cnt + bins;
	sp = sy + bins;
	for (i = 0; i < n; i++) {
		double f = floor(p[i] * (double)bins);

		b = f >= (double)(bins - 1) ? bins - 1 : (size_t)f;
		cnt[b] += 1.0;
		sy[b] += (double)y[i];
		sp[b] += p[i];
	}
	/* (n_b / n) |sy_b / n_b - sp_b / n_b| = |sy_b - sp_b| / n */
	for (b = 0; b < bins; b++)
		e += fabs(sy[b] - sp[b]);
	*out = e / (double)n;
	free(cnt);
	return 0;
}

/* Log-likelihood, gradient and (negated) Hessian of the logistic model at (a, b) over
 * x = logit(p). mu and 1 - mu are both taken from e = exp(-|eta|) so that neither loses
 * digits to 1 - mu when mu is close to 1. */
struct loglik {
	double ll, g0, g1, h00, h01, h11;
};

static void loglik_eval(const double *x, const uint8_t *y, size_t n, double a, double b,
			struct loglik *r)
{
	size_t i;

	*r = (struct loglik){0};
	for (i = 0; i < n; i++) {
		double eta = a + b * x[i];
		double e = exp(-fabs(eta)), inv = 1.0 / (1.0 + e);
		double mu = eta >= 0.0 ? inv : e * inv, nmu = eta >= 0.0 ? e * inv : inv;
		double w = mu * nmu, res = y[i] ? nmu : -mu;
		/* log P(y | eta) = -softplus(-eta) for y = 1, -softplus(eta) for y = 0 */
		double s = y[i] ? -eta : eta;

		r->ll -= (s > 0.0 ? s : 0.0) + log1p(e);
		r->g0 += res;
		r->g1 += res * x[i];
		r->h00 += w;
		r->h01 += w * x[i];
		r->h11 += w * x[i] * x[i];
	}
}

/* Newton-Raphson (for the canonical logit link the same iterations as IRLS) from the
 * identity calibration a = 0, b = 1, halving a step until the log-likelihood does not
 * decrease. The MLE exists exactly when the classes overlap in x (Albert & Anderson 1984);
 * with one covariate, (quasi-)complete separation is max x|y=0 <= min x|y=1 or
 * max x|y=1 <= min x|y=0, which also covers a constant x. That is checked first, so the
 * iteration only fails to converge on numerically degenerate data. */
int stats_logistic_recalibration(const double *p, const uint8_t *y, size_t n, double *intercept,
				 double *slope)
{
	double *x = NULL, min0 = INFINITY, max0 = -INFINITY, min1 = INFINITY, max1 = -INFINITY;
	double a = 0.0, b = 1.0;
	struct loglik cur, trial;
	size_t i, n1 = 0;
	int ret, it;

	if (!intercept || !slope)
		return -EINVAL;
	ret = check_input(p, y, n);
	if (ret)
		return ret;
	x = malloc(n * sizeof(*x));
	if (!x)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		double q = fmin(fmax(p[i], RECAL_CLIP), 1.0 - RECAL_CLIP);

		x[i] = log(q / (1.0 - q));
		if (y[i]) {
			n1++;
			min1 = fmin(min1, x[i]);
			max1 = fmax(max1, x[i]);
		} else {
			min0 = fmin(min0, x[i]);
			max0 = fmax(max0, x[i]);
		}
	}
	ret = -EDOM; /* until converged */
	if (n1 == 0 || n1 == n || max0 <= min1 || max1 <= min0)
		goto out;
	loglik_eval(x, y, n, a, b, &cur);
	for (it = 0; it < RECAL_MAX_ITER; it++) {
		double det = cur.h00 * cur.h11 - cur.h01 * cur.h01;
		double da, db, t = 1.0, slack = 64.0 * DBL_EPSILON * (1.0 + fabs(cur.ll));
		int h, done;

		if (!(det > 0.0) || !isfinite(det))
			goto out;
		da = (cur.h11 * cur.g0 - cur.h01 * cur.g1) / det;
		db = (cur.h00 * cur.g1 - cur.h01 * cur.g0) / det;
		done = fabs(da) <= RECAL_TOL * (1.0 + fabs(a)) &&
		       fabs(db) <= RECAL_TOL * (1.0 + fabs(b));
		/* near the optimum the change in ll is below its rounding error: allow that much */
		for (h = 0; h < RECAL_MAX_HALVINGS; h++, t *= 0.5) {
			loglik_eval(x, y, n, a + t * da, b + t * db, &trial);
			if (trial.ll >= cur.ll - slack)
				break;
		}
		if (h == RECAL_MAX_HALVINGS)
			goto out;
		a += t * da;
		b += t * db;
		cur = trial;
		/* a step this small came after quadratic convergence set in: the one just taken
		 * leaves an error far below RECAL_TOL */
		if (done && h == 0) {
			*intercept = a;
			*slope = b;
			ret = 0;
			goto out;
		}
	}
out:
	free(x);
	return ret;
}
