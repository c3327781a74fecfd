#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# bench/ref_stats.py - reference implementations (numpy/scipy/sklearn/pandas) of the bench cases
#
# usage: ref_stats.py DATADIR CASE [--reps N] [--perms P] [--vigil-json FILE]
#   CASE: ks | psi | mmd_loop | mmd_batch | auroc | e2e1 | e2e16 | blas
#
# Reads the files bench/gen_data.py wrote and prints "key value" lines like bench_stats:
# "seconds" is the best (min) of N runs, then the results run.sh compares with ours.
# Run it with /usr/bin/python3 (Debian's numpy, scipy, scikit-learn, pandas) and with
# OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset; "blas" prints the BLAS threadpoolctl sees.
#
# The MMD definitions follow stats/mmd.h: features standardised by the reference's mean and
# sample sd, Gaussian kernel, sigma = sqrt(lower median of the reference's pairwise squared
# distances / 2), unbiased MMD^2, p = (1 + #{perm >= obs}) / (1 + P).
#   mmd_loop  - the alibi-detect-style permutation test, written from its description: for
#               each permutation, shuffle the pooled rows, recompute the pooled kernel
#               matrix with the same sigma and the unbiased MMD^2 from it.
#   mmd_batch - kernel matrix once; all permutations as quadratic forms a'Ka in one product.
import argparse
import json
import os
import resource
import sys
import time

import numpy as np

MMD_D = 16
MMD_SEED = 20240611
GROUPS = 8
PSI_FLOOR = 1e-4


def best_of(fn, reps):
    best, out = float("inf"), None
    for _ in range(reps):
        t = time.perf_counter()
        out = fn()
        t = time.perf_counter() - t
        best = min(best, t)
    return best, out


def put(key, value):
    if isinstance(value, float) or isinstance(value, np.floating):
        print("%s %.17g" % (key, value))
    else:
        print("%s %s" % (key, value))


def raw(d, name, dtype):
    return np.fromfile(os.path.join(d, name), dtype=dtype)


# --- PSI as stats/psi.h: decile edges of the reference, open outer bins, floor 1e-4 ---
def psi_counts(cr, cc, floor=PSI_FLOOR):
    pr = cr / cr.sum()
    pc = cc / cc.sum()
    pr = np.where(cr == 0, floor, pr)
    pc = np.where(cc == 0, floor, pc)
    return float(np.sum((pc - pr) * np.log(pc / pr)))


def psi_numpy(ref, cur):
    q = np.quantile(ref, np.arange(1, 10) / 10.0)
    edges = np.concatenate(([-np.inf], q, [np.inf]))
    cr, _ = np.histogram(ref, edges)
    cc, _ = np.histogram(cur, edges)
    return psi_counts(cr, cc), q, cr, cc


# --- MMD ---
def mmd_standardise(x, y):
    mu = x.mean(axis=0)
    sd = x.std(axis=0, ddof=1)
    use = np.isfinite(sd) & (sd > 0)
    return (x[:, use] - mu[use]) / sd[use], (y[:, use] - mu[use]) / sd[use]


def sqdist(a, b):
    """||a_i - b_j||^2 = |a_i|^2 + |b_j|^2 - 2 a_i.b_j, in one N x M buffer."""
    d2 = a @ b.T
    d2 *= -2.0
    d2 += (a * a).sum(axis=1)[:, None]
    d2 += (b * b).sum(axis=1)[None, :]
    return np.maximum(d2, 0.0, out=d2)


def gaussian_kernel(a, b, sigma):
    d2 = sqdist(a, b)
    d2 *= -1.0 / (2.0 * sigma * sigma)
    return np.exp(d2, out=d2)


def mmd_sigma(zx):
    n = zx.shape[0]
    d2 = sqdist(zx, zx)
    v = d2[np.triu_indices(n, 1)]
    k = (v.size - 1) // 2  # lower median
    return float(np.sqrt(np.partition(v, k)[k] / 2.0))


def mmd2_unbiased(k, n):
    m = k.shape[0] - n
    kxx = k[:n, :n].sum() - np.trace(k[:n, :n])
    kyy = k[n:, n:].sum() - np.trace(k[n:, n:])
    kxy = k[:n, n:].sum()
    return kxx / (n * (n - 1)) + kyy / (m * (m - 1)) - 2.0 * kxy / (n * m)


def mmd_loop(x, y, perms, seed):
    zx, zy = mmd_standardise(x, y)
    sigma = mmd_sigma(zx)
    z = np.vstack((zx, zy))
    n = zx.shape[0]
    obs = mmd2_unbiased(gaussian_kernel(z, z, sigma), n)
    rng = np.random.default_rng(seed)
    stats = np.empty(perms)
    for p in range(perms):
        zp = z[rng.permutation(z.shape[0])]
        stats[p] = mmd2_unbiased(gaussian_kernel(zp, zp, sigma), n)
    return obs, sigma, (1.0 + np.sum(stats >= obs)) / (1.0 + perms)


def mmd_batch(x, y, perms, seed):
    zx, zy = mmd_standardise(x, y)
    sigma = mmd_sigma(zx)
    z = np.vstack((zx, zy))
    n, m = zx.shape[0], zy.shape[0]
    big_n = n + m
    k = gaussian_kernel(z, z, sigma)
    np.fill_diagonal(k, 0.0)
    # column 0 is the observed split, columns 1..P the permutations: indicator of "x" rows
    rng = np.random.default_rng(seed)
    a = np.zeros((big_n, perms + 1))
    a[:n, 0] = 1.0
    for p in range(perms):
        a[rng.permutation(big_n)[:n], p + 1] = 1.0
    ka = k @ a
    r = k.sum(axis=1)
    tot = r.sum()
    s_xx = np.einsum("ij,ij->j", a, ka)
    s_x_all = a.T @ r
    s_yy = tot - 2.0 * s_x_all + s_xx
    s_xy = s_x_all - s_xx
    mmd2 = s_xx / (n * (n - 1)) + s_yy / (m * (m - 1)) - 2.0 * s_xy / (n * m)
    obs = mmd2[0]
    return obs, sigma, (1.0 + np.sum(mmd2[1:] >= obs)) / (1.0 + perms)


# --- end to end: what `vigil drift` reports for each numeric column ---
def e2e(ref_csv, cur_csv):
    import pandas as pd
    from scipy.stats import ks_2samp, wasserstein_distance

    r = pd.read_csv(ref_csv)
    c = pd.read_csv(cur_csv)
    out = {}
    for col in r.columns:
        a = r[col].to_numpy(dtype=np.float64)
        b = c[col].to_numpy(dtype=np.float64)
        a = a[~np.isnan(a)]
        b = b[~np.isnan(b)]
        ks = ks_2samp(a, b)
        out[col] = {
            "ks": float(ks.statistic),
            "ks_pvalue": float(ks.pvalue),
            "wasserstein": float(wasserstein_distance(a, b)),
            "psi": psi_numpy(a, b)[0],
        }
    return out


def _leaves(node, path=()):
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _leaves(v, path + (str(k).lower(),))
    elif isinstance(node, (int, float)) and not isinstance(node, bool):
        yield path, float(node)


def _columns(doc, names):
    """Subtrees of the vigil JSON that belong to each column (best effort, schema-free)."""
    found = {}

    def walk(node):
        if isinstance(node, dict):
            for key in ("column", "name", "feature", "variable"):
                if isinstance(node.get(key), str) and node[key] in names:
                    found.setdefault(node[key], node)
            for k, v in node.items():
                if k in names and isinstance(v, dict):
                    found.setdefault(k, v)
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(doc)
    return found


def _pick(node, stat):
    import re

    for path, v in _leaves(node):
        s = "/".join(path)
        toks = set(re.split(r"[/_.\- ]", s))
        last = path[-1] if path else ""
        if stat == "ks_pvalue":
            if (toks & {"ks", "kolmogorov", "smirnov"}) and ("p_value" in s or "pvalue" in s):
                return v
            continue
        if "pval" in s or "p_value" in s or "pvalue" in s or last == "p" or "threshold" in s \
                or "alpha" in s or "critical" in s or last.startswith("n_") or last == "n":
            continue
        if stat == "ks" and (toks & {"ks", "kolmogorov", "smirnov"}) and \
                last in {"ks", "statistic", "stat", "d", "value", "score", "ks_statistic"}:
            return v
        if stat == "psi" and "psi" in toks and last in {"psi", "value", "statistic", "score"}:
            return v
        if stat == "wasserstein" and (toks & {"wasserstein", "emd", "w1"}) and \
                last in {"wasserstein", "distance", "value", "statistic", "w1", "emd", "score",
                         "wasserstein_distance"}:
            return v
    return None


def compare_vigil(path, ref):
    """Print how vigil's JSON agrees with the reference values: compared N, mismatches."""
    try:
        with open(path) as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        put("vigil_json", "unreadable:%s" % type(e).__name__)
        return
    cols = _columns(doc, set(ref))
    compared, bad = 0, []
    for col, vals in ref.items():
        node = cols.get(col)
        if node is None:
            continue
        for stat, tol, floor in (("ks", 1e-12, 1.0), ("ks_pvalue", 1e-6, 1e-300),
                                 ("psi", 1e-9, 1.0), ("wasserstein", 1e-9, 1.0)):
            v = _pick(node, stat)
            if v is None:
                continue
            compared += 1
            r = vals[stat]
            if abs(v - r) > tol * max(floor, abs(r)):
                bad.append("%s.%s=%.10g(ref %.10g)" % (col, stat, v, r))
    put("vigil_compared", compared)
    put("vigil_mismatch", ",".join(bad) if bad else "none")


def blas_info():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "threadpoolctl-unavailable"
    info = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    return ";".join("%s-%s/%s/%s-threads" % (i.get("internal_api"), i.get("version"),
                                             i.get("architecture"), i.get("num_threads"))
                    for i in info) or "none"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("datadir")
    ap.add_argument("case")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--perms", type=int, default=100)
    ap.add_argument("--vigil-json")
    a = ap.parse_args()
    d, reps = a.datadir, a.reps

    if a.case == "blas":
        put("blas", blas_info())
        put("OPENBLAS_CORETYPE", os.environ.get("OPENBLAS_CORETYPE", "(unset)"))
        put("OPENBLAS_L2_SIZE", os.environ.get("OPENBLAS_L2_SIZE", "(unset)"))
        put("versions", "numpy-%s" % np.__version__)
        return 0

    if a.case == "ks":
        from scipy.stats import ks_2samp

        x, y = raw(d, "uni_x.f64", "<f8"), raw(d, "uni_y.f64", "<f8")
        t, r = best_of(lambda: ks_2samp(x, y), reps)
        put("seconds", t)
        put("reps", reps)
        put("ks_statistic", float(r.statistic))
        put("ks_pvalue", float(r.pvalue))
    elif a.case == "psi":
        x, y = raw(d, "psi_ref.f64", "<f8"), raw(d, "psi_cur.f64", "<f8")
        t, (psi, q, cr, cc) = best_of(lambda: psi_numpy(x, y), reps)
        put("seconds", t)
        put("reps", reps)
        put("psi", psi)
        for k, e in enumerate(q):
            put("edge_%d" % k, float(e))
        for k in range(len(cr)):
            put("count_ref_%d" % k, int(cr[k]))
            put("count_cur_%d" % k, int(cc[k]))
    elif a.case in ("mmd_loop", "mmd_batch"):
        x = raw(d, "mmd_x.f64", "<f8").reshape(-1, MMD_D)
        y = raw(d, "mmd_y.f64", "<f8").reshape(-1, MMD_D)
        fn = mmd_loop if a.case == "mmd_loop" else mmd_batch
        t, (obs, sigma, p) = best_of(lambda: fn(x, y, a.perms, MMD_SEED), reps)
        put("seconds", t)
        put("reps", reps)
        put("permutations", a.perms)
        put("mmd2", float(obs))
        put("sigma", sigma)
        put("p_value", float(p))
    elif a.case == "auroc":
        from sklearn.metrics import roc_auc_score

        score = raw(d, "auc_score.f64", "<f8")
        label = raw(d, "auc_label.u8", "u1")
        group = raw(d, "auc_group.u32", "<u4")

        def run():
            out = []
            for g in range(GROUPS):
                sel = group == g
                out.append(roc_auc_score(label[sel], score[sel]))
            return out

        t, aucs = best_of(run, reps)
        put("seconds", t)
        put("reps", reps)
        for g, v in enumerate(aucs):
            put("auc_%d" % g, float(v))
    elif a.case in ("e2e1", "e2e16"):
        t0 = time.perf_counter()
        import pandas  # noqa: F401  (imports timed apart from the work)
        import scipy.stats  # noqa: F401

        imports = time.perf_counter() - t0
        rc, cc = (os.path.join(d, "%s_%s.csv" % (a.case, s)) for s in ("ref", "cur"))
        t, vals = best_of(lambda: e2e(rc, cc), reps)
        put("seconds", t)
        put("reps", reps)
        put("import_seconds", imports)
        put("maxrss_kb", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
        put("columns", len(vals))
        first = next(iter(vals))
        for k, v in vals[first].items():
            put("%s_%s" % (first, k), v)
        if a.vigil_json:
            compare_vigil(a.vigil_json, vals)
    else:
        sys.exit("ref_stats: unknown case %r" % a.case)
    return 0


if __name__ == "__main__":
    sys.exit(main())
