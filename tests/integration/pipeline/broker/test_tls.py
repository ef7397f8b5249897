"""The broker with TLS on every listener, as it runs off the loopback: the worker and a desk work over SASL_SSL.

It also checks that no password reaches a log.

`EKTP_KAFKA_TLS=true` turns on for the loopback what any other address gets by default, so the tested
configuration is the deployed one: a private CA from `ektp broker certs`, clients that trust only it and
check the broker's name, SCRAM inside the TLS session.
"""

from __future__ import annotations

import random
import ssl
from collections.abc import Callable

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError

from events.status import RequestState
from pipeline.broker.certs import ensure_certificates
from pipeline.config import Settings
from pipeline.kafka.security import ADMIN_ROLE, all_roles, client_options, credential, security_protocol
from pipeline.proving.sandbox import Sandbox
from pipeline.topology.topics import REQUEST_STATUS
from tests.support.submissions import fresh_resident, submit
from tests.support.topics import Records, latest_statuses, read_until

pytestmark = pytest.mark.integration


def recorded(request_id: str) -> Callable[[Records], bool]:
    def done(records: Records) -> bool:
        status = latest_statuses(records).get(request_id)
        return status is not None and status.state not in (RequestState.SUBMITTED, RequestState.REJECTED)

    return done


async def refused(options: dict[str, object]) -> None:
    producer = AIOKafkaProducer(**options, request_timeout_ms=5_000)
    try:
        with pytest.raises((KafkaConnectionError, ssl.SSLError)):
            await producer.start()
    finally:
        await producer.stop()


async def test_over_tls_a_submission_is_recorded_and_a_client_without_tls_or_the_ca_is_refused(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    async with Sandbox(only=("central-sim", "worker"), kafka_tls=True, broker_heap="384m",
                       topic_partitions=3) as settings:
        assert security_protocol(settings) == "SASL_SSL"
        document = fresh_resident(random.Random(1717))
        await submit(settings, document)
        statuses = latest_statuses(
            await read_until(settings, REQUEST_STATUS.name, recorded(document["request_id"]), timeout=90)
        )
        assert statuses[document["request_id"]].state != RequestState.REJECTED

        options = client_options(settings, ADMIN_ROLE)
        # SCRAM without TLS on a TLS listener: the handshake never completes.
        await refused({**options, "security_protocol": "SASL_PLAINTEXT"} | {"ssl_context": None})
        # TLS that trusts another CA: the broker's certificate is not accepted.
        stranger: Settings = settings.model_copy(update={"tls_dir": tmp_path_factory.mktemp("other-ca")})
        ensure_certificates(stranger)
        await refused({**options, "ssl_context": client_options(stranger, ADMIN_ROLE)["ssl_context"]})

        # No password is in any file of the run but its own credential file and the broker's 0600 properties.
        passwords = {role: credential(settings, role).password for role in all_roles()}
        for path in settings.run_dir.rglob("*"):
            if path.is_file() and path.parent != settings.credentials_path and path.name != "server.properties":
                text = path.read_bytes()
                assert not [role for role, password in passwords.items() if password.encode() in text], path
