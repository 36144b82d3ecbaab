"""The auditor's configuration (auditor.yaml), validated strictly so a typo never narrows an audit.

Unknown keys are errors; every error names the file, the key path, the line and the bad value.
Paths inside the file (inventory, waivers, credentials, backup root) are resolved against the
file's own folder, so a config can be run from anywhere.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator, model_validator

from auditor import reading
from auditor.errors import ConfigError

GCP_APIS = ("sqladmin", "storage", "cloudasset", "cloudkms", "monitoring", "logging", "cloudresourcemanager", "backupdr")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([hdw])\s*$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")


#: Longest duration accepted anywhere (a policy's interval, a review cycle): beyond it date arithmetic
#: overflows (`99999999999999d`) and no policy means it.
MAX_DURATION = timedelta(days=3660)
#: Dates a period may use: anything else is a typo (0001-01-01) and breaks day-by-day evaluation.
EARLIEST_DAY, LATEST_DAY = date(1970, 1, 1), date(2199, 12, 31)
MAX_PERIOD_DAYS = 3660


def parse_duration(value: Any) -> timedelta:
    """Durations are written like '24h', '30d' or '2w'; a bare number means hours. Between 0 and
    MAX_DURATION: infinite, NaN and overflowing values are errors naming the value."""
    duration = _parse_duration(value)
    if not timedelta(0) <= duration <= MAX_DURATION:
        raise ValueError(f"{value!r} is outside 0 to {MAX_DURATION.days} days")
    return duration


def _parse_duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not -1e7 < value < 1e7:  # also NaN and .inf: no overflow below
            raise ValueError(f"{value!r} is outside 0 to {MAX_DURATION.days} days")
        return timedelta(hours=value)
    if isinstance(value, str) and value.startswith("P"):  # ISO 8601, as stored in a locker's config snapshot
        try:
            return TypeAdapter(timedelta).validate_python(value)
        except ValidationError as err:
            raise ValueError(f"{value!r} is not an ISO 8601 duration") from err
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError(f"{value!r} is not a duration (write e.g. 24h, 30d, 2w)")
    amount, unit = float(match.group(1)), match.group(2)
    if amount > 1e7:
        raise ValueError(f"{value!r} is outside 0 to {MAX_DURATION.days} days")
    return timedelta(hours=amount) if unit == "h" else timedelta(days=amount * (7 if unit == "w" else 1))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class PeriodConfig(_Strict):
    start: date | None = None
    end: date | None = None
    quarter: str | None = None
    timezone: str = "UTC"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise ValueError(f"unknown time zone {value!r}") from err
        return value

    @field_validator("quarter")
    @classmethod
    def _quarter_form(cls, value: str | None) -> str | None:
        if value is not None and not _QUARTER.match(value):
            raise ValueError(f"{value!r} is not a quarter (write e.g. 2026-Q3)")
        return value

    @model_validator(mode="after")
    def _one_form(self) -> "PeriodConfig":
        if self.quarter and (self.start or self.end):
            raise ValueError("give either quarter or start/end, not both")
        if not self.quarter and not (self.start and self.end):
            raise ValueError("give quarter (e.g. 2026-Q3) or both start and end")
        if self.start and self.end and self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        first, last = self.bounds()
        if first < EARLIEST_DAY or last > LATEST_DAY:
            raise ValueError(f"the period {first} to {last} is outside {EARLIEST_DAY} to {LATEST_DAY}")
        if (last - first).days >= MAX_PERIOD_DAYS:
            raise ValueError(f"the period {first} to {last} is longer than {MAX_PERIOD_DAYS} days")
        return self

    def bounds(self) -> tuple[date, date]:
        """Inclusive first and last day of the period."""
        if self.quarter:
            match = _QUARTER.match(self.quarter)
            assert match is not None
            year, q = int(match.group(1)), int(match.group(2))
            first = date(year, 3 * q - 2, 1)
            last = (date(year + 1, 1, 1) if q == 4 else date(year, 3 * q + 1, 1)) - timedelta(days=1)
            return first, last
        assert self.start and self.end
        return self.start, self.end


class Endpoints(_Strict):
    """Root URLs (scheme, host, port) per API; the tool appends each API's own service path."""

    sqladmin: str | None = None
    storage: str | None = None
    cloudasset: str | None = None
    cloudkms: str | None = None
    monitoring: str | None = None
    logging: str | None = None
    cloudresourcemanager: str | None = None  # projects.testIamPermissions, by `collect` and `auditor validate --online`
    backupdr: str | None = None

    @field_validator(*GCP_APIS)
    @classmethod
    def _root_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{value!r} is not a root URL (write e.g. https://sqladmin.example.com)")
        if parts.path not in ("", "/") or parts.query:
            raise ValueError(f"{value!r} has a path or query; give only scheme, host and port")
        return value.rstrip("/")


class GcpConfig(_Strict):
    organization: str | None = None
    folders: list[str] = Field(default_factory=list)
    projects: list[str] = Field(default_factory=list)
    credentials: str = "application-default"
    endpoints: Endpoints = Field(default_factory=Endpoints)
    monitoring_project: str | None = None

    @field_validator("organization")
    @classmethod
    def _org_number(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = str(value).removeprefix("organizations/")
        if not value.isdigit():
            raise ValueError(f"{value!r} is not an organisation number")
        return value


class GithubBackupConfig(_Strict):
    root: Path | None = None
    layout: Literal["mirror", "python-github-backup", "ghorg"] = "mirror"


class GithubAppConfig(_Strict):
    """A GitHub App installation instead of a personal token (higher rate limits, no person's token in CI).

    The private key is read from a file (relative to the config) or from an environment variable,
    never from the config itself; PyGithub exchanges it for an installation token.
    """

    app_id: str = Field(min_length=1)  # the App ID (or client ID) shown on the App's settings page
    installation_id: int = Field(gt=0)
    private_key_file: Path | None = None
    private_key_env: str | None = None

    @field_validator("app_id", mode="before")
    @classmethod
    def _as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @model_validator(mode="after")
    def _one_key(self) -> "GithubAppConfig":
        if (self.private_key_file is None) == (self.private_key_env is None):
            raise ValueError("give exactly one of private_key_file (a PEM file) or private_key_env (a variable holding it)")
        return self


class GithubConfig(_Strict):
    organizations: list[str] = Field(default_factory=list)
    base_url: str = "https://api.github.com"
    token_env: str = "GITHUB_TOKEN"
    backup: GithubBackupConfig = Field(default_factory=GithubBackupConfig)
    seconds_between_requests: float = Field(default=0.25, ge=0, le=60)  # GitHub asks for serial, paced requests
    app: GithubAppConfig | None = None  # authenticate as a GitHub App installation instead of token_env
    host: str | None = None  # the host repositories are named by (default: github.com, or base_url's host for GHE)

    def repository_host(self) -> str:
        """`github.com/ORG/REPO` on GitHub.com; `HOST/ORG/REPO` on GitHub Enterprise Server (the API's host)."""
        if self.host:
            return self.host
        parts = urlsplit(self.base_url)
        return "github.com" if parts.hostname == "api.github.com" else parts.netloc

    @field_validator("base_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{value!r} is not a URL with a scheme and host (write https://api.github.com, or "
                             "https://HOST/api/v3 for GitHub Enterprise Server)")
        if parts.query or parts.fragment:
            raise ValueError(f"{value!r} has a query or fragment; give the REST API's root URL only")
        return value.rstrip("/")


#: Concurrent requests per API. GitHub asks integrators to send requests serially per token, so its
#: lane (which also runs the local git inspections that depend on its answers) has one worker.
DEFAULT_PARALLELISM = {"default": 8, "github": 1}
PARALLELISM_KEYS = ("default", *GCP_APIS, "github")


class CollectionConfig(_Strict):
    """How collection runs: concurrent requests per API, per-request timeout, retries of failed requests."""

    parallelism: dict[str, int] = Field(default_factory=lambda: dict(DEFAULT_PARALLELISM))
    timeout_seconds: float = Field(default=60, gt=0, le=600)
    retries: int = Field(default=5, ge=0, le=10)
    max_retry_wait_seconds: float = Field(default=300, gt=0, le=3600)

    @field_validator("parallelism", mode="before")
    @classmethod
    def _known_apis(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        unknown = sorted(str(k) for k in value if k not in PARALLELISM_KEYS)
        if unknown:
            raise ValueError(f"unknown API {unknown[0]!r} (one of {', '.join(PARALLELISM_KEYS)})")
        return {**DEFAULT_PARALLELISM, **value}

    @field_validator("parallelism")
    @classmethod
    def _bounded(cls, value: dict[str, int]) -> dict[str, int]:
        for api, workers in value.items():
            if not 1 <= workers <= 64:
                raise ValueError(f"{api}: parallelism must be between 1 and 64 (got {workers})")
        if value.get("github", 1) != 1:
            raise ValueError("github: GitHub asks integrators to make requests serially per token; it must be 1")
        return value

    def workers(self, api: str) -> int:
        """Worker threads of an API's lane (git shares GitHub's lane: its inspections follow GitHub's answers)."""
        lane = "github" if api in ("github", "git") else api
        return self.parallelism.get(lane, self.parallelism["default"])


class ClassificationPolicy(_Strict):
    """What the Data Classification Policy demands of one class of data."""

    backup_interval: timedelta = timedelta(hours=24)
    retention_min_days: int = Field(default=7, ge=0, le=36600)
    retention_max_days: int | None = Field(default=None, ge=1, le=36600)
    cross_region: bool = True
    encryption: Literal["cmek", "google-managed", "any"] = "any"
    point_in_time_recovery: bool = False
    restore_test_interval: timedelta | None = None
    final_backup_days: int | None = Field(default=None, ge=1, le=36600)  # some backup must outlive the instance's deletion this long
    immutable: bool = False  # backups must sit in a locked vault with enforced retention (Backup and DR)

    @field_validator("backup_interval", "restore_test_interval", mode="before")
    @classmethod
    def _durations(cls, value: Any) -> timedelta | None:
        return None if value is None else parse_duration(value)

    @model_validator(mode="after")
    def _min_below_max(self) -> "ClassificationPolicy":
        if self.retention_max_days is not None and self.retention_max_days < self.retention_min_days:
            raise ValueError("retention_max_days is below retention_min_days")
        return self


class SourceCodePolicy(_Strict):
    backup_interval: timedelta = timedelta(hours=24)
    include_archived: bool = True
    include_forks: bool = False
    integrity_sample: int = Field(default=5, ge=0, le=100_000)  # repositories fsck'ed and restore-drilled per run
    integrity_seed: str | None = None  # default "<org>:<day of collection>": reproducible, recorded

    @field_validator("backup_interval", mode="before")
    @classmethod
    def _durations(cls, value: Any) -> timedelta:
        return parse_duration(value)


class PolicyPromise(_Strict):
    """One sentence of the written policy and how it is tested: by checks, by manual evidence, or both.

    `note` says plainly where the policy claims something the platform does not do by itself.
    """

    text: str = Field(min_length=1)
    section: str | None = None
    checks: list[str] = Field(default_factory=list)
    manual: str | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _tested_somehow(self) -> "PolicyPromise":
        if not self.checks and not self.manual:
            raise ValueError("a promise needs the check ids that test it, or `manual: reason`")
        return self


class Clause(_Strict):
    """A check's clause: the company's own words, given as text or as lines of `policy.document`.

    At load time a `line`/`lines` reference is resolved to the document's text (so the locker's
    config snapshot carries the quote itself); `source` then says where it was quoted from."""

    text: str | None = Field(default=None, min_length=1)
    line: int | None = Field(default=None, ge=1)
    lines: tuple[int, int] | None = None
    source: str | None = None

    @model_validator(mode="after")
    def _one_form(self) -> "Clause":
        given = [n for n in ("text", "line", "lines") if getattr(self, n) is not None]
        if not given:
            raise ValueError("give the clause as text, or as `line: N` / `lines: [FIRST, LAST]` of policy.document")
        if self.line is not None and self.lines is not None:
            raise ValueError("give either line or lines, not both")
        if self.lines is not None and self.lines[1] < self.lines[0]:
            raise ValueError(f"lines {list(self.lines)}: the last line is before the first")
        return self


class PolicyConfig(_Strict):
    # "a separate region in the same country": when set (an ISO 3166 code such as US), backups must also lie in this
    # country (checks.placement); unset, the source's own country is the one required
    country: str | None = None
    accept_multi_region: bool = False
    classification_label: str = "data-classification"
    # controls whose population the company declares empty (no GitHub, say): with nothing in scope they
    # end not_applicable, with this key as the reason, instead of inconclusive
    empty_populations: list[str] = Field(default_factory=list)
    default_classification: str | None = None
    inventory_review_interval: timedelta = timedelta(days=365)
    backup_window: timedelta = timedelta(hours=4)
    classifications: dict[str, ClassificationPolicy] = Field(default_factory=dict)  # required to audit Google Cloud
    clauses: dict[str, str | Clause] = Field(default_factory=dict)  # check id -> the company's own words
    document: Path | None = None  # the written policy (text), quoted by line in `clauses`
    source_code: SourceCodePolicy = Field(default_factory=SourceCodePolicy)
    promises: list[PolicyPromise] = Field(default_factory=list)  # every sentence of the policy, for the coverage matrix

    @field_validator("inventory_review_interval", "backup_window", mode="before")
    @classmethod
    def _durations(cls, value: Any) -> timedelta:
        return parse_duration(value)

    @field_validator("country", mode="before")
    @classmethod
    def _country(cls, value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z]{2}", value.strip()):
            raise ValueError(f"{value!r} is not a two-letter ISO 3166 country code (US, DE, JP...)")
        return value.strip().upper()

    @field_validator("empty_populations")
    @classmethod
    def _check_ids(cls, value: list[str]) -> list[str]:
        bad = [v for v in value if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", v)]
        if bad:
            raise ValueError(f"not a check id: {', '.join(map(repr, bad))}")
        return value

    @model_validator(mode="after")
    def _default_is_known(self) -> "PolicyConfig":
        if self.default_classification and self.default_classification not in self.classifications:
            raise ValueError(f"default_classification {self.default_classification!r} is not a classification")
        return self


class SamplingConfig(_Strict):
    """Auditor sample sizes by how often a control operates (the usual SOC 2 fieldwork table)."""

    daily: int = Field(default=25, ge=0, le=100_000)
    weekly: int = Field(default=5, ge=0, le=100_000)
    monthly: int = Field(default=2, ge=0, le=100_000)
    quarterly: int = Field(default=1, ge=0, le=100_000)
    annual: int = Field(default=1, ge=0, le=100_000)


class Config(_Strict):
    organization: str
    period: PeriodConfig
    gcp: GcpConfig = Field(default_factory=GcpConfig)
    github: GithubConfig | None = None
    collection: CollectionConfig = Field(default_factory=CollectionConfig)
    policy: PolicyConfig = Field(default_factory=PolicyConfig)
    inventory: Path | None = None
    # where the data map's past versions come from: `auto` reads its git history when the file lives in a
    # git repository (each commit is the version in force from its time); `none` reads only the file
    inventory_history: Literal["auto", "none"] = "auto"
    waivers: Path | None = None
    responses: Path | None = None
    sampling: SamplingConfig = Field(default_factory=SamplingConfig)
    source: Path | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _classified_when_auditing_google(self) -> "Config":
        # A source-code-only audit (github.organizations, no gcp scope) judges no data store, so it
        # needs no data classifications; auditing Google Cloud does.
        google = bool(self.gcp.projects or self.gcp.organization or self.gcp.folders)
        if google and not self.policy.classifications:
            raise ValueError("policy.classifications: at least one classification is required to audit Google Cloud "
                             "(a config with only github.organizations needs none)")
        return self

    def with_endpoints(self, root_url: str) -> "Config":
        """The same config with every GCP API pointed at one root URL (the simulator, a PSC endpoint)."""
        endpoints = Endpoints(**{api: root_url for api in GCP_APIS})
        # the simulator plays github.com, so its repositories keep github.com names
        github = self.github.model_copy(update={"base_url": f"{root_url}/api/v3", "host": self.github.host or "github.com"}) \
            if self.github else None
        return self.model_copy(update={"gcp": self.gcp.model_copy(update={"endpoints": endpoints}), "github": github})

    def for_simulator(self, sim: Any) -> "Config":
        """The config pointed at a running simulator: its endpoints, and the GitHub backup folder it made."""
        config = self.with_endpoints(sim.url)
        root = getattr(sim, "github_backup_root", None)
        if config.github is not None and root is not None:
            backup = config.github.backup.model_copy(update={"root": Path(root)})
            # pacing protects GitHub's servers; a simulator on 127.0.0.1 needs none
            github = config.github.model_copy(update={"backup": backup, "seconds_between_requests": 0})
            config = config.model_copy(update={"github": github})
        return config

    def snapshot(self) -> dict[str, Any]:
        """The configuration as stored in a locker: JSON-ready; secrets are never in it (tokens are env names)."""
        data = self.model_dump(mode="json", exclude={"source"})
        creds = data["gcp"]["credentials"]
        if creds not in ("application-default", "anonymous"):
            data["gcp"]["credentials"] = "service-account-key-file"
        return data


def _line_of(text: str, loc: tuple[Any, ...]) -> int | None:
    """Line number (1-based) of a key path in YAML text, so errors point at the spot."""
    mark = reading.yaml_marks(text).at(loc) if text else None
    return mark[0] if mark else None


_KEY_FIRST = re.compile(r"^([A-Za-z_][\w-]*(?:\.[\w-]+)*): ")


def _located(loc: tuple[Any, ...], msg: str, marks: reading.Marks) -> tuple[tuple[Any, ...], str]:
    """A validator that checks several keys at once reports where it sits (often the top level) and
    names the key in its message ("policy.classifications: at least one ..."): the key's own place."""
    match = _KEY_FIRST.match(msg)
    if match:
        deeper = tuple(loc) + tuple(match.group(1).split("."))
        if marks.known(deeper):
            return deeper, msg[match.end():]
    return loc, msg


def located(config: Any, err: ConfigError) -> ConfigError:
    """`err` ("gcp.credentials: ...", raised where only a config section is at hand) with the config
    file and line in front, when it names a key of the config file; otherwise `err` itself."""
    message = str(err)
    match = _KEY_FIRST.match(message)
    source = getattr(config, "source", None)
    if not match or source is None or type(err) is not ConfigError:
        return err
    try:
        text = reading.read_text(source, "config", error=ConfigError)
    except ConfigError:
        return err
    marks = reading.yaml_marks(text)
    loc = tuple(match.group(1).split("."))
    if not marks.known(loc[:1]):  # a key the file does not set (a default): the file alone
        return ConfigError(f"{source}: {message}")
    return ConfigError(f"{marks.where(source, loc)}: {message}{marks.column(loc)}")


def _short_repr(value: Any, limit: int = 200) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


def _keys_at(model: Any, loc: tuple[Any, ...]) -> list[str]:
    """The keys the model allows where `loc` points (for "did you mean"): walks fields, list items and dict values."""
    import types
    import typing

    def members(annotation: Any) -> list[Any]:
        if typing.get_origin(annotation) in (typing.Union, types.UnionType):
            return [a for a in typing.get_args(annotation) if a is not type(None)]
        return [annotation]

    current: list[Any] = [model]
    for key in loc:
        following: list[Any] = []
        for annotation in (m for c in current for m in members(c)):
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                if isinstance(key, str) and key in annotation.model_fields:
                    following.append(annotation.model_fields[key].annotation)
            elif typing.get_origin(annotation) is list and isinstance(key, int):
                following.append(typing.get_args(annotation)[0])
            elif typing.get_origin(annotation) is dict:
                following.append(typing.get_args(annotation)[1])
        current = following
    return sorted({name for c in current for m in members(c) if isinstance(m, type) and issubclass(m, BaseModel)
                   for name, field in m.model_fields.items() if not field.exclude})


def _model_named(title: str) -> Any:
    """The auditor's model a ValidationError came from (its title is the class name), for "did you mean"."""
    pending, seen = list(BaseModel.__subclasses__()), set()
    while pending:
        cls = pending.pop()
        if cls in seen:
            continue
        seen.add(cls)
        if cls.__name__ == title and cls.__module__.startswith("auditor"):
            return cls
        pending.extend(cls.__subclasses__())
    return None


def format_validation_error(path: Path, text: str, err: ValidationError, model: Any = None) -> str:
    """One line per error: `FILE:LINE: KEY: what is wrong (got VALUE)`, and ` (column N)` where the
    key does not start its line; lines and columns from the YAML text's node marks."""
    import difflib

    if model is None:
        model = _model_named(err.title)
    marks = reading.yaml_marks(text) if text else reading.NO_MARKS
    lines = []
    for item in err.errors():
        loc = tuple(p for p in item["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        loc, msg = _located(loc, item["msg"].removeprefix("Value error, "), marks)
        key = reading.key_path(loc)
        where = marks.where(path, loc)
        if item["type"] == "extra_forbidden":
            msg = "unknown key"
            if model is not None and loc:
                close = difflib.get_close_matches(str(loc[-1]), _keys_at(model, loc[:-1]), n=1, cutoff=0.6)
                if close:
                    msg += f" (did you mean {close[0]!r}?)"
        value = item.get("input")
        shown = "" if isinstance(value, (dict, list)) or item["type"] == "missing" else f" (got {_short_repr(value)})"
        lines.append(f"{where}: {key}: {msg}{shown}{marks.column(loc)}")
    return "invalid configuration:\n  " + "\n  ".join(lines)


def load_yaml(path: Path, what: str = "config") -> tuple[str, Any]:
    """Read a YAML file through the one reading path (size, encoding, depth, safe YAML); errors name
    the file and line."""
    return reading.read_yaml(path, what, error=ConfigError)


def load_config(path: str | Path) -> Config:
    path = Path(path)
    text, data = load_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of settings at the top level")
    try:
        config = Config.model_validate(data)
    except ValidationError as err:
        raise ConfigError(format_validation_error(path, text, err, Config)) from err
    base = path.resolve().parent
    updates: dict[str, Any] = {"source": path.resolve()}
    for key in ("inventory", "waivers", "responses"):
        value = getattr(config, key)
        if value is not None and not value.is_absolute():
            updates[key] = base / value
    creds = config.gcp.credentials
    if creds not in ("application-default", "anonymous") and not Path(creds).is_absolute():
        updates["gcp"] = config.gcp.model_copy(update={"credentials": str(base / creds)})
    if config.github and config.github.backup.root and not config.github.backup.root.is_absolute():
        backup = config.github.backup.model_copy(update={"root": base / config.github.backup.root})
        updates["github"] = config.github.model_copy(update={"backup": backup})
    app = config.github.app if config.github else None
    if app is not None and app.private_key_file is not None and not app.private_key_file.is_absolute():
        github = updates.get("github", config.github)
        updates["github"] = github.model_copy(update={"app": app.model_copy(update={"private_key_file": base / app.private_key_file})})
    config = config.model_copy(update=updates)
    return config.model_copy(update={"policy": resolve_clauses(config.policy, base, path, text)})


def _quotable(line: str) -> str:
    """A document line as quoted: surrounding blanks and a leading list bullet removed, nothing else."""
    text = line.strip()
    for bullet in ("\u2022", "\u25aa", "\u25cf", "-", "*"):
        if text.startswith(bullet + " "):
            return text[len(bullet):].strip()
    return text


def resolve_clauses(policy: PolicyConfig, base: Path, config_path: Path, text: str = "") -> PolicyConfig:
    """Quote `policy.clauses` from `policy.document`: `line`/`lines` become the document's text, and a
    clause given as text must appear in the document word for word (a paraphrase is refused). Errors
    name the config's line (from `text`, the config as read)."""

    def at(*loc: str) -> str:
        return reading.yaml_marks(text).where(config_path, loc) if text else str(config_path)

    if policy.document is None:
        refs = [cid for cid, c in policy.clauses.items() if isinstance(c, Clause) and c.text is None]
        if refs:
            raise ConfigError(f"{at('policy', 'clauses', refs[0])}: policy.clauses.{refs[0]}: quotes a line, "
                              "but policy.document is not set")
        return policy
    document = policy.document if policy.document.is_absolute() else base / policy.document
    try:
        text = reading.read_text(document, "policy document", error=ConfigError)
    except ConfigError as err:
        raise ConfigError(f"{at('policy', 'document')}: policy.document: cannot read {document}: {err}") from err
    lines = text.splitlines()
    flat = " ".join(" ".join(lines).split())
    resolved: dict[str, str | Clause] = {}
    for check_id, clause in policy.clauses.items():
        where = f"{at('policy', 'clauses', check_id)}: policy.clauses.{check_id}"
        if isinstance(clause, str) or clause.text is not None:
            quote = clause if isinstance(clause, str) else clause.text
            assert quote is not None
            if " ".join(quote.split()) not in flat:
                raise ConfigError(f"{where}: the text is not in {document.name} word for word (quote the policy, or give `line: N`)")
            number = next((i + 1 for i, ln in enumerate(lines) if " ".join(quote.split()) in " ".join(ln.split())), None)
            resolved[check_id] = Clause(text=quote, line=number, source=document.name)
            continue
        first, last = clause.lines if clause.lines else (clause.line, clause.line)
        assert first is not None and last is not None
        if last > len(lines):
            raise ConfigError(f"{where}: line {last} is past the end of {document.name} ({len(lines)} lines)")
        quote = " ".join(_quotable(ln) for ln in lines[first - 1:last] if ln.strip())
        if not quote:
            raise ConfigError(f"{where}: line {first} of {document.name} is blank")
        resolved[check_id] = Clause(text=quote, line=clause.line, lines=clause.lines, source=document.name)
    return policy.model_copy(update={"clauses": resolved, "document": document})


def clause_of(policy: PolicyConfig, check_id: str) -> Clause | None:
    """The configured clause of a check, or None: a built-in check carries no company's words."""
    clause = policy.clauses.get(check_id)
    if clause is None:
        return None
    return Clause(text=clause) if isinstance(clause, str) else clause


def config_from_snapshot(data: dict[str, Any]) -> Config:
    """Rebuild the Config stored in a locker (re-performance needs nothing but the locker)."""
    github = data.get("github") if isinstance(data, dict) else None
    if isinstance(github, dict) and "host" not in github:  # lockers from before github.host named every repository github.com/
        data = {**data, "github": {**github, "host": "github.com"}}
    try:
        return Config.model_validate(data)
    except ValidationError as err:
        raise ConfigError(format_validation_error(Path("evidence/manifest.json#config"), "", err)) from err
