"""What the station does with each journaled job when it starts again, whatever instant it was killed at.

The rules, one per state (`resume_action`):

| journal says               | what happened before the kill            | on restart                              |
|----------------------------|------------------------------------------|-----------------------------------------|
| received, not owned        | journaled; the offset commit may or may  | ask the group's committed offset whose  |
|                            | not have reached Kafka                   | commit it was (`settle_ownership`)      |
| received                   | owned, approval not checked yet          | verify                                  |
| verified, waiting          | approval good, no blank yet              | queue for a blank                       |
| printing, PNG exists       | the card came out, journal not updated   | count it as printed; never print again  |
| printing, no PNG           | blank reserved, not printed (a half temp | print now, same card and blank serial   |
|                            | file is deleted: it is not a card)       |                                         |
| printed                    | card out, print.completed maybe not sent | send print.completed (same event_id)    |
| reported, refused, dup.    | done                                     | nothing                                 |

A job is printed only by the station that owns it, and it owns it once its offset commit went through:
so a standby station that takes the partition over never gets a job this station may have printed.

The station works on batches (engine.py), and each rule is still per job: a batch's transactions commit
whole or not at all, and a batch killed between its reserving and its recording transaction leaves each
of its jobs in `printing`, the ones whose card came out with their PNG and the others without, each
settled by the table above. A half-written card of the batch is a temp file, deleted at the start.
"""

from __future__ import annotations

from enum import StrEnum


class JobState(StrEnum):
    """The journal's states of a print job, in the order a job passes them."""

    RECEIVED = "received"  # journaled from Kafka; approval not verified yet
    VERIFIED = "verified"  # central's signature checked; waiting for a blank
    WAITING = "waiting"  # verified, and the station is out of blanks (WAITING_FOR_BLANKS sent once)
    PRINTING = "printing"  # a blank reserved, card serial and blank serial assigned
    PRINTED = "printed"  # the PNG (the card) is written; print.completed is in the outbox
    REPORTED = "reported"  # print.completed acknowledged by Kafka (acks=all)
    REFUSED = "refused"  # the approval did not verify: never printed (terminal)
    DUPLICATE = "duplicate"  # another job of the same request already has a card (terminal)


TERMINAL = frozenset({JobState.REPORTED, JobState.REFUSED, JobState.DUPLICATE})


class Resume(StrEnum):
    """What to do next with a journaled job."""

    SETTLE_OWNERSHIP = "settle_ownership"
    VERIFY = "verify"
    QUEUE = "queue"
    COUNT_AS_PRINTED = "count_as_printed"
    PRINT = "print"
    REPORT = "report"
    NOTHING = "nothing"


def resume_action(state: JobState, *, owned: bool, png_exists: bool) -> Resume:
    """The recovery rule for one job (see the table in the module docstring)."""
    if not owned:
        return Resume.SETTLE_OWNERSHIP
    match state:
        case JobState.RECEIVED:
            return Resume.VERIFY
        case JobState.VERIFIED | JobState.WAITING:
            return Resume.QUEUE
        case JobState.PRINTING:
            return Resume.COUNT_AS_PRINTED if png_exists else Resume.PRINT
        case JobState.PRINTED:
            return Resume.REPORT
        case _:
            return Resume.NOTHING


class Ownership(StrEnum):
    """Whose job an unowned journal row is, judged by the consumer group's committed offset."""

    OURS = "ours"  # our commit went through: print it
    NOT_COMMITTED = "not_committed"  # nobody committed past it: drop the row, the job comes again
    PASSED_BY_ANOTHER = "passed_by_another"  # another commit moved past it: drop the row, never print it


def settle_ownership(
    *, job_offset: int, claim_metadata: str, committed_offset: int | None, committed_metadata: str | None
) -> Ownership:
    """Did the commit of the batch that journaled this job reach Kafka before the station was killed?

    Every batch is committed with metadata naming the station and the batch (`claim_metadata`), so the
    group's committed offset tells: our metadata past the job means our commit; an offset not past the
    job means no commit; another's metadata past it means another station of the office read the job
    after us, or our commit went through before theirs; the two cannot be told apart, so the row is
    dropped rather than risk a second card (a lost job shows as stuck in PRINT_QUEUED; a second card
    cannot be taken back).
    """
    if committed_offset is None or committed_offset <= job_offset:
        return Ownership.NOT_COMMITTED
    if committed_metadata == claim_metadata:
        return Ownership.OURS
    return Ownership.PASSED_BY_ANOTHER
