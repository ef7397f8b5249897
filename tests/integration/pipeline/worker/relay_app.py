"""A faust worker, built by the project's app factory, that relays one topic into another.

Run as `python -m tests.integration.pipeline.worker.relay_app SOURCE TARGET worker`; the settings come from EKTP_.
It connects as the admin: its topics and its app id are the test's own, which the worker's role may not use.
"""

from __future__ import annotations

import sys

from pipeline.config import Settings
from pipeline.kafka.security import ADMIN_ROLE
from pipeline.worker.app import create_app
from pipeline.worker.run import run_worker


def main() -> None:
    source_name, target_name = sys.argv[1], sys.argv[2]
    del sys.argv[1:3]  # what remains is faust's own command line: `worker`
    settings = Settings()
    app = create_app(settings, app_id=f"relay-{source_name}", role=ADMIN_ROLE)
    source = app.topic(source_name, value_serializer="raw", key_serializer="raw")
    target = app.topic(target_name, value_serializer="raw", key_serializer="raw")

    @app.agent(source)
    async def relay(stream):  # type: ignore[no-untyped-def]
        async for event in stream.events():
            await target.send(key=event.key, value=event.value + b" relayed", headers=event.headers)

    run_worker(app, settings)


if __name__ == "__main__":
    main()
