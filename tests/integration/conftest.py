"""Integration tests run against the real broker of the session (`kafka` fixture)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

import pytest
from aiokafka.admin import NewTopic

from pipeline.config import Settings
from pipeline.kafka.admin import admin_client

pytestmark = pytest.mark.integration

TopicFactory = Callable[..., Awaitable[str]]


@pytest.fixture
def topic_factory(kafka: Settings) -> TopicFactory:
    """Creates a fresh topic with a unique name, so that no two tests share data; as the admin, since no
    program's role may create a topic outside the registry, nor read or write one (use `ADMIN_ROLE` on it)."""

    async def create(prefix: str = "test", partitions: int = 3) -> str:
        name = f"{prefix}.{uuid.uuid4().hex[:10]}"
        async with admin_client(kafka) as client:
            await client.create_topics([NewTopic(name, partitions, 1)])
        return name

    return create
