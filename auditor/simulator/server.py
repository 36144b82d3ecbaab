"""The simulator's HTTP server: strict request handling around the route registry.

Strictness lives here, once, for every API: unknown paths (404), unknown or repeated query
parameters (400), the standard ``alt``/``fields`` parameters, the ``Date`` header from the
scenario clock, JSON error bodies, and per-route request counting for tests.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import shutil
import socket
import ssl
import tempfile
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from auditor.simulator import (git_http, github_mount, routes_backupdr, routes_cloudasset, routes_kms, routes_logging,
                               routes_monitoring, routes_sqladmin, routes_sqlbackups, routes_sqlops, routes_storage)
from auditor.simulator import routes_resourcemanager
from auditor.simulator.apierror import ApiError, invalid_argument
from auditor.simulator.faults import Answer, FaultInjector
from auditor.simulator.fieldmask import apply_mask, parse_fields
from auditor.simulator.quota import Quota
from auditor.simulator.routing import STANDARD_PARAMS, Registry, Request, Route
from auditor.simulator.scenario import Scenario, load_scenario
from auditor.simulator.tls import Certificates, make_certificates

DEFAULT_ROUTES: list[Route] = [*routes_sqladmin.ROUTES, *routes_logging.ROUTES,
                               *routes_kms.ROUTES, *routes_monitoring.ROUTES, *routes_sqlops.ROUTES, *routes_cloudasset.ROUTES, *routes_storage.ROUTES,
                               *routes_sqlbackups.ROUTES, *routes_backupdr.ROUTES]
MAX_BODY = 1 << 20
MAX_GIT_BODY = 64 << 20  # a git fetch's negotiation or an LFS batch request
TLS_HANDSHAKE_TIMEOUT = 10.0
DEFAULT_ROUTES.extend(routes_resourcemanager.ROUTES)  # projects.testIamPermissions, for `auditor validate --online`


class _Server(ThreadingHTTPServer):
    """A listen backlog deep enough for a parallel collector: with the default of 5, connections
    beyond it wait for a SYN retransmit (a second) and a short client timeout fires.

    With TLS, each accepted connection is wrapped and its handshake done in the connection's own
    thread (not in the accepting loop, where one silent client would stall every other)."""

    request_queue_size = 1024
    daemon_threads = True
    tls_context: ssl.SSLContext | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._open: set[ssl.SSLSocket] = set()
        self._open_lock = threading.Lock()

    def finish_request(self, request, client_address) -> None:
        if self.tls_context is None:
            super().finish_request(request, client_address)
            return
        request.settimeout(TLS_HANDSHAKE_TIMEOUT)
        try:
            request = self.tls_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return  # a client that does not trust the CA, or speaks plain HTTP: nothing to answer
        request.settimeout(None)
        with self._open_lock:
            self._open.add(request)
        try:
            super().finish_request(request, client_address)
        except (ssl.SSLError, OSError):
            pass  # the client went away mid-connection
        finally:
            with self._open_lock:
                self._open.discard(request)
            request.close()

    def close_connections(self) -> None:
        """End kept-alive TLS connections, so no handler thread is still inside OpenSSL when the process exits."""
        with self._open_lock:
            live = list(self._open)
        for sock in live:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class Simulator:
    """Serve a scenario on 127.0.0.1. Use as a context manager, or start()/stop().

    ``stats`` counts requests per (api, "METHOD /template") that matched a route, whatever
    their outcome (403s included), so tests can assert how many calls a collector made.
    """

    def __init__(self, scenario: Scenario | str | Path, port: int = 0, host: str = "127.0.0.1",
                 routes: list[Route] | None = None, now: dt.datetime | None = None, latency: float = 0.0,
                 quota: Quota | None = None, tls: bool = False):
        self.scenario = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
        if latency < 0:
            raise ValueError("latency must be zero or more seconds")
        self.latency = latency  # seconds added to every answer, as a remote API's round trip would
        self.quota = Quota.google_defaults() if quota is None else quota  # Cloud Logging's read quota...
        if now is not None:  # serve the scenario as it stood at another moment (e.g. each day of a quarter)
            self.set_clock(now)
        self.registry = Registry(DEFAULT_ROUTES if routes is None else routes)
        self.stats: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()
        self._host, self._port = host, port
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._t0 = time.monotonic()
        self.github: github_mount.GithubApi | None = None  # the GitHub REST mount, built at start()
        self.faults = FaultInjector(list(self.scenario.faults))
        self.tls = tls  # HTTPS with a CA made at start (ca_file); clients trust it explicitly
        self.certificates: Certificates | None = None
        self._tls_dir: Path | None = None

    # -- clock -----------------------------------------------------------------------------
    def set_clock(self, now: dt.datetime) -> None:
        """Move the scenario clock (``now:``) to another instant, e.g. the next day of a quarter."""
        if now.tzinfo is None:
            raise ValueError("the scenario clock needs a timezone-aware datetime")
        self.scenario = self.scenario.model_copy(update={"now": now.astimezone(dt.timezone.utc)})
        self._t0 = time.monotonic()
        world = self.github.world if getattr(self, "github", None) is not None else None
        if hasattr(world, "set_clock"):  # GitHub as it stood then; nightly backups rewound to their last fetch
            world.set_clock(self.now)

    def now(self) -> dt.datetime:
        """The scenario clock: ``now:`` plus real seconds elapsed since start()."""
        return self.scenario.now + dt.timedelta(seconds=time.monotonic() - self._t0)

    # -- lifecycle -------------------------------------------------------------------------
    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("simulator not started")
        host, port = self._httpd.server_address[:2]
        return f"{'https' if self.tls else 'http'}://{host}:{port}"

    @property
    def ca_file(self) -> Path | None:
        """The CA certificate to trust with `tls=True` (REQUESTS_CA_BUNDLE, GIT_SSL_CAINFO, SSL_CERT_FILE)."""
        return self.certificates.ca_file if self.certificates else None

    def start(self) -> "Simulator":
        if self._httpd is not None:
            return self
        self.github = github_mount.start(self)
        if self.github is not None and hasattr(self.github.world, "set_clock"):
            self.github.world.set_clock(self.now)
        handler = type("SimHandler", (_Handler,), {"sim": self})
        self._httpd = _Server((self._host, self._port), handler)
        if self.tls:
            self._tls_dir = Path(tempfile.mkdtemp(prefix="auditor-sim-tls-"))
            self.certificates = make_certificates(self._tls_dir, hosts=(self._host, "localhost"))
            self._httpd.tls_context = self.certificates.server_context()
        self._t0 = time.monotonic()
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="simulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.close_connections()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = self._thread = None
        self.github = github_mount.stop(self.github)
        if self._tls_dir is not None:
            shutil.rmtree(self._tls_dir, ignore_errors=True)
            self._tls_dir = self.certificates = None

    @property
    def github_backup_root(self) -> Path | None:
        """The local backup folder the simulator made for the scenario's repositories (None without GitHub)."""
        return self.github.world.backup_root if self.github else None

    def serve_forever(self) -> None:
        """Block serving (for ``auditor simulate``); Ctrl-C to stop."""
        self.start()
        try:
            while self._thread is not None and self._thread.is_alive():
                self._thread.join(timeout=0.5)
        finally:
            self.stop()

    def __enter__(self) -> "Simulator":
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def count(self, api: str, method: str, template: str) -> int:
        with self._lock:
            return self.stats[(api, f"{method} {template}")]

    def _record(self, route: Route) -> None:
        with self._lock:
            self.stats[(route.api, f"{route.method} {route.template}")] += 1


class _Handler(BaseHTTPRequestHandler):
    sim: Simulator
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are written separately: avoid a 40 ms delayed-ACK stall per response
    server_version = "auditor-simulator"
    _compact = False  # prettyPrint=false seen on the request being answered

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet by default
        pass

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def do_HEAD(self) -> None:
        self._serve("HEAD")

    def _serve(self, method: str) -> None:
        self._compact = False
        if self.sim.latency:
            time.sleep(self.sim.latency)  # in this connection's own thread: concurrent requests overlap
        try:
            body_bytes = self._read_body()
        except ApiError as exc:
            self._send(Answer(exc.code, exc.body(), exc.headers))
            return
        self.sim.faults.serve(self, method, self.path, body_bytes)  # normal answer unless a fault matches

    def _answer(self, method: str, path: str, body_bytes: bytes) -> Answer:
        if self.sim.github is not None and git_http.serves(path):
            parts = urlsplit(path)
            with self.sim._lock:  # stats key ("git", "GET /info/refs"), ("git", "POST /git-upload-pack"), ...
                self.sim.stats[("git", f"{method} {git_http.endpoint(parts.path)}")] += 1
            status, headers, raw = git_http.handle(self.sim.github.world, method, parts.path, parts.query, self.headers,
                                                   body_bytes, self.sim.url)
            return Answer(status, None, headers, raw=raw)
        if self.sim.github is not None and github_mount.serves(path):
            status, headers, payload = self.sim.github.handle(method, urlsplit(path).path, urlsplit(path).query,
                                                              self.headers, self.sim.url)
            return Answer(status, payload, headers)
        now = self.sim.now()
        try:
            payload = self._dispatch(method, path, body_bytes, now)
            if isinstance(payload, bytes):  # alt=media: an object's bytes, as stored
                return Answer(200, None, {}, raw=payload)
            return Answer(200, payload)
        except ApiError as exc:
            return Answer(exc.code, exc.body(), exc.headers)
        except Exception as exc:  # a simulator bug must still look like a server error, not hang
            return Answer(500, ApiError(500, f"simulator internal error: {exc!r}").body())

    def _send(self, answer: Answer) -> None:
        if answer.raw is not None:
            data = answer.raw
        elif self._compact:  # prettyPrint=false: the C encoder, several times faster than indenting
            data = json.dumps(answer.payload, separators=(",", ":")).encode()
        else:  # Google's default (prettyPrint=true)
            data = json.dumps(answer.payload, indent=2).encode() + b"\n"
        try:
            self.send_response(answer.status)
            if "Content-Type" not in answer.headers:
                self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Vary", "Origin, X-Origin, Referer")
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
        except OSError:  # the client gave up (a timeout fault): nothing left to answer
            self.close_connection = True

    def date_time_string(self, timestamp: float | None = None) -> str:
        # BaseHTTPRequestHandler.send_response() adds Date from here: serve the scenario clock.
        return email.utils.formatdate(self.sim.now().timestamp(), usegmt=True)

    def _read_body(self) -> bytes:
        limit = MAX_GIT_BODY if git_http.serves(self.path) else MAX_BODY
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():  # git sends large negotiations chunked
            chunks, total = [], 0
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                total += size
                if total > limit:
                    self.close_connection = True
                    raise invalid_argument("Request body too large.")
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        if length > limit:
            raise invalid_argument("Request body too large.")
        return self.rfile.read(length) if length else b""

    def _dispatch(self, method: str, path: str, body_bytes: bytes, now: dt.datetime) -> Any:
        parts = urlsplit(path)
        route, params = self.sim.registry.resolve(method, parts.path)
        self.sim._record(route)
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        names = [k for k, _ in pairs]
        for name in names:
            if name not in STANDARD_PARAMS and name not in route.query:
                raise invalid_argument(f"Invalid JSON payload received. Unknown name \"{name}\": "
                                       "Cannot bind query parameter. Field '%s' could not be found in request "
                                       "message." % name)
            if names.count(name) > 1 and name not in route.repeated:
                raise invalid_argument(f"Query parameter {name!r} given more than once.")
        query = dict(pairs)
        self._compact = query.get("prettyPrint", "true").lower() == "false"
        media = route.media and query.get("alt") == "media"
        if query.get("alt", "json") != "json" and not media:
            raise invalid_argument(f"Unsupported alt={query['alt']!r}; only json is served.")
        mask = parse_fields(query["fields"]) if query.get("fields") else None
        body = None
        if body_bytes:
            try:
                body = json.loads(body_bytes)
            except ValueError:
                raise invalid_argument("Invalid JSON payload received.") from None
        req = Request(scenario=self.sim.scenario, method=method, path=parts.path, params=params,
                      query={k: v for k, v in query.items() if k not in STANDARD_PARAMS}, body=body, now=now,
                      base_url=self.sim.url, multi={n: [v for k, v in pairs if k == n] for n in route.repeated}, media=media)
        self.sim.quota.admit(route, req)
        return apply_mask(route.handler(req), mask)
