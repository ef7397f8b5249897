"""The published contracts (docs/contracts) are what the code generates, and they mean what they say."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from pydantic import ValidationError
from typer.testing import CliRunner

from events.approval import DeadLetterHeader
from events.desk import DeskOutboxReported
from events.enrollment import EnrollmentSubmission
from events.pickup import PickupRequested
from events.printing import CardPrinted, PrintRequested, StationInventory
from pipeline.cli import app
from pipeline.cli.schema import differences
from pipeline.topology.contracts import (
    ASYNCAPI_FILE,
    SCHEMA_DIALECT,
    actions,
    asyncapi_document,
    contract_files,
    message_models,
    schema_mode,
)
from pipeline.topology.topics import (
    APPROVAL_DEADLETTER,
    APPROVAL_PARKED,
    CONTRACT_TOPICS,
    ENROLLMENT_SUBMITTED,
    PRINT_COMPLETED,
    PRINT_REQUESTED,
    REGISTRY,
    STATION_INVENTORY,
)
from tests.support import ROOT
from tests.support.submissions import valid_submission

CONTRACTS_DIR = ROOT / "docs" / "contracts"
EXPORT_COMMAND = "ektp schema export docs/contracts"


def _exported_schema(model_name: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(contract_files()[f"{model_name}.schema.json"])
    return schema


def _inlined_schema(model_name: str) -> dict[str, Any]:
    """The AsyncAPI document's copy of a message schema, its refs resolved inside the document."""
    document = asyncapi_document(version="0.0.0")
    return {"$ref": f"#/components/schemas/{model_name}", "components": document["components"]}


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _resolves(document: Any, ref: str) -> bool:
    if not ref.startswith("#/"):
        return False
    node = document
    for escaped in ref[2:].split("/"):
        token = escaped.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or token not in node:
            return False
        node = node[token]
    return True


def test_committed_contracts_are_what_the_code_generates() -> None:
    """A model or topic changed without re-exporting the contracts fails here, saying how to fix it."""
    problems = differences(CONTRACTS_DIR)
    assert not problems, (
        "docs/contracts is out of step with the code:\n  " + "\n  ".join(problems)
        + f"\nRun `{EXPORT_COMMAND}` (or `.venv/bin/python -m pipeline schema export docs/contracts`), "
        "review the diff and commit it."
    )


def test_export_is_deterministic_text_ending_in_a_newline() -> None:
    """Two exports are byte for byte the same, and every file ends with a newline, so diffs stay clean."""
    first, second = contract_files(), contract_files()
    assert first == second
    assert all(text.endswith("\n") and not text.endswith("\n\n") for text in first.values())


def test_every_contract_topic_has_a_channel_and_no_internal_topic_has_one() -> None:
    """Vendors find each contract topic in the AsyncAPI document, and none of the pipeline's plumbing."""
    channels = asyncapi_document()["channels"].values()
    addresses = [channel["address"] for channel in channels]
    assert sorted(addresses) == sorted(spec.name for spec in CONTRACT_TOPICS)
    assert not {spec.name for spec in REGISTRY if spec.internal} & set(addresses)


def test_asyncapi_document_is_version_3_yaml_whose_refs_all_resolve_inside_it() -> None:
    """The document parses as YAML, says AsyncAPI 3.0.0, and every `$ref` points inside the document."""
    document = yaml.safe_load(contract_files()[ASYNCAPI_FILE])
    assert document["asyncapi"] == "3.0.0"
    assert document["info"]["version"]
    refs = set(_refs(document))
    assert refs, "the document should reference its schemas and messages"
    assert [ref for ref in sorted(refs) if not _resolves(document, ref)] == []
    assert "$defs" not in json.dumps(document), "pydantic's $defs must be hoisted into components/schemas"


def test_local_broker_is_the_documented_server() -> None:
    """The one server is the local Kafka broker at the default address, whatever the exporter's environment."""
    servers = asyncapi_document()["servers"]
    assert list(servers) == ["local"]
    assert (servers["local"]["host"], servers["local"]["protocol"]) == ("127.0.0.1:9092", "kafka")


def test_channels_carry_partitions_cleanup_and_retention() -> None:
    """Each channel's Kafka binding says how the topic is kept: the compacted inventory has one partition."""
    channels = {channel["address"]: channel for channel in asyncapi_document()["channels"].values()}
    inventory = channels["ektp.station.inventory"]["bindings"]["kafka"]
    assert inventory["partitions"] == 1
    assert inventory["topicConfiguration"] == {"cleanup.policy": ["compact"], "retention.ms": -1}
    recorded = channels["ektp.enrollment.recorded"]["bindings"]["kafka"]
    assert recorded["partitions"] == 6
    assert recorded["topicConfiguration"]["cleanup.policy"] == ["delete"]


def test_pipeline_receives_what_outside_programs_write_and_sends_its_own_results() -> None:
    """Operations follow the registry: submissions, pickups and station reports come in; the rest goes out."""
    document = asyncapi_document()
    addresses = {name: channel["address"] for name, channel in document["channels"].items()}
    by_action: dict[str, set[str]] = {"send": set(), "receive": set()}
    for operation in document["operations"].values():
        by_action[operation["action"]].add(addresses[operation["channel"]["$ref"].rsplit("/", 1)[1]])
    assert by_action["receive"] == {
        "ektp.enrollment.submitted", "ektp.pickup.requested.v2", "ektp.print.completed", "ektp.station.inventory",
        "ektp.desk.outbox",
    }
    assert "ektp.print.requested" in by_action["send"]
    assert "ektp.approval.deadletter" in by_action["send"]
    assert not by_action["send"] & by_action["receive"]


def test_messages_others_write_are_described_as_accepted_and_ours_as_written() -> None:
    """Inbound schemas say what the pipeline accepts (validation); outbound ones what it writes (serialization)."""
    for inbound in (EnrollmentSubmission, PickupRequested, StationInventory, CardPrinted, DeskOutboxReported):
        assert schema_mode(inbound) == "validation", inbound.__name__
    assert schema_mode(PrintRequested) == "serialization"


def test_dead_letter_and_parked_records_document_every_dead_letter_header() -> None:
    """Operators' tools learn every failure header from the document; other topics carry none."""
    document = asyncapi_document()
    messages = {
        channel["address"]: document["components"]["messages"][channel_id]
        for channel_id, channel in document["channels"].items()
    }
    for name in (APPROVAL_DEADLETTER.name, APPROVAL_PARKED.name):
        assert set(messages[name]["headers"]["properties"]) == {header.value for header in DeadLetterHeader}
    assert [name for name, message in messages.items() if "headers" in message] == [
        APPROVAL_DEADLETTER.name, APPROVAL_PARKED.name,
    ]


def test_message_keys_are_described_from_the_registry() -> None:
    """A citizen-keyed topic's key is the 64-hex citizen key; request_id and station keys are named."""
    document = asyncapi_document()
    keys = {
        channel["address"]: document["components"]["messages"][channel_id]["bindings"]["kafka"]["key"]
        for channel_id, channel in document["channels"].items()
    }
    assert keys["ektp.approval.decided"]["pattern"] == "^[0-9a-f]{64}$"
    assert "request_id" in keys["ektp.request.status"]["description"]
    assert keys["ektp.pickup.requested.v2"]["pattern"] == "^[0-9a-f]{64}$"
    assert "ektp.pickup.requested" not in keys, "a retired topic is no longer part of the contract"
    assert keys["ektp.station.inventory"] == {"description": "station id", "type": "string"}


def test_every_json_schema_is_draft_2020_12_named_and_described() -> None:
    """Each message has a valid 2020-12 schema file with its own `$id`, its model's name and docstring."""
    files = contract_files()
    ids = set()
    for model in message_models():
        schema = json.loads(files[f"{model.__name__}.schema.json"])
        Draft202012Validator.check_schema(schema)
        assert schema["$schema"] == SCHEMA_DIALECT
        assert schema["title"] == model.__name__
        assert schema["description"]
        assert [ref for ref in _refs(schema) if not _resolves(schema, ref)] == []
        ids.add(schema["$id"])
    assert len(ids) == len(message_models())


@pytest.mark.parametrize("schema_of", [_exported_schema, _inlined_schema], ids=["file", "asyncapi"])
def test_the_design_example_submission_satisfies_the_contract(schema_of: Any) -> None:
    """The design document's example, with real digests, validates against the exported schema and the model."""
    submission = valid_submission()
    assert list(Draft202012Validator(schema_of("EnrollmentSubmission")).iter_errors(submission)) == []
    EnrollmentSubmission.model_validate(submission)


def _with(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    submission = copy.deepcopy(valid_submission())
    node = submission
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return submission


@pytest.mark.parametrize("schema_of", [_exported_schema, _inlined_schema], ids=["file", "asyncapi"])
@pytest.mark.parametrize(
    "submission",
    [
        pytest.param(_with(("nickname",), "BUDI"), id="unknown-field"),
        pytest.param(_with(("resident", "address", "postal_code"), "29124"), id="unknown-nested-field"),
        pytest.param(_with(("resident", "sex"), "other"), id="unknown-sex"),
        pytest.param(_with(("request_type",), "renewal"), id="unknown-request-type"),
        pytest.param(_with(("biometrics", "face"), "not-a-digest"), id="not-a-digest"),
    ],
)
def test_a_submission_outside_the_contract_is_refused_by_schema_and_model(
    schema_of: Any, submission: dict[str, Any]
) -> None:
    """Unknown fields, unknown enum values and malformed digests fail the schema as they fail the intake."""
    assert not Draft202012Validator(schema_of("EnrollmentSubmission")).is_valid(submission)
    with pytest.raises(ValidationError):
        EnrollmentSubmission.model_validate(submission)


def test_the_operations_follow_the_routing_table() -> None:
    """The pipeline sends what its steps write and receives what outside programs write for it to read."""
    assert actions(ENROLLMENT_SUBMITTED) == ("receive",)
    assert actions(PRINT_REQUESTED) == ("send",)
    assert actions(PRINT_COMPLETED) == ("receive",)
    assert actions(STATION_INVENTORY) == ("receive",)  # stations write it; operators read it
    operations = asyncapi_document(version="0.0.0")["operations"]
    assert "receiveStationInventory" in operations
    assert "sendStationInventory" not in operations


def test_export_command_writes_the_contracts_and_check_notices_a_change(tmp_path: Path) -> None:
    """`ektp schema export DIR` writes every file; `ektp schema check DIR` passes, then fails after an edit."""
    runner = CliRunner()
    target = tmp_path / "contracts"
    exported = runner.invoke(app, ["schema", "export", str(target)])
    assert exported.exit_code == 0, exported.output
    assert sorted(path.name for path in target.iterdir()) == sorted(contract_files())
    assert runner.invoke(app, ["schema", "check", str(target)]).exit_code == 0

    (target / "EnrollmentSubmission.schema.json").write_text("{}\n")
    checked = runner.invoke(app, ["schema", "check", str(target)])
    assert checked.exit_code == 1
    assert "EnrollmentSubmission.schema.json" in checked.output
