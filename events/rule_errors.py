"""One broken rule, as the intake reports it: a stable machine code, where, and why in two languages."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class RuleError(BaseModel):
    """A failed business rule on one field of a submission.

    `code` is UPPER_SNAKE and stable (clients branch on it; never rename one); `field` is a path into the
    submission such as `resident.nik`; the messages are for people and never hold a full NIK or KK number.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str
    field: str
    message_id: str
    message_en: str
