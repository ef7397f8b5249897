"""The tools that prove the pipeline works: a private system on free ports, synthetic residents, the demo and its
report, the benchmark and the chaos suite. The running system imports nothing from here.
"""
