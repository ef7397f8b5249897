"""Talking to the broker: administration (is it answering, creating the registry's topics) and reading topics
without a consumer group.
"""
