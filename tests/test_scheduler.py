"""The scheduler's bounded parallelism per API and the one retry policy, over real HTTP where it matters.

No timings are asserted: concurrency is observed by the calls themselves, waits by an injected clock.
"""

from __future__ import annotations

import threading
from pathlib import Path
import time

import pytest
from google.auth.credentials import AnonymousCredentials

from auditor import retry
from auditor.collectors.google import GoogleClients
from auditor.config import load_config
from auditor.errors import ConfigError
from auditor.evidence.locker import Locker, LockerWriter
from auditor.runner import collect, evaluate
from auditor.scheduler import Call, Scheduler
from auditor.simulator import Simulator
from auditor.simulator.faults import Fault
from testkit import freeze_clock, spine_config, spine_scenario


class FakeClock:
    """Time that passes only when the client sleeps."""

    def __init__(self) -> None:
        self.now = 1_000_000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_retry_policy_follows_googles_guidance():
    clock = FakeClock()
    policy = retry.RetryPolicy(retries=4, base=1, cap=8, jitter=0.5, max_wait=120, clock=clock)
    assert policy.after_response(0, 200, {}) is None
    assert policy.after_response(0, 403, {}, b'{"error": {"status": "PERMISSION_DENIED"}}') is None  # final
    assert policy.after_response(0, 404, {}) is None and policy.after_response(0, 400, {}) is None
    assert policy.after_response(0, 403, {}, b'{"error": {"errors": [{"reason": "rateLimitExceeded"}]}}') is not None
    for attempt, low in enumerate([1, 2, 4, 8]):
        wait = policy.after_response(attempt, 503, {})
        assert low <= wait <= min(8, low + 0.5)  # truncated exponential backoff with jitter
    assert policy.after_response(4, 503, {}) is None  # a bounded number of retries
    assert policy.after_response(0, 429, {"Retry-After": "7"}) == 7
    assert policy.after_response(0, 429, {"retry-after": "Sun, 06 Nov 1994 08:49:45 GMT",
                                           "date": "Sun, 06 Nov 1994 08:49:37 GMT"}) == 8  # an HTTP date
    assert policy.after_response(0, 429, {"Retry-After": "3600"}) is None  # longer than max_wait: the call fails
    assert policy.after_error(0, ConnectionResetError()) is not None
    assert policy.after_error(0, TimeoutError()) is not None  # every call is a read: safe to send again
    assert policy.after_error(4, TimeoutError()) is None
    assert policy.after_error(0, ValueError()) is None


def test_collection_config_is_strict(tmp_path, sample_dir):
    text = (sample_dir / "auditor.yaml").read_text()
    for bad, named in (("collection: {parallelism: {github: 2}}", "serially"),
                       ("collection: {parallelism: {bigquery: 2}}", "bigquery"),
                       ("collection: {parallelism: {logging: 0}}", "logging"),
                       ("collection: {retries: 99}", "retries"), ("collection: {paralelism: {}}", "paralelism")):
        path = tmp_path / "auditor.yaml"
        path.write_text(text + "\n" + bad + "\n")
        with pytest.raises(ConfigError, match=named):
            load_config(path)
    path.write_text(text + "\ncollection: {parallelism: {logging: 4}, timeout_seconds: 30}\n")
    config = load_config(path)
    assert config.collection.workers("logging") == 4 and config.collection.timeout_seconds == 30
    assert config.collection.workers("sqladmin") == 8
    assert config.collection.workers("github") == 1 and config.collection.workers("git") == 1


def test_each_api_runs_at_most_its_parallelism_and_github_in_order(sample_dir, tmp_path):
    config = load_config(sample_dir / "auditor.yaml")
    settings = config.collection.model_copy(update={"parallelism": {"default": 8, "sqladmin": 3, "logging": 2, "github": 1}})
    lock = threading.Lock()
    running: dict[str, int] = {}
    peak: dict[str, int] = {}
    order: list[str] = []

    def perform(api: str, name: str):
        def run():
            with lock:
                running[api] = running.get(api, 0) + 1
                peak[api] = max(peak.get(api, 0), running[api])
                if api in ("github", "git"):
                    order.append(name)
            time.sleep(0.02)
            with lock:
                running[api] -= 1
        return run

    calls = [Call(api, "m", {"n": i}, "s", perform(api, f"{api}{i}"))
             for i in range(12) for api in ("sqladmin", "logging", "github", "git")]
    locker = LockerWriter(tmp_path / "evidence", config_snapshot={}, identity={})
    records = Scheduler(locker, settings=settings).run(calls)
    assert len(records) == 48
    assert 1 < peak["sqladmin"] <= 3 and 1 < peak["logging"] <= 2
    # git shares GitHub's one-worker lane: never two at once, in the order they were queued
    assert peak["github"] == 1 and peak["git"] == 1
    assert order == [f"{api}{i}" for i in range(12) for api in ("github", "git")]


def test_follow_ups_run_once_each_and_only_after_success(tmp_path):
    ran: list[str] = []

    def fail():
        raise RuntimeError("boom")

    calls = [
        Call("sqladmin", "a", {"p": 1}, "s", lambda: ran.append("a") or 2,
             follow=lambda n: [Call("logging", "b", {"i": i % 2}, "s", lambda: ran.append("b")) for i in range(n * 2)]),
        Call("sqladmin", "c", {}, "s", fail, follow=lambda _r: [Call("logging", "never", {}, "s", lambda: ran.append("x"))]),
    ]
    locker = LockerWriter(tmp_path / "evidence", config_snapshot={}, identity={})
    records = Scheduler(locker).run(calls)
    assert sorted(ran) == ["a", "b", "b"]  # four follow-ups, two distinct: each sent once
    assert {r.method: r.outcome for r in records} == {"a": "ok", "b": "ok", "c": "error"}


def test_one_http_object_per_worker_thread(sample_dir, tmp_path):
    config = load_config(sample_dir / "auditor.yaml")
    clients = GoogleClients(config.gcp, AnonymousCredentials())
    seen: list[tuple[int, int]] = []
    lock = threading.Lock()

    def perform():
        http = clients.service("sqladmin")._http
        time.sleep(0.005)
        with lock:
            seen.append((threading.get_ident(), id(http)))

    settings = config.collection.model_copy(update={"parallelism": {**config.collection.parallelism, "sqladmin": 4}})
    locker = LockerWriter(tmp_path / "evidence", config_snapshot={}, identity={})
    calls = [Call("sqladmin", "instances.list", {"project": f"p{i}"}, f"projects/p{i}", perform) for i in range(40)]
    Scheduler(locker, settings=settings).run(calls)
    threads_of_http: dict[int, set[int]] = {}
    for thread, http in seen:
        threads_of_http.setdefault(http, set()).add(thread)
    assert len(seen) == 40
    assert all(len(threads) == 1 for threads in threads_of_http.values())  # httplib2 is not thread-safe
    assert 1 < len({t for t, _ in seen}) <= 4


@pytest.fixture(scope="module")
def spine(sample_dir):
    with Simulator(spine_scenario(sample_dir), port=0) as sim:
        yield freeze_clock(sim)


def test_retry_after_is_honoured_and_each_failure_is_evidence(sample_dir, spine, tmp_path):
    clock = FakeClock()
    route = "GET /v1/projects/{project}/instances"
    fault = spine.faults.add(Fault(kind="status", status=429, retry_after=7, times=2, api="sqladmin",
                                   route=route, project="bks-prod"))
    path = ("GET", "/v1/projects/bks-prod/instances")
    before = spine.faults.journal.count(path)
    try:
        with retry.overridden(sleep=clock.sleep, clock=clock):
            collection = collect(spine_config(sample_dir).for_simulator(spine), tmp_path / "evidence")
        hits = spine.faults.hits(fault)
    finally:
        spine.faults.clear()
    served = spine.faults.journal.count(path) - before  # every request the server received
    (call,) = [c for c in collection.manifest["calls"]
               if c["method"] == "instances.list" and c["scope"] == "projects/bks-prod"]
    statuses = [status for _id, _item, status in Locker(collection.evidence_dir).pages(call)]
    assert call["outcome"] == "ok" and statuses == [429, 429, 200]
    assert clock.sleeps == [7, 7] and call["retries"] == 2 and hits == 3  # the fault saw all three, acted on two
    assert served == call["requests"] == 3  # sent again only after it failed
    assert collection.manifest["counts"]["retries"] == 2 and collection.complete


def test_parallel_collection_equals_serial(sample_dir, spine, tmp_path):
    config = spine_config(sample_dir).for_simulator(spine)
    parallel = collect(config, tmp_path / "parallel" / "evidence")
    serial = collect(config, tmp_path / "serial" / "evidence", serial=True)
    assert parallel.complete and serial.complete
    # the same calls with the same pages (ids are derived from the call and the page's bytes)
    assert [(c["id"], c["items"]) for c in parallel.manifest["calls"]] == \
           [(c["id"], c["items"]) for c in serial.manifest["calls"]]
    counts = parallel.manifest["counts"]
    assert counts["calls_by_api"] == serial.manifest["counts"]["calls_by_api"] and counts["retries"] == 0
    assert sum(counts["calls_by_api"].values()) == counts["calls"] and counts["wall_seconds"] > 0
    assert evaluate([parallel.evidence_dir])["controls"] == evaluate([serial.evidence_dir])["controls"]


def test_a_swallowed_ctrl_c_still_stops_the_run_through_the_flag(tmp_path):
    """The SIGINT handler sets the flag too: a KeyboardInterrupt lost inside a finalizer cannot let the run go on."""
    stop = threading.Event()
    started: list[int] = []

    def perform(i: int):
        def run():
            started.append(i)
            if i == 0:
                stop.set()  # as the handler does; no exception reaches the scheduler
            time.sleep(0.05)
        return run

    calls = [Call("sqladmin", "m", {"i": i}, "s", perform(i)) for i in range(40)]
    settings = load_config(Path(__file__).parent.parent / "samples/bangkok-solutions/auditor.yaml").collection
    settings = settings.model_copy(update={"parallelism": {**settings.parallelism, "sqladmin": 1}})
    locker = LockerWriter(tmp_path / "evidence", config_snapshot={}, identity={})
    with pytest.raises(KeyboardInterrupt):
        Scheduler(locker, settings=settings, stop=stop).run(calls)
    assert len(started) < 40  # queued calls never started
    manifest = locker.close(interrupted=True)
    assert manifest["interrupted"] is True
