"""Measurements of the pipeline on this machine (`ektp bench`): numbers to read, never test assertions.

| module | measures |
| --- | --- |
| `run.py` | the whole run of `ektp bench`: a private system, then the five below, saved with the machine |
| `endtoend.py` | submitted → COLLECTED through the real worker and station: throughput, per-step latency |
| `relay.py` | the baseline: the same payloads relayed by plain aiokafka through as many topic hops |
| `faust_relay.py` | the framework's ceiling: the same hops as faust agents that only forward, in one worker |
| `dlq.py` | how fast a dead-letter backlog drains once central is back (`ektp bench dlq`) |
| `security.py` | what SCRAM and TLS cost the baseline relay beside plaintext, on a comparison broker of its own |
| `central.py` | decisions per second the central client gets from central-sim (`ektp bench central`) |
| `latency.py`, `machine.py` | percentiles from status timelines; the machine, and what a file costs its disk |
"""
