"""Recording desks: what each desk reports of its outbox, for the operators' dashboard."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from events.common import utc_now


class DeskOutboxReported(BaseModel):
    """A recording desk's outbox (`ektp.desk.outbox`, compacted, keyed by desk id): what waits to be sent.

    A desk reports whenever it can reach the broker; the last report of each desk stays on the topic, so a
    report's `reported_at` says how current it is.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    schema_version: int = 1
    desk_id: str = Field(min_length=1, max_length=64)
    pending: int = Field(ge=0, description="Submissions saved at the desk and not yet acknowledged by the broker")
    oldest_pending_at: AwareDatetime | None = Field(
        None, description="When the oldest of them was saved; null when none waits"
    )
    sent: int = Field(ge=0, description="Submissions the broker acknowledged since the desk's outbox was made")
    reported_at: AwareDatetime = Field(default_factory=utc_now)
    producer: str = "ektp-pipeline/desk"
