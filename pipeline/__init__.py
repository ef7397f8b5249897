"""The running system: faust app, topic registry, agents, config, logging, CLI, broker launcher."""
