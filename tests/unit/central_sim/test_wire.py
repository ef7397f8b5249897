"""How central reads an enrollment body: the contract's fields, extras allowed on top, errors safe to show."""

from __future__ import annotations

import json

import pytest

from central_sim.errors import InvalidEnrollment
from central_sim.wire import parse_enrollment, parse_json
from tests.support.submissions import valid_submission

NIK = "2172041708900001"


def test_extra_top_level_fields_are_accepted() -> None:
    """The pipeline's citizen_key and any other top-level extra do not make the body invalid."""
    document = {**valid_submission(nik=NIK), "citizen_key": "ab" * 32, "sent_by": "approval-agent"}
    enrollment = parse_enrollment(document)
    assert enrollment.citizen_key == "ab" * 32
    assert enrollment.submission.resident.nik == NIK


def test_citizen_key_is_part_of_the_body_digest_other_extras_are_not() -> None:
    """Two bodies differing only in an unknown extra are the same request; a different citizen_key is not."""
    document = valid_submission(nik=NIK)
    plain = parse_enrollment(document).body_digest
    assert parse_enrollment({**document, "attempt": 2}).body_digest == plain
    assert parse_enrollment({**document, "citizen_key": "cd" * 32}).body_digest != plain


def test_extra_fields_inside_the_contract_are_refused() -> None:
    """Inside the contract's objects nothing extra is allowed, as for a recording desk: 422."""
    document = valid_submission(nik=NIK)
    document["resident"]["nickname"] = "BUDI"
    with pytest.raises(InvalidEnrollment) as refused:
        parse_enrollment(document)
    assert (refused.value.status, refused.value.code) == (422, "invalid_enrollment")
    assert refused.value.request_id == document["request_id"]


@pytest.mark.parametrize("citizen_key", ["AB" * 32, "ab", 42])
def test_a_malformed_citizen_key_is_refused(citizen_key: object) -> None:
    """A citizen_key that is not 64 lowercase hex is a 422."""
    with pytest.raises(InvalidEnrollment, match="invalid_enrollment"):
        parse_enrollment({**valid_submission(nik=NIK), "citizen_key": citizen_key})


def test_a_nik_that_is_not_sixteen_digits_is_refused() -> None:
    """Central keys people by NIK: anything but 16 digits is a 422."""
    with pytest.raises(InvalidEnrollment, match="invalid_enrollment"):
        parse_enrollment(valid_submission(nik="21720417089000AB"))


def test_errors_never_echo_the_input() -> None:
    """A refusal names the fields at fault but never repeats their values (a NIK may be among them)."""
    document = valid_submission(nik=NIK)
    document["resident"]["birth_date"] = f"not-a-date-{NIK}"
    document["biometrics"]["quality"]["face"] = 400
    with pytest.raises(InvalidEnrollment) as refused:
        parse_enrollment(document)
    shown = json.dumps(refused.value.detail)
    assert NIK not in shown
    assert "birth_date" in shown
    assert "face" in shown


def test_a_body_that_is_not_json_is_a_400() -> None:
    """Bytes that are not JSON (or not UTF-8) are `malformed_json`, 400."""
    for body in (b"{not json", b"\xff\xfe"):
        with pytest.raises(InvalidEnrollment) as refused:
            parse_json(body)
        assert (refused.value.status, refused.value.code) == (400, "malformed_json")


def test_json_that_is_not_an_object_is_a_422() -> None:
    """A JSON array or string where an enrollment is expected is a 422."""
    with pytest.raises(InvalidEnrollment) as refused:
        parse_enrollment(["an", "array"])
    assert refused.value.status == 422
