"""`ektp chaos`: proof that nothing is lost and nothing printed twice when the processes around it fail.

A run sends N synthetic submissions (about 1% malformed, 1% repeated) through a private system of its own
(`pipeline.proving.sandbox`) while it SIGKILLs the worker twice, SIGKILLs the printing station mid-print, restarts
the broker and takes central `down` and then makes it `hang`; then it reads the topics and the station's
journal and judges the invariants (`invariants.judge`). `run.run_chaos` runs it; `faults` does the faults.
"""

from pipeline.proving.chaos.run import ChaosPlan, ChaosResult, run_chaos

__all__ = ["ChaosPlan", "ChaosResult", "run_chaos"]
