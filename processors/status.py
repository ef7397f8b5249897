"""The status tracker's rules: where a request is, and what the citizen must do next.

Every step's event becomes a `StatusUpdate`; `advance_status` folds updates into the `RequestStatus` kept
in `ektp.request.status`. Delivery is at-least-once and the tracker reads several topics, so updates come
late, twice, and out of order: the fold is monotonic (a request never moves backwards) and idempotent.

The order of states (`STATE_RANK`), lowest first; states of equal rank are alternatives, never successors:

    0  SUBMITTED
    1  RECORDED | REJECTED          the intake decides one or the other
    2  SENT_FOR_ENROLLMENT
    3  AWAITING_CENTRAL             in the dead-letter stream; a replay moves it on to a decision
    4  PARKED                       failed replay too often; a manual replay moves it on to a decision
    5  PRINT_READY_RECORD | DUPLICATE_RECORD | ADJUDICATE_RECORD | ENROLL_FAILURE_AT_CENTRAL
    6  PRINT_QUEUED
    7  WAITING_FOR_BLANKS           out of blanks; the job resumes on restock, no state of its own
    8  PRINTED
    9  READY_FOR_PICKUP             a refused pickup stays here, with a note in the timeline
    10 COLLECTED

An update is taken only when its state ranks above the current one, so a replayed record that emits
SENT_FOR_ENROLLMENT again leaves an AWAITING_CENTRAL request where it is until central decides, and a
late PRINT_QUEUED never undoes WAITING_FOR_BLANKS. A later step may skip states the tracker has not seen
yet (PRINTED before PRINT_QUEUED): events of different topics are not ordered against each other.

Terminal states (`TERMINAL_STATES`) are those no automatic step moves on. All but PARKED are also final
(`FINAL_STATES`): they accept nothing more. PARKED means "needs a person", yet the person's remedy is a
manual replay, whose decision must still be shown; so PARKED accepts any update ranked above it (a
decision, or a later step, which only a PRINT_READY_RECORD can have caused), and notes of its own state.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from types import MappingProxyType

from events.approval import ApprovalDecided
from events.enrollment import EnrollmentRecorded, EnrollmentRejected
from events.masking import mask_nik
from events.pickup import CardCollected, CardReadyForPickup
from events.printing import CardPrinted, PrintRequested
from events.status import RequestState, RequestStatus, StatusNoted, TimelineEntry

S = RequestState

STATE_RANK: Mapping[RequestState, int] = MappingProxyType(
    {
        S.SUBMITTED: 0,
        S.RECORDED: 1,
        S.REJECTED: 1,
        S.SENT_FOR_ENROLLMENT: 2,
        S.AWAITING_CENTRAL: 3,
        S.PARKED: 4,
        S.PRINT_READY_RECORD: 5,
        S.DUPLICATE_RECORD: 5,
        S.ADJUDICATE_RECORD: 5,
        S.ENROLL_FAILURE_AT_CENTRAL: 5,
        S.PRINT_QUEUED: 6,
        S.WAITING_FOR_BLANKS: 7,
        S.PRINTED: 8,
        S.READY_FOR_PICKUP: 9,
        S.COLLECTED: 10,
    }
)

TERMINAL_STATES: frozenset[RequestState] = frozenset(
    {
        S.REJECTED,
        S.DUPLICATE_RECORD,
        S.ADJUDICATE_RECORD,
        S.ENROLL_FAILURE_AT_CENTRAL,
        S.PARKED,
        S.COLLECTED,
    }
)
# Terminal and accepting nothing more: every terminal state except PARKED (see the module docstring).
FINAL_STATES: frozenset[RequestState] = TERMINAL_STATES - {S.PARKED}

# Bounds that keep one status value small whatever happens to the request (e.g. many refused pickups).
TIMELINE_LIMIT = 50
NOTE_LIMIT = 200

_EXPLANATIONS: Mapping[RequestState, tuple[str, str]] = MappingProxyType(
    {
        S.SUBMITTED: (
            "Data perekaman KTP-el Anda sudah kami terima dan sedang diperiksa. "
            "Saat ini Anda tidak perlu melakukan apa pun.",
            "We have received your KTP-el recording data and are checking it. There is nothing you need to do for now.",
        ),
        S.REJECTED: (
            "Data perekaman KTP-el Anda belum dapat diproses karena ada data yang perlu diperbaiki "
            "(lihat daftar perbaikan). Silakan datang kembali ke kantor Disdukcapil dengan membawa "
            "Kartu Keluarga (KK) untuk perbaikan data dan perekaman ulang.",
            "Your KTP-el recording could not be processed because some data must be corrected "
            "(see the list of corrections). Please come back to the Disdukcapil office with your "
            "Family Card (KK) to correct the data and record again.",
        ),
        S.RECORDED: (
            "Perekaman KTP-el Anda berhasil dan data Anda tersimpan aman di kantor Disdukcapil. "
            "Data akan dikirim ke pusat untuk diverifikasi; Anda tidak perlu melakukan apa pun.",
            "Your KTP-el recording succeeded and your data is stored safely at the Disdukcapil office. "
            "It will be sent to the central server for verification; there is nothing you need to do.",
        ),
        S.SENT_FOR_ENROLLMENT: (
            "Data KTP-el Anda telah dikirim ke pusat (Ditjen Dukcapil) dan sedang diverifikasi. "
            "Anda tidak perlu melakukan apa pun; mohon menunggu.",
            "Your KTP-el data has been sent to the central server (Ditjen Dukcapil) and is being "
            "verified. There is nothing you need to do; please wait.",
        ),
        S.AWAITING_CENTRAL: (
            "Data KTP-el Anda tersimpan aman di kantor Disdukcapil dan akan dikirim ke pusat segera "
            "setelah jaringan pulih. Anda tidak perlu melakukan perekaman ulang.",
            "Your KTP-el data is stored safely at the Disdukcapil office and will be sent to the "
            "central server as soon as the connection is restored. You do not need to record again.",
        ),
        S.PARKED: (
            "Data KTP-el Anda tersimpan aman, tetapi pengirimannya ke pusat memerlukan penanganan "
            "petugas. Petugas kami akan menindaklanjutinya; Anda tidak perlu melakukan perekaman ulang. "
            "Bila perlu, Anda dapat menanyakannya di kantor Disdukcapil.",
            "Your KTP-el data is stored safely, but sending it to the central server needs our "
            "staff's attention. They will follow it up; you do not need to record again. "
            "If needed, you may ask about it at the Disdukcapil office.",
        ),
        S.PRINT_READY_RECORD: (
            "Data KTP-el Anda telah diverifikasi oleh pusat dan siap dicetak. Anda tidak perlu "
            "melakukan apa pun; kami akan memberi tahu Anda apabila KTP-el sudah dapat diambil.",
            "The central server has verified your KTP-el data and your card is ready to be printed. "
            "There is nothing you need to do; we will let you know when it can be collected.",
        ),
        S.DUPLICATE_RECORD: (
            "Data Anda terdeteksi terekam lebih dari satu kali dengan NIK yang berbeda, sehingga "
            "KTP-el Anda belum dapat dicetak. Silakan datang ke kantor Disdukcapil dengan membawa "
            "Kartu Keluarga (KK) untuk klarifikasi data.",
            "Your data was found recorded more than once under different NIKs, so your KTP-el cannot "
            "be printed yet. Please come to the Disdukcapil office with your Family Card (KK) to "
            "clarify your data.",
        ),
        S.ADJUDICATE_RECORD: (
            "Sidik jari Anda mirip dengan data penduduk lain sehingga perlu diperiksa lebih lanjut "
            "oleh pusat sebelum KTP-el Anda dapat dicetak. Mohon menunggu; petugas dapat meminta Anda "
            "datang untuk perekaman ulang.",
            "Your fingerprints resemble another resident's record, so the central office must review "
            "them before your KTP-el can be printed. Please wait; our staff may ask you to come and "
            "record again.",
        ),
        S.ENROLL_FAILURE_AT_CENTRAL: (
            "Data biometrik Anda (sidik jari, iris mata, atau foto wajah) tidak lengkap atau tidak "
            "terbaca di pusat, sehingga KTP-el Anda belum dapat dicetak. Silakan datang kembali ke "
            "kantor Disdukcapil untuk perekaman ulang.",
            "Your biometric data (fingerprints, irises or face photo) was incomplete or unreadable at "
            "the central server, so your KTP-el cannot be printed yet. Please come back to the "
            "Disdukcapil office to record again.",
        ),
        S.PRINT_QUEUED: (
            "KTP-el Anda sedang dalam antrean cetak. Anda tidak perlu melakukan apa pun; kami akan "
            "memberi tahu Anda apabila KTP-el sudah dapat diambil.",
            "Your KTP-el is in the print queue. There is nothing you need to do; we will let you "
            "know when it can be collected.",
        ),
        S.WAITING_FOR_BLANKS: (
            "KTP-el Anda siap dicetak, tetapi persediaan blangko sedang habis. KTP-el Anda akan "
            "dicetak segera setelah blangko tersedia; Anda tidak perlu melakukan perekaman ulang.",
            "Your KTP-el is ready to be printed, but blank cards have run out. It will be printed as "
            "soon as blanks arrive; you do not need to record again.",
        ),
        S.PRINTED: (
            "KTP-el Anda sudah dicetak dan sedang disiapkan untuk diserahkan. Mohon menunggu "
            "pemberitahuan bahwa KTP-el Anda sudah dapat diambil.",
            "Your KTP-el has been printed and is being prepared for handover. Please wait for the "
            "notice that it can be collected.",
        ),
        S.READY_FOR_PICKUP: (
            "KTP-el Anda sudah dapat diambil di kantor Disdukcapil. Silakan datang sendiri, karena "
            "sidik jari Anda akan dicocokkan sebelum KTP-el diserahkan.",
            "Your KTP-el is ready for collection at the Disdukcapil office. Please come in person: "
            "your fingerprint is checked before the card is handed over.",
        ),
        S.COLLECTED: (
            "KTP-el Anda telah diserahkan kepada Anda. Terima kasih; tidak ada lagi yang perlu Anda lakukan.",
            "Your KTP-el has been handed over to you. Thank you; there is nothing more you need to do.",
        ),
    }
)


def explain(state: RequestState) -> tuple[str, str]:
    """Where the card is and what the citizen must do next: (Indonesian, English)."""
    return _EXPLANATIONS[state]


def is_terminal(state: RequestState) -> bool:
    """True when no automatic step moves the request on (PARKED included: it needs a person)."""
    return state in TERMINAL_STATES


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class StatusUpdate:
    """One fact about a request, from any step: the state it reached, when, and what came with it.

    `event_id` identifies the fact, so that a redelivered one is recognised; steps that write no event of
    their own (dead-lettering, parking, a print job waiting for blanks) pass any id stable for that fact.
    """

    request_id: str
    state: RequestState
    at: dt.datetime
    event_id: str
    office_code: str | None = None
    citizen_key: str | None = None
    nik_masked: str | None = None
    note: str | None = None
    error_codes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            msg = f"a status update needs a time-zone aware time, got {self.at.isoformat()}"
            raise ValueError(msg)


def update_from_recorded(event: EnrollmentRecorded) -> StatusUpdate:
    """The intake accepted the submission: RECORDED."""
    return StatusUpdate(
        request_id=event.request_id,
        state=S.RECORDED,
        at=event.occurred_at,
        event_id=str(event.event_id),
        office_code=event.office_code,
        citizen_key=event.citizen_key,
        nik_masked=event.nik_masked,
    )


def update_from_rejected(event: EnrollmentRejected) -> StatusUpdate | None:
    """The intake refused the submission: REJECTED with its error codes; None when no request_id was read."""
    if not event.request_id_known:
        return None
    return StatusUpdate(
        request_id=event.request_id,
        state=S.REJECTED,
        at=event.occurred_at,
        event_id=str(event.event_id),
        office_code=event.office_code,
        nik_masked=event.nik_masked,
        error_codes=tuple(dict.fromkeys(error.code for error in event.errors)),
    )


def update_from_sent(record: EnrollmentRecorded, at: dt.datetime) -> StatusUpdate:
    """The record went to central: SENT_FOR_ENROLLMENT."""
    return StatusUpdate(
        request_id=record.request_id,
        state=S.SENT_FOR_ENROLLMENT,
        at=at,
        event_id=f"{record.event_id}:sent",
        office_code=record.office_code,
        citizen_key=record.citizen_key,
        nik_masked=record.nik_masked,
    )


def update_from_decided(event: ApprovalDecided) -> StatusUpdate:
    """Central decided: the state is the decision, central's reason the note."""
    return StatusUpdate(
        request_id=event.request_id,
        state=RequestState(event.decision.value),
        at=event.occurred_at,
        event_id=str(event.event_id),
        office_code=event.record.office_code,
        citizen_key=event.citizen_key,
        nik_masked=event.record.nik_masked,
        note=event.reason or None,
    )


def update_from_print_requested(event: PrintRequested) -> StatusUpdate:
    """A print job was sent to the stations: PRINT_QUEUED."""
    return StatusUpdate(
        request_id=event.request_id,
        state=S.PRINT_QUEUED,
        at=event.occurred_at,
        event_id=str(event.event_id),
        office_code=event.office_code,
        citizen_key=event.citizen_key,
    )


def update_from_card_printed(event: CardPrinted) -> StatusUpdate:
    """A station printed the card: PRINTED."""
    return StatusUpdate(
        request_id=event.request_id,
        state=S.PRINTED,
        at=event.occurred_at,
        event_id=str(event.event_id),
        citizen_key=event.citizen_key,
    )


def update_from_ready(event: CardReadyForPickup) -> StatusUpdate:
    """The card waits at the office: READY_FOR_PICKUP."""
    return StatusUpdate(
        request_id=event.request_id,
        state=S.READY_FOR_PICKUP,
        at=event.occurred_at,
        event_id=str(event.event_id),
        office_code=event.office_code,
        citizen_key=event.citizen_key,
    )


def update_from_dead_lettered(record: EnrollmentRecorded, failed_at: dt.datetime) -> StatusUpdate:
    """Central was unreachable and the record waits in the dead-letter stream: AWAITING_CENTRAL."""
    return StatusUpdate(
        request_id=record.request_id,
        state=S.AWAITING_CENTRAL,
        at=failed_at,
        event_id=f"{record.event_id}:awaiting-central",
        office_code=record.office_code,
        citizen_key=record.citizen_key,
        nik_masked=record.nik_masked,
    )


def update_from_parked(record: EnrollmentRecorded, parked_at: dt.datetime, attempts: int) -> StatusUpdate:
    """The record failed its replays too often and waits for a person: PARKED."""
    return StatusUpdate(
        request_id=record.request_id,
        state=S.PARKED,
        at=parked_at,
        event_id=f"{record.event_id}:parked:{attempts}",
        office_code=record.office_code,
        citizen_key=record.citizen_key,
        nik_masked=record.nik_masked,
        note=f"parked after {attempts} tries",
    )


def update_from_noted(event: StatusNoted) -> StatusUpdate:
    """A step's note of a state without a contract topic (SENT_FOR_ENROLLMENT, WAITING_FOR_BLANKS, ...)."""
    return StatusUpdate(
        request_id=event.request_id,
        state=event.state,
        at=event.occurred_at,
        event_id=str(event.event_id),
        office_code=event.office_code,
        citizen_key=event.citizen_key,
        note=event.note,
    )


def update_from_collected(event: CardCollected) -> StatusUpdate | None:
    """The card was handed over (COLLECTED), or refused: still READY_FOR_PICKUP, the refusal a note.

    Only a refusal of a waiting card (the fingerprint did not match) is a note on the request; a refusal
    because the card is not there yet, was already collected, or the request is unknown changes nothing.
    """
    if event.outcome == "refused" and event.reason_code not in (None, "FINGERPRINT_MISMATCH"):
        return None
    if event.outcome == "collected":
        return StatusUpdate(
            request_id=event.request_id,
            state=S.COLLECTED,
            at=event.occurred_at,
            event_id=str(event.event_id),
            citizen_key=event.citizen_key,
        )
    reason = f": {event.reason_code or event.reason}" if event.reason_code or event.reason else ""
    return StatusUpdate(
        request_id=event.request_id,
        state=S.READY_FOR_PICKUP,
        at=event.occurred_at,
        event_id=str(event.event_id),
        citizen_key=event.citizen_key,
        note=f"pickup refused at desk {event.desk_id}{reason}",
    )


def advance_status(current: RequestStatus | None, update: StatusUpdate) -> RequestStatus | None:
    """The status after `update`, or None when the update changes nothing.

    Nothing changes when the update was already applied (same event_id as the last change), when the
    current state is final, when the update ranks below the current state or equals it without a new
    note. A same-state update with a note (a refused pickup) adds that note to the timeline once: a
    redelivered note is recognised by finding its entry (state, time, note) in the timeline, so only a
    note older than the kept window (TIMELINE_LIMIT) could be added twice.
    """
    if current is None:
        return _status_at(update, timeline=(_entry(update),), previous=None)
    if update.request_id != current.request_id:
        msg = f"update for {update.request_id} applied to the status of {current.request_id}"
        raise ValueError(msg)
    if update.event_id == current.last_event_id or current.state in FINAL_STATES:
        return None
    if update.state == current.state:
        entry = _entry(update)
        # The timeline is the memory of which notes were taken: a redelivered note finds itself there.
        if entry.note is None or entry in current.timeline:
            return None
        return _status_at(update, timeline=_bounded((*current.timeline, entry)), previous=current)
    if STATE_RANK[update.state] <= STATE_RANK[current.state]:
        return None
    return _status_at(update, timeline=_bounded((*current.timeline, _entry(update))), previous=current)


def _entry(update: StatusUpdate) -> TimelineEntry:
    note = None if update.note is None else mask_nik(update.note)[:NOTE_LIMIT]
    return TimelineEntry(state=update.state, at=update.at, note=note)


def _bounded(timeline: tuple[TimelineEntry, ...]) -> tuple[TimelineEntry, ...]:
    """The first entry (how the request began) and the most recent ones, TIMELINE_LIMIT in all."""
    if len(timeline) <= TIMELINE_LIMIT:
        return timeline
    return (timeline[0], *timeline[-(TIMELINE_LIMIT - 1) :])


def _status_at(
    update: StatusUpdate, *, timeline: tuple[TimelineEntry, ...], previous: RequestStatus | None
) -> RequestStatus:
    """The status in `update`'s state; identity fields come from the first update that carried them."""
    explanation_id, explanation_en = explain(update.state)
    # Error codes explain the state they came with: a new state starts without the old one's.
    if previous is not None and update.state == previous.state:
        error_codes = update.error_codes or previous.error_codes
    else:
        error_codes = update.error_codes
    # Masked by the producer already; masked again so a careless producer cannot publish a NIK.
    nik_masked = None if update.nik_masked is None else mask_nik(update.nik_masked)
    return RequestStatus(
        request_id=update.request_id,
        state=update.state,
        terminal=is_terminal(update.state),
        updated_at=update.at,
        office_code=_first_known(previous.office_code if previous else None, update.office_code),
        citizen_key=_first_known(previous.citizen_key if previous else None, update.citizen_key),
        nik_masked=_first_known(previous.nik_masked if previous else None, nik_masked),
        explanation_id=explanation_id,
        explanation_en=explanation_en,
        error_codes=error_codes,
        timeline=timeline,
        last_event_id=update.event_id,
    )


def _first_known(kept: str | None, offered: str | None) -> str | None:
    return kept if kept is not None else offered
