"""The chaos run's verdict (`pipeline.proving.chaos.invariants`): each invariant caught on hand-made evidence."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Sequence
from dataclasses import replace

from events.enrollment import EnrollmentRejected, RawEncoding
from events.rule_errors import RuleError
from events.status import RequestState, RequestStatus, TimelineEntry
from pipeline.proving.chaos.invariants import Observed, judge, order_violations, regressions
from pipeline.proving.synthetic import GeneratedSubmission, Kind, Mix, generate_submissions

S = RequestState
NOW = dt.datetime(2026, 11, 28, 2, 0, tzinfo=dt.UTC)
TODAY = dt.date(2026, 11, 28)


def status(request_id: str, *states: RequestState) -> RequestStatus:
    """A status record whose timeline went through `states`, the last one current."""
    return RequestStatus(
        request_id=request_id, state=states[-1], terminal=states[-1] == S.COLLECTED, updated_at=NOW,
        office_code="2172", explanation_id="-", explanation_en="-",
        timeline=tuple(TimelineEntry(state=state, at=NOW) for state in states),
    )


def collected_everything(submissions: Sequence[GeneratedSubmission]) -> Observed:
    """The evidence of a perfect run: every valid request collected with one card, every malformed rejected."""
    valid = [s for s in submissions if s.kind != Kind.MALFORMED and s.request_id]
    ids = list(dict.fromkeys(s.request_id for s in valid if s.request_id))
    malformed = [s for s in submissions if s.kind == Kind.MALFORMED]
    return Observed(
        statuses=[status(request_id, S.RECORDED, S.PRINT_READY_RECORD, S.PRINTED, S.COLLECTED) for request_id in ids],
        rejections=[rejection_of(s.value) for s in malformed],
        printed=[(request_id, f"CARD-{number}") for number, request_id in enumerate(ids)],
        journal_cards=[(request_id, f"CARD-{number}") for number, request_id in enumerate(ids)],
        card_files=frozenset(f"CARD-{number}" for number in range(len(ids))),
        recorded=[("citizen", request_id) for request_id in ids],
        decided=[("citizen", request_id) for request_id in ids],
        dlq_pending=0, dlq_parked=0,
    )


def rejection_of(value: bytes) -> EnrollmentRejected:
    """The intake's rejection of `value` when it could not read a request_id from it."""
    try:
        text, encoding = value.decode("utf-8"), RawEncoding.UTF8
    except UnicodeDecodeError:
        text, encoding = base64.b64encode(value).decode("ascii"), RawEncoding.BASE64
    return EnrollmentRejected(
        request_id="unknown", request_id_known=False, errors=(RuleError(code="MESSAGE_NOT_JSON", field="",
                                                                         message_id="-", message_en="-"),),
        raw_key=None, raw_key_encoding=RawEncoding.ABSENT, raw_value=text, raw_value_encoding=encoding,
    )


SUBMISSIONS = generate_submissions(40, seed=7, today=TODAY, mix=Mix(malformed=7, repeated=2))


def test_a_perfect_run_passes_with_every_request_terminal() -> None:
    """Every request collected once and every malformed message rejected: nothing fails."""
    verdict = judge(SUBMISSIONS, collected_everything(SUBMISSIONS))
    assert verdict.failed == []
    assert verdict.submitted == 40
    assert verdict.requests == 38  # the two repeats are the same requests again
    assert verdict.terminal == 38
    assert verdict.lost == 0
    assert verdict.double_printed == 0


def test_a_request_without_a_terminal_status_is_lost() -> None:
    """A request left at PRINTED, and one with no status at all, both count as lost."""
    evidence = collected_everything(SUBMISSIONS)
    statuses = list(evidence.statuses)
    stuck = statuses[0].request_id
    statuses[0] = status(stuck, S.RECORDED, S.PRINTED)
    gone = statuses.pop().request_id
    verdict = judge(SUBMISSIONS, replace(evidence, statuses=statuses))
    assert verdict.lost == 2
    assert set(verdict.lost_examples) == {stuck, gone}
    assert verdict.failed == ["lost"]


def test_a_malformed_message_without_its_rejection_is_lost() -> None:
    """Malformed messages are matched to rejections by their raw bytes; one missing is lost."""
    evidence = collected_everything(SUBMISSIONS)
    verdict = judge(SUBMISSIONS, replace(evidence, rejections=list(evidence.rejections)[1:]))
    assert verdict.lost == 1


def test_two_distinct_cards_for_one_request_is_a_double_print() -> None:
    """A second card serial for a request, seen only in the station's journal, is caught."""
    evidence = collected_everything(SUBMISSIONS)
    request_id = evidence.printed[0][0]
    verdict = judge(SUBMISSIONS, replace(evidence, journal_cards=[*evidence.journal_cards, (request_id, "CARD-X")]))
    assert verdict.double_printed == 1
    assert "double_printed" in verdict.failed


def test_the_same_card_reported_twice_is_not_a_double_print() -> None:
    """A print.completed re-sent after a crash names the same card serial: one card."""
    evidence = collected_everything(SUBMISSIONS)
    verdict = judge(SUBMISSIONS, replace(evidence, printed=[*evidence.printed, evidence.printed[0]]))
    assert verdict.double_printed == 0


def test_a_png_no_journal_row_names_is_reported() -> None:
    """A card file whose serial nothing else knows means a print the records do not show."""
    evidence = collected_everything(SUBMISSIONS)
    verdict = judge(SUBMISSIONS, replace(evidence, card_files=evidence.card_files | {"CARD-GHOST"}))
    assert verdict.unknown_card_files == 1


def test_a_status_that_moves_backwards_is_a_regression() -> None:
    """COLLECTED then PRINTED on the status topic, or a timeline that falls back, both count."""
    found = regressions([
        status("a", S.RECORDED, S.PRINTED), status("a", S.RECORDED, S.PRINTED, S.COLLECTED),
        status("a", S.RECORDED, S.PRINTED),
        status("b", S.RECORDED, S.PRINTED, S.PRINT_QUEUED),
        status("c", S.RECORDED), status("c", S.RECORDED, S.AWAITING_CENTRAL, S.PRINT_READY_RECORD),
    ])
    assert sorted(found) == ["a", "b"]
    assert found["a"] == "PRINTED>COLLECTED>PRINTED"


def test_decisions_out_of_a_citizens_recording_order_are_caught() -> None:
    """One citizen's requests decided in another order than recorded; other citizens do not mix in."""
    recorded = [("c1", "r1"), ("c2", "x1"), ("c1", "r2"), ("c2", "x2"), ("c1", "r1")]
    assert order_violations(recorded, [("c1", "r1"), ("c2", "x2"), ("c1", "r2"), ("c2", "x1")]) == ["c2"]
    assert order_violations(recorded, [("c2", "x1"), ("c1", "r1"), ("c1", "r2"), ("c1", "r1")]) == []


def test_pending_dead_letters_fail_the_run() -> None:
    """A record still waiting for central at the end fails the run."""
    verdict = judge(SUBMISSIONS, replace(collected_everything(SUBMISSIONS), dlq_pending=3))
    assert verdict.failed == ["dlq_pending"]
