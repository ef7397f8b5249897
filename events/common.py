"""What every event of the pipeline shares: the envelope, digests, time stamps."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

# A SHA-256 digest of a biometric template (or any opaque blob): 64 lowercase hex. Never the template.
Digest = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
# The idempotency key of one request. A UUID in practice; any short, printable, URL-safe token is taken.
RequestId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")]
# HMAC-SHA256 of the NIK, hex: the key of every citizen-keyed topic (see events/identity.py).
CitizenKey = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
# The office's time: Indonesia's western time zone (WIB, UTC+7) covers Tanjungpinang. "Today" for the age
# rules, the date of issue on a card and the times people read are WIB.
WIB = dt.timezone(dt.timedelta(hours=7), "WIB")


def utc_now() -> dt.datetime:
    """Now, time-zone aware."""
    return dt.datetime.now(dt.UTC)


class Event(BaseModel):
    """The envelope of every event the pipeline writes.

    Readers are tolerant (unknown fields are ignored) so that a newer producer does not break an older
    consumer; `schema_version` says which shape was written. Never rename a published field.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    schema_version: int = 1
    event_id: uuid.UUID = Field(default_factory=uuid.uuid4, description="Unique id of this event")
    request_id: RequestId = Field(description="The request this event belongs to (the idempotency key)")
    occurred_at: AwareDatetime = Field(default_factory=utc_now, description="When it happened")
    producer: str = Field(description="Who wrote it, e.g. `ektp-pipeline/intake`")
