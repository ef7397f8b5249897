"""The dead-letter stream as operators and the worker see it: what waits, why, and sending it back.

`view.py` follows the dead-letter, parked and status topics; `replay.py` sends records back to
`ektp.enrollment.recorded`; `auto.py` is the worker's automatic replay once central is back.
"""
