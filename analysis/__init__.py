"""Fits, figures and the report of a seqmem study, from stored result tables only.

    python -m analysis                      # results/study.csv -> analysis/
    python -m analysis --results PATH --out DIR

`predict(sequence, units, **options)` answers from the saved fit (analysis/fit.json).
"""

from analysis.predict import predict

__all__ = ["predict"]
