import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
os.environ.setdefault("MPLBACKEND", "Agg")
# RTRL multiplies many small matrices: a multi-threaded BLAS spin-waits on them.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
