"""The running worker: the faust app, its agents wired from the routing table, its metrics, and its automatic
dead-letter replay.
"""
