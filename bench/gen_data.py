#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# bench/gen_data.py - write the benchmark inputs (fixed seed) for bench_stats and ref_stats.py
#
# usage: gen_data.py DATADIR
#
# Binary files are raw little-endian arrays with no header; the length follows from the
# file size. Matrices are row-major with D_MMD columns. Everything is regenerated only
# when DATADIR/STAMP does not hold the current VERSION (delete it to force).
#
#   uni_x.f64, uni_y.f64    KS case: 10^6 N(0, 1) and 10^6 N(0.003, 1)
#   psi_ref.f64, psi_cur.f64  PSI case: 10^6 N(0, 1) and 10^6 N(0.1, 1.1^2)
#   mmd_x.f64, mmd_y.f64    MMD case: 2000 x 16 each; y drifts a little in 3 features
#   auc_score.f64           AUROC case: 10^6 scores in (0, 1), rounded to 1e-6 (ties)
#   auc_label.u8            0/1, prevalence about 0.3
#   auc_group.u32           group 0..7
#   e2e1_ref.csv, e2e1_cur.csv    10^6 rows, one column "x", "%.6f"
#   e2e16_ref.csv, e2e16_cur.csv  10^6 rows, columns f00..f15, "%.6f"
import os
import sys
from concurrent.futures import ProcessPoolExecutor

import numpy as np

VERSION = "vigil-bench-data 1 seed=20240611"
SEED = 20240611
N = 1_000_000
N_MMD = 2000
D_MMD = 16
GROUPS = 8
E2E_COLS = 16


def write_csv(path, cols, names):
    import pandas as pd

    tmp = path + ".tmp"
    pd.DataFrame(dict(zip(names, cols))).to_csv(tmp, index=False, float_format="%.6f")
    os.replace(tmp, path)
    return path


def e2e16(rng, drift):
    """16 columns of assorted shapes; the current sample drifts in a few of them."""
    cols = []
    for j in range(E2E_COLS):
        kind = j % 4
        shift = 0.05 * (j % 3) if drift else 0.0
        if kind == 0:
            c = rng.normal(10.0 * j + shift, 1.0 + j / 8.0, N)
        elif kind == 1:
            c = rng.lognormal(0.5 + shift, 0.75, N)
        elif kind == 2:
            c = rng.uniform(0.0, 100.0 + 10.0 * shift, N)
        else:
            c = rng.gamma(2.0 + shift, 3.0, N)
        cols.append(c)
    return cols


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: gen_data.py DATADIR")
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    stamp = os.path.join(out, "STAMP")
    try:
        with open(stamp) as f:
            if f.read().strip() == VERSION:
                print("gen_data: %s is up to date (%s)" % (out, VERSION))
                return
    except OSError:
        pass
    print("gen_data: writing %s (%s) ..." % (out, VERSION), flush=True)
    rng = np.random.default_rng(SEED)

    def raw(name, a, dtype):
        np.ascontiguousarray(a, dtype=dtype).tofile(os.path.join(out, name))

    raw("uni_x.f64", rng.standard_normal(N), "<f8")
    raw("uni_y.f64", rng.standard_normal(N) + 0.003, "<f8")
    raw("psi_ref.f64", rng.standard_normal(N), "<f8")
    raw("psi_cur.f64", rng.normal(0.1, 1.1, N), "<f8")

    x = rng.standard_normal((N_MMD, D_MMD)) * np.linspace(0.5, 4.0, D_MMD) + np.arange(D_MMD)
    y = rng.standard_normal((N_MMD, D_MMD)) * np.linspace(0.5, 4.0, D_MMD) + np.arange(D_MMD)
    y[:, 0] += 0.05
    y[:, 5] *= 1.05
    y[:, 11] += 0.1
    raw("mmd_x.f64", x, "<f8")
    raw("mmd_y.f64", y, "<f8")

    group = rng.integers(0, GROUPS, N).astype(np.uint32)
    label = (rng.random(N) < 0.3).astype(np.uint8)
    signal = 0.4 + 0.2 * group  # weaker separation in low-numbered groups
    logit = signal * (2.0 * label - 1.0) + rng.standard_normal(N)
    score = np.round(1.0 / (1.0 + np.exp(-logit)), 6)
    raw("auc_score.f64", score, "<f8")
    raw("auc_label.u8", label, "u1")
    raw("auc_group.u32", group, "<u4")

    jobs = [
        (os.path.join(out, "e2e1_ref.csv"), [rng.standard_normal(N)], ["x"]),
        (os.path.join(out, "e2e1_cur.csv"), [rng.normal(0.05, 1.02, N)], ["x"]),
    ]
    names = ["f%02d" % j for j in range(E2E_COLS)]
    jobs.append((os.path.join(out, "e2e16_ref.csv"), e2e16(rng, False), names))
    jobs.append((os.path.join(out, "e2e16_cur.csv"), e2e16(rng, True), names))
    with ProcessPoolExecutor(max_workers=2) as ex:
        for p in ex.map(write_csv, *zip(*jobs)):
            print("gen_data: wrote %s" % p, flush=True)

    with open(stamp, "w") as f:
        f.write(VERSION + "\n")


if __name__ == "__main__":
    main()
