"""Logging masks every NIK, in our lines and in the libraries', and renders JSON off a terminal."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from pipeline.config import Settings
from pipeline.logs import bind_message_context, configure_logging, get_logger

NIK = "2172041708900001"
MASKED = "217204******0001"


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging(Settings(log_format="json", log_level="debug"), stream=stream)
    yield stream
    structlog.contextvars.clear_contextvars()
    structlog.reset_defaults()
    logging.getLogger().handlers.clear()


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_nik_in_the_message_and_in_nested_fields_is_masked(log_output: io.StringIO) -> None:
    """A NIK anywhere in a line (message, field, nested dict, list, integer) comes out masked."""
    get_logger("t").info(
        f"recorded {NIK}", nik=NIK, resident={"ids": [NIK, int(NIK)], "kk": "2172042103150001"}
    )
    text = log_output.getvalue()
    assert NIK not in text
    assert "2172042103150001" not in text
    [line] = lines(log_output)
    assert line["event"] == f"recorded {MASKED}"
    assert line["nik"] == MASKED
    assert line["resident"] == {"ids": [MASKED, MASKED], "kk": "217204******0001"}


def test_a_nik_in_an_exception_traceback_is_masked(log_output: io.StringIO) -> None:
    """An exception whose message carries a NIK is logged with the NIK masked."""
    try:
        raise ValueError(f"bad record for {NIK}")
    except ValueError:
        get_logger("t").exception("intake failed")
    assert NIK not in log_output.getvalue()
    assert MASKED in lines(log_output)[0]["exception"]  # type: ignore[operator]


def test_library_log_lines_pass_the_same_masking(log_output: io.StringIO) -> None:
    """A standard-library logger (faust, aiokafka) gets the same masking and JSON rendering."""
    logging.getLogger("aiokafka.consumer").warning("offset for %s lost", NIK)
    [line] = lines(log_output)
    assert line["event"] == f"offset for {MASKED} lost"
    assert line["logger"] == "aiokafka.consumer"


def test_message_context_is_bound_to_every_line(log_output: io.StringIO) -> None:
    """Context bound for a message is on every line logged while handling it, and the next replaces it."""
    bind_message_context(request_id="req-1", topic="ektp.enrollment.submitted", partition=2)
    get_logger("t").info("first")
    get_logger("t").info("second")
    bind_message_context(request_id="req-2")
    get_logger("t").info("third")
    first, second, third = lines(log_output)
    assert first["request_id"] == second["request_id"] == "req-1"
    assert first["partition"] == 2
    assert third["request_id"] == "req-2"
    assert "partition" not in third


def test_numbers_that_are_not_sixteen_digits_are_left_alone(log_output: io.StringIO) -> None:
    """Offsets, counts and 17-digit numbers are not mistaken for a NIK."""
    get_logger("t").info("progress", offset=1234567, big="12345678901234567", ts=1795833088263)
    [line] = lines(log_output)
    assert (line["offset"], line["big"], line["ts"]) == (1234567, "12345678901234567", 1795833088263)


def test_logs_are_json_off_a_terminal_and_readable_on_one() -> None:
    """`auto` renders JSON when stderr is not a terminal (as under pytest); `console` renders text."""
    stream = io.StringIO()
    configure_logging(Settings(log_format="console"), stream=stream)
    get_logger("t").info("hello", nik=NIK)
    structlog.reset_defaults()
    logging.getLogger().handlers.clear()
    assert "hello" in stream.getvalue()
    assert MASKED in stream.getvalue()
    with pytest.raises(json.JSONDecodeError):
        json.loads(stream.getvalue())
