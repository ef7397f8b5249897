"""What flows where: the topic registry, the routing table of who reads and writes each topic, and the contracts
other vendors build against, generated from both.
"""
