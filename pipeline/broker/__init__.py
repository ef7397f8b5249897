"""The project's own Kafka broker, assembled from Maven Central (see `launcher.py` and `pom.xml`)."""

from pipeline.broker.launcher import BrokerLauncher, BrokerStatus

__all__ = ["BrokerLauncher", "BrokerStatus"]
