"""The broker's ACLs made equal to the derived set (`pipeline.topology.acls.acls`), and read back from it.

`ektp broker start` syncs them once the nodes answer: it creates the missing entries and deletes any other
entry of a program's role, so the broker enforces exactly what the routing table and the registry say,
including after a route is removed. Entries of other principals (an office's own) are left alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiokafka.errors import for_code
from aiokafka.protocol.admin import (
    CreateAclsRequest,
    CreateAclsRequest_v1,
    DeleteAclsRequest,
    DeleteAclsRequest_v1,
    DescribeAclsRequest,
)

from pipeline.config import Settings
from pipeline.errors import BrokerError
from pipeline.kafka.admin import admin_client
from pipeline.topology.acls import Acl, acls, principal, roles

# Kafka's wire codes (org.apache.kafka.common.resource / acl).
_ANY = 1
_RESOURCE_TYPES = {"TOPIC": 2, "GROUP": 3}
_PATTERNS = {"LITERAL": 3, "PREFIXED": 4}
_OPERATIONS = {"READ": 3, "WRITE": 4, "CREATE": 5, "DESCRIBE": 8, "DESCRIBE_CONFIGS": 10}
_ALLOW = 3
_ALL_HOSTS = "*"


def _by_code(names: dict[str, int]) -> dict[int, str]:
    return {code: name for name, code in names.items()}


@dataclass(frozen=True)
class AclSync:
    """What `sync_acls` did: the entries it created and deleted, and how many were already there."""

    created: tuple[Acl, ...]
    deleted: tuple[Acl, ...]
    kept: int


class _CreateMany(CreateAclsRequest):  # type: ignore[misc]
    """CreateAcls with every entry in one request (aiokafka's class sends one)."""

    def __init__(self, entries: list[Acl]) -> None:
        super().__init__(0, "", 0, "", "", 0, 0)
        self._entries = entries

    def build(self, request_struct_class: type[Any]) -> Any:
        return CreateAclsRequest_v1([_wire(entry) for entry in self._entries])


class _DeleteMany(DeleteAclsRequest):  # type: ignore[misc]
    """DeleteAcls with one exact filter per entry."""

    def __init__(self, entries: list[Acl]) -> None:
        super().__init__(0, "", 0, "", "", 0, 0)
        self._entries = entries

    def build(self, request_struct_class: type[Any]) -> Any:
        return DeleteAclsRequest_v1([_wire(entry) for entry in self._entries])


def _wire(entry: Acl) -> tuple[int, str, int, str, str, int, int]:
    return (_RESOURCE_TYPES[entry.resource_type], entry.name, _PATTERNS[entry.pattern], entry.principal,
            _ALL_HOSTS, _OPERATIONS[entry.operation], _ALLOW)


async def enforced_acls(settings: Settings) -> list[Acl]:
    """Every ALLOW entry the broker holds for a topic or group, sorted; what it enforces."""
    async with admin_client(settings) as client:
        response = await client._send_request(DescribeAclsRequest(_ANY, None, _ANY, None, None, _ANY, _ANY))
    if response.error_code:
        raise BrokerError(f"the broker would not list its ACLs: {for_code(response.error_code).__name__} "
                          f"{response.error_message or ''}".strip())
    types, patterns, operations = _by_code(_RESOURCE_TYPES), _by_code(_PATTERNS), _by_code(_OPERATIONS)
    found = []
    for resource_type, name, pattern, entries in response.resources:
        for who, _host, operation, permission in entries:
            if permission == _ALLOW and resource_type in types and pattern in patterns and operation in operations:
                found.append(Acl(who, types[resource_type], patterns[pattern], name, operations[operation]))  # type: ignore[arg-type]
    return sorted(set(found))


async def sync_acls(settings: Settings) -> AclSync:
    """Make the broker's entries of the programs' roles exactly `acls(app_id)`."""
    wanted = set(acls(settings.app_id))
    ours = {principal(role) for role in roles()}
    held = {entry for entry in await enforced_acls(settings) if entry.principal in ours}
    missing, extra = sorted(wanted - held), sorted(held - wanted)
    await create_acls(settings, missing)
    if extra:
        async with admin_client(settings) as client:
            deleted = await client._send_request(_DeleteMany(extra))
        failures = [code for code, _message, _matching in deleted.filter_responses if code]
        if failures:
            raise BrokerError(f"the broker would not delete {len(failures)} stale ACL(s): "
                              f"{for_code(failures[0]).__name__}")
    return AclSync(tuple(missing), tuple(extra), len(held & wanted))


async def create_acls(settings: Settings, entries: list[Acl]) -> None:
    """Create `entries` on the broker in one request, as admin; the first refusal is raised."""
    if not entries:
        return
    async with admin_client(settings) as client:
        created = await client._send_request(_CreateMany(entries))
    failures = [(entry, code, message) for entry, (code, message)
                in zip(entries, created.creation_responses, strict=True) if code]
    if failures:
        entry, code, message = failures[0]
        raise BrokerError(f"the broker refused {len(failures)} ACL(s), the first {entry}: "
                          f"{for_code(code).__name__} {message or ''}".strip())
