"""The dead-letter stream as operators see it: what waits, why, and sending it back.

`view.py` follows the dead-letter, parked and status topics; `replay.py` sends records back to
`ektp.enrollment.recorded`. The worker's automatic replay (`pipeline/worker/auto_replay.py`) uses both.
"""
