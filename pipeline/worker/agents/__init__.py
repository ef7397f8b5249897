"""The agents: thin wiring between the topics and the processors.

Each decodes, binds log context, calls its processor, sends the results and routes every failure.
"""
