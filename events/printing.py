"""Printing: jobs for the printing stations, cards printed, and each station's blank-card stock."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from events.approval import CentralDecision
from events.common import CitizenKey, Digest, Event, utc_now
from events.enrollment import Address, BloodType, MaritalStatus, Religion, RequestType, Sex


class CardData(BaseModel):
    """What is printed on the card and encoded in its chip (docs/architecture.md, "Card fields")."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    nik: str
    full_name: str
    birth_place: str
    birth_date: dt.date
    sex: Sex
    blood_type: BloodType
    address: Address
    religion: Religion
    marital_status: MaritalStatus
    occupation: str
    citizenship: str
    valid_until: str = "SEUMUR HIDUP"
    issued_in: str = Field(description="City of issue, printed beside the signature")
    face: Digest
    signature: Digest


class PrintRequested(Event):
    """A print job (`ektp.print.requested`), for any vendor's printing station.

    `approval_token` is central's JWS: a station verifies it and refuses the job when it does not verify.
    Lower `priority` prints first: first-time cards (0) before replacements (1) when blanks are short.
    """

    producer: str = "ektp-pipeline/print-dispatch"
    job_id: str
    citizen_key: CitizenKey
    office_code: str
    station_id: str | None = Field(None, description="The station meant to print it; None: any of the office")
    request_type: RequestType
    priority: int = Field(ge=0)
    decision: Literal[CentralDecision.PRINT_READY_RECORD] = CentralDecision.PRINT_READY_RECORD
    approval_token: str
    card: CardData


class CardPrinted(Event):
    """A card came out of a printer (`ektp.print.completed`, keyed by citizen key)."""

    producer: str = "ektp-pipeline/station"
    citizen_key: CitizenKey
    job_id: str
    card_serial: str
    blank_serial: str
    station_id: str
    printed_at: AwareDatetime


class StationInventory(BaseModel):
    """A station's blank-card stock (`ektp.station.inventory`, compacted, keyed by station id)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    schema_version: int = 1
    event_id: uuid.UUID = Field(default_factory=uuid.uuid4, description="Unique id of this stock event")
    station_id: str
    blank_stock: int = Field(ge=0, description="Blanks in the station after this event")
    change: int = Field(
        description="What moved the stock: +N restock, -N print (the blanks a batch of cards took), -1 misprint"
    )
    reason: Literal["restock", "print", "misprint", "count"] = Field(
        description="restock: `ektp station restock` (the station applies `change`); the rest: the station's own"
    )
    updated_at: AwareDatetime = Field(default_factory=utc_now)
    producer: str = "ektp-pipeline/station"
