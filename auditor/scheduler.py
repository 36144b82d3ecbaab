"""Collectors describe calls; the scheduler is the one place that runs them.

A call is a description (API, method, parameters, scope) plus a function that performs it with the
client libraries. The scheduler opens a call record in the locker, runs the function with the
capture layer pointed at that record and at the run's retry policy, classifies any failure, and
queues the follow-up calls that depend on the result (per-project calls after discovery) as soon
as that result arrives.

Concurrency is bounded per API: each API has its own lane, a pool of
`collection.parallelism[api]` worker threads, so a slow or throttled API never holds up another,
and no API sees more concurrent requests than configured. GitHub's lane has one worker (GitHub asks
for serial requests per token); the local git inspections run in that lane too, because each
follows a GitHub answer and the organisation's backup listing must precede the repository listing.
A one-worker lane runs its calls in the order they were queued, as the serial scheduler did.

The client libraries' HTTP objects are not thread-safe, so each worker builds its own
(`GoogleClients.service` keeps one per thread). Context variables do not flow into pool threads by
themselves: every call runs in a copy of the submitting context, with the capture layer's per-call
variables set inside the worker. `serial=True` runs one call at a time (the benchmark's baseline).
"""

from __future__ import annotations

import contextvars
import queue
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Protocol

from auditor import retry
from auditor.config import CollectionConfig
from auditor.errors import OutputError
from auditor.evidence.capture import recording
from auditor.evidence.failure import describe_failure
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

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.api, self.method, repr(sorted(self.params.items())))


class _NoProgress:
    def started(self, call: Call) -> None:
        pass

    def finished(self, call: Call, record: CallRecord, queued: int) -> None:
        pass


class Scheduler:
    """Runs calls with bounded parallelism per API; `serial=True` runs one call at a time."""

    def __init__(self, locker: LockerWriter, progress: Progress | None = None,
                 settings: CollectionConfig | None = None, *, serial: bool = False,
                 stop: threading.Event | None = None) -> None:
        self.locker = locker
        self.progress = progress or _NoProgress()
        self.settings = settings or CollectionConfig()
        self.policy = retry.from_settings(self.settings)
        self.serial = serial
        self.stop = stop  # set by the runner's SIGINT handler
        self.records: list[CallRecord] = []

    def lane(self, api: str) -> str:
        if self.serial:
            return "serial"
        return "github" if api in ("github", "git") else api

    def run(self, calls: Iterable[Call]) -> list[CallRecord]:
        pools: dict[str, ThreadPoolExecutor] = {}
        pending: dict[Future, Call] = {}
        done: queue.SimpleQueue[Future] = queue.SimpleQueue()  # futures of ended calls, in the order they ended
        seen: set[tuple[str, str, str]] = set()
        # call key -> ids of the calls whose answers asked for it (one list per call, shared with its
        # record, so a second asker is recorded even after the call ran: see CallRecord.after)
        askers: dict[tuple[str, str, str], list[str]] = {}

        def submit(call: Call, parent: str | None = None) -> None:
            if parent is not None and call.key in askers and parent not in askers[call.key]:
                askers[call.key].append(parent)
            if call.key in seen:  # a request is never sent twice unless it failed
                return
            seen.add(call.key)
            if parent is not None:
                askers[call.key] = [parent]
            lane = self.lane(call.api)
            if lane not in pools:
                workers = 1 if self.serial else self.settings.workers(call.api)
                pools[lane] = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"auditor-{lane}")
            self.progress.started(call)
            future = pools[lane].submit(contextvars.copy_context().run, self._execute, call, askers.get(call.key))
            pending[future] = call
            future.add_done_callback(done.put)

        finished = False
        try:
            for call in calls:
                submit(call)
            while pending:
                # Each call hands itself over as it ends: waiting on every pending future instead
                # (concurrent.futures.wait) costs time in proportion to the queue, per completion, which
                # with thousands of queued calls is most of a run's CPU.
                try:
                    future = done.get(timeout=0.25)
                except queue.Empty:
                    future = None
                if self.stop is not None and self.stop.is_set():
                    # a Ctrl-C whose KeyboardInterrupt was swallowed (raised inside a library's
                    # finalizer, say) still stops the run: the signal handler also set this flag
                    raise KeyboardInterrupt
                if future is None:
                    continue
                call = pending.pop(future)
                record, result = future.result()
                if getattr(self.locker, "write_error", None) is not None:  # a write failed inside a library
                    raise self.locker.write_error
                self.records.append(record)
                # a partial answer is still followed: what it did return is real, and the call itself
                # stays a gap for the scopes it named
                if record.outcome in ("ok", "partial") and call.follow is not None:
                    for follow_up in call.follow(result):
                        submit(follow_up, record.id)
                self.progress.finished(call, record, len(pending))
            finished = True
        finally:
            # On Ctrl-C nothing queued starts; calls in flight end within their timeout and the
            # locker (closed by the runner) marks them interrupted.
            for pool in pools.values():
                pool.shutdown(wait=finished, cancel_futures=True)
        return self.records

    def _execute(self, call: Call, after: list[str] | None = None) -> tuple[CallRecord, Any]:
        """Runs in a worker thread: the call's pages, retries and failure go to its own record."""
        recorder = self.locker.begin_call(call.api, call.method, call.params, call.scope, after)
        result: Any = None
        error: dict[str, Any] | None = None
        with recording(recorder), retry.active(self.policy):
            try:
                result = call.perform()
            except OutputError:  # the locker cannot be written (a full disk): the run ends, no evidence of it
                raise
            except Exception as err:  # every failure becomes evidence, never a silent gap
                error = describe_failure(err)
        return recorder.finish(error), result
