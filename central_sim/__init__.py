"""The simulated central server of Ditjen Dukcapil (HTTP), with its own storage and fault injection."""
