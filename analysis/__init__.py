"""Fits, figures and the report of a seqmem study, from stored result tables only.

    python -m analysis                      # results/study.csv -> analysis/
    python -m analysis --results PATH --out DIR

`predict(sequence, units, **options)` answers from the saved fit (analysis/fit.json).
"""

import os

# Before numpy loads its BLAS: the fits' optimizers sum in another order with several BLAS
# threads, and the divergence fits then land elsewhere, so the committed outputs are made
# (and reproduce byte for byte) single-threaded. An explicit setting is kept.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from analysis.predict import predict  # noqa: E402

__all__ = ["predict"]
