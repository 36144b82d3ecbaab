"""Collectors describe calls; the scheduler is the one place that runs them.

A call is a description (API, method, parameters, scope) plus a function that performs it with the
client libraries. The scheduler opens a call record in the locker, runs the function with the
capture layer pointed at that record, classifies any failure, and queues follow-up calls that
depend on the result (for example: per-project calls after discovery). Serial for now; the
interface is the same for bounded parallelism later.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Protocol

from auditor.evidence.failure import describe_failure
from auditor.evidence.capture import recording
from auditor.evidence.locker import CallRecord, LockerWriter


class Progress(Protocol):
    def started(self, call: "Call") -> None: ...
    def finished(self, call: "Call", record: CallRecord, queued: int) -> None: ...


@dataclass(frozen=True)
class Call:
    api: str
    method: str
    params: dict[str, Any]
    scope: str
    perform: Callable[[], Any] = field(compare=False, repr=False)
    follow: Callable[[Any], Iterable["Call"]] | None = field(default=None, compare=False, repr=False)


class _NoProgress:
    def started(self, call: Call) -> None:
        pass

    def finished(self, call: Call, record: CallRecord, queued: int) -> None:
        pass


class Scheduler:
    def __init__(self, locker: LockerWriter, progress: Progress | None = None) -> None:
        self.locker = locker
        self.progress = progress or _NoProgress()
        self.records: list[CallRecord] = []

    def run(self, calls: Iterable[Call]) -> list[CallRecord]:
        queue = deque(calls)
        seen: set[tuple[str, str, str]] = set()
        while queue:
            call = queue.popleft()
            key = (call.api, call.method, repr(sorted(call.params.items())))
            if key in seen:  # a request is never sent twice unless it failed
                continue
            seen.add(key)
            self.progress.started(call)
            recorder = self.locker.begin_call(call.api, call.method, call.params, call.scope)
            result: Any = None
            error: dict[str, Any] | None = None
            with recording(recorder):
                try:
                    result = call.perform()
                except Exception as err:  # every failure becomes evidence, never a silent gap
                    error = describe_failure(err)
            record = recorder.finish(error)
            self.records.append(record)
            if error is None and call.follow is not None:
                queue.extend(call.follow(result))
            self.progress.finished(call, record, len(queue))
        return self.records
