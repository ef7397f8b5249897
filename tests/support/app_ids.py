"""A worker with an app id of a test's own on the session's broker: a consumer group and tables of its own.

The broker lets the worker's role use one app id's consumer group and `<app id>-` topics: the app id it syncs
its ACLs for (`pipeline.broker.authorization.sync_acls`), the session's. A test whose worker runs under an app id
of its own syncs the broker's ACLs to that app id, as `ektp broker start` does for an office configured with it,
and back to the session's when it is done, so the roles' entries are again exactly the derived set
(`tests/integration/pipeline/broker/test_authorization.py`). Tests run one at a time: no other worker is
refused meanwhile.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator

from pipeline.broker.authorization import enforced_acls, sync_acls
from pipeline.config import Settings
from pipeline.topology.acls import acls
from tests.support.waiting import wait_until_async


def app_id_of_its_own(settings: Settings, prefix: str) -> Settings:
    """`settings` with a fresh app id starting with `prefix`: a consumer group and table topics no one used."""
    return settings.model_copy(update={"app_id": f"{prefix}-{uuid.uuid4().hex[:8]}"})


async def authorize_app_id(settings: Settings, *, timeout: float = 30.0) -> None:
    """Make the broker's ACLs those of `settings.app_id`, and wait until it enforces them: its workers may then
    join its group and make its tables."""
    await sync_acls(settings)
    wanted = set(acls(settings.app_id))

    async def enforced() -> bool:
        return wanted <= set(await enforced_acls(settings))

    await wait_until_async(enforced, timeout=timeout, what=f"the broker enforces the ACLs of {settings.app_id}")


@contextlib.asynccontextmanager
async def own_app_id(session: Settings, prefix: str) -> AsyncIterator[Settings]:
    """Settings with an app id of their own (`app_id_of_its_own`), authorized while the block runs; afterwards the
    broker's ACLs are the session's again."""
    settings = app_id_of_its_own(session, prefix)
    await authorize_app_id(settings)
    try:
        yield settings
    finally:
        await authorize_app_id(session)
