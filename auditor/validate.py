"""`auditor validate`: every problem of a config and the files it names, at once, before any run.

Offline it reads the config, the declared data map, the waivers and the management responses, and
reports every error of each (file:line, key, value, "did you mean"), not only the first. Online it
also makes each collector's first call once (through the scheduler, into a throw-away locker) and
says, per API and scope, whether the API is enabled and the identity may read it, naming the
missing permission (auditor/permissions.py) or the service to enable.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.errors import AuditorError, ConfigError


@dataclass
class Report:
    errors: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)  # what was read and found valid
    missing: list[str] = field(default_factory=list)  # online: what the identity cannot do
    reachable: list[str] = field(default_factory=list)  # online: what answered

    @property
    def ok(self) -> bool:
        return not self.errors and not self.missing


def _lines(err: AuditorError) -> list[str]:
    """A loader's error may hold several lines under a heading ("invalid configuration:\\n  a\\n  b")."""
    text = str(err)
    head, _, rest = text.partition("\n")
    if rest and head.rstrip().endswith(":") and "  " in rest:
        return [line.strip() for line in rest.splitlines() if line.strip()]
    return [text]


def _raw_paths(config_path: Path) -> dict[str, Path]:
    """The files a config names, read leniently so they are checked even when the config itself is invalid."""
    from auditor.config import load_yaml

    try:
        _text, data = load_yaml(config_path)
    except ConfigError:
        return {}
    if not isinstance(data, dict):
        return {}
    base = config_path.resolve().parent
    found = {}
    for key in ("inventory", "waivers", "responses"):
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            path = Path(value)
            found[key] = path if path.is_absolute() else base / path
    return found


def validate_offline(config_path: Path) -> tuple[Report, Any]:
    """(report, config or None): every error of the config and of each file it names."""
    from auditor.config import load_config

    report = Report()
    config = None
    try:
        config = load_config(config_path)
        report.checked.append(f"config {config_path}")
    except ConfigError as err:
        report.errors.extend(_lines(err))
    paths = _raw_paths(config_path)
    if "inventory" in paths:
        from auditor.inventory import load_inventory

        try:
            _text, inventory = load_inventory(paths["inventory"])
            report.checked.append(f"data map {paths['inventory']} ({len(inventory.stores)} stores)")
            if config is not None and config.policy.classifications:
                _classifications(report, paths["inventory"], inventory, config)
        except ConfigError as err:
            report.errors.extend(_lines(err))
    if "waivers" in paths:
        from auditor.waivers import load_waivers

        try:
            _text, waivers = load_waivers(paths["waivers"])
            report.checked.append(f"waivers {paths['waivers']} ({len(waivers.entries)} waivers)")
        except ConfigError as err:
            report.errors.extend(_lines(err))
    if "responses" in paths:
        _responses(report, paths["responses"])
    return report, config


def _classifications(report: Report, path: Path, inventory: Any, config: Any) -> None:
    """A data-map classification the policy does not define is a typo until proven otherwise."""
    import difflib

    from auditor.config import _line_of

    known = list(config.policy.classifications)
    from auditor import reading

    try:
        text = reading.read_text(path, "inventory", error=ConfigError)
    except ConfigError:
        text = ""
    for index, store in enumerate(inventory.stores):
        name = getattr(store, "classification", None)
        if name and name not in known:
            line = _line_of(text, ("stores", index, "classification"))
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else f" (the policy defines {', '.join(known)})"
            report.errors.append(f"{path}{f':{line}' if line else ''}: stores.{index}.classification: "
                                 f"{name!r} is not one of policy.classifications{hint}")


def _responses(report: Report, path: Path) -> None:
    """Management responses (the `responses:` file): validated by their own loader when this build has one."""
    try:
        from auditor import responses as loader  # type: ignore[attr-defined]
    except ImportError:
        loader = None
    load = getattr(loader, "load_responses", None) or getattr(loader, "snapshot", None)  # snapshot reads and validates
    if load is None:
        report.checked.append(f"responses {path} (not validated: this build has no responses loader)")
        return
    try:
        load(path)
        report.checked.append(f"responses {path}")
    except ConfigError as err:
        report.errors.extend(_lines(err))


def validate_online(config: Any, report: Report) -> None:
    """Each collector's first call, once; per API and scope: answered, disabled or denied (and what to grant)."""
    from dataclasses import replace

    from auditor.collectors import CollectContext, plan
    from auditor.collectors.google import GoogleClients, load_credentials
    from auditor.evidence.locker import LockerWriter
    from auditor.period import Period
    from auditor.permissions import SERVICES, permissions_for
    from auditor.scheduler import Scheduler

    google = bool(config.gcp.projects or config.gcp.organization or config.gcp.folders)
    credentials, identity = load_credentials(config.gcp.credentials if google else "anonymous")
    ctx = CollectContext(config=config, period=Period.from_config(config.period), google=GoogleClients(config.gcp, credentials))
    def leaf(call: Any) -> Any:
        return replace(call, follow=None)

    def wanted(call: Any) -> bool:  # the permission tests run below, where their answers are read
        return call.api not in ("git", "inventory", "cloudresourcemanager")

    def first_wave(call: Any) -> Any:
        # discovery's follow-ups are the per-project calls of the projects it finds: keep them, one level deep
        if call.api == "cloudasset" and call.follow is not None:
            found = call.follow
            return replace(call, follow=lambda result: [leaf(c) for c in found(result) if wanted(c)])
        return leaf(call)

    calls = [first_wave(call) for call in plan(ctx) if wanted(call)]
    with tempfile.TemporaryDirectory(prefix="auditor-validate-") as folder:
        locker = LockerWriter(Path(folder) / "evidence", config_snapshot=config.snapshot(), identity={"gcp": identity})
        scheduler = Scheduler(locker, None, config.collection)
        records = scheduler.run(calls)
        projects = sorted({r.scope.removeprefix("projects/") for r in records if r.scope.startswith("projects/")})
        granted: dict[str, list[str]] = {}
        if google and projects:
            records = records + Scheduler(locker, None, config.collection).run(
                [_test_permissions(ctx.google, project, granted) for project in projects])
        locker.close()
    _permission_gaps(report, granted, identity)
    for record in sorted(records, key=lambda r: (r.api, r.scope, r.method)):
        where = f"{record.api} {record.method} {record.scope}"
        if record.outcome == "ok":
            report.reachable.append(where)
            continue
        error = record.error or {}
        kind, reason = error.get("kind"), error.get("reason")
        if kind == "service_disabled" and record.api in SERVICES:
            project = record.scope.removeprefix("projects/")
            report.missing.append(f"{where}: the API is disabled; `gcloud services enable {SERVICES[record.api]} "
                                  f"--project {project}`")
        elif kind == "permission_denied":
            needed = permissions_for(record.api, record.method)
            need = f"grant {', '.join(needed)} (`auditor roles` prints a role with all of them)" if needed else \
                "the GitHub token cannot read this"
            report.missing.append(f"{where}: {reason or 'permission denied'} for {identity}; {need}")
        else:
            report.missing.append(f"{where}: {kind} {reason or ''} {error.get('message') or ''}".rstrip())


def _test_permissions(clients: Any, project: str, granted: dict[str, list[str]]) -> Any:
    """Cloud Resource Manager's testIamPermissions for a project: which of the role's permissions the identity holds there."""
    from dataclasses import replace

    from auditor.collectors.iam import test_call

    call = test_call(clients, project)  # the very call `collect` makes

    def perform() -> None:
        granted[project] = call.perform()

    return replace(call, perform=perform)


def _permission_gaps(report: Report, granted: dict[str, list[str]], identity: str) -> None:
    from auditor.permissions import all_permissions

    wanted = all_permissions()
    for project, held in sorted(granted.items()):
        lacking = [p for p in wanted if p not in held]
        if lacking:
            report.missing.append(f"projects/{project}: {identity} lacks {', '.join(lacking)} (testIamPermissions)")
        else:
            report.reachable.append(f"projects/{project}: {identity} holds every permission of `auditor roles` (testIamPermissions)")
