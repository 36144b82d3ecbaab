"""restore-testing: the backups were actually restored, as often as each classification requires.

Beyond the written policy: the Backup Policy does not promise restore tests, but SOC 2 A1.3
(recovery plan testing) asks for them, and a backup never restored is a backup nobody knows works.
A restore test is a restore FROM A BACKUP, tied to the backup it used and the store it tests:
- Cloud SQL RESTORE_VOLUME operations ("restores an instance backup") finished (DONE) without error,
  into the store itself or into a scratch instance the data map names as its `restore_targets`; the
  operation's backupContext names the backup, its start and end give the time to restore;
- point-in-time clones: a `cloudsql.instances.clone` in the Admin Activity log whose request's
  cloneContext names a `pointInTime` (or MySQL `binLogCoordinates`) restored the store's backup and
  logs to that moment into a new instance; its first and last entries give the time to restore;
- Backup and DR restores of a vault's backup (the vault project's operations.list: verb "restore",
  target the backup, createTime to endTime the time to restore, response.targetResource the instance
  restored into) and restore verifications (a backup's verificationSummary SUCCEEDED), for ENHANCED tiers.
A clone without a point in time copies the live data, not a backup (operations.list does not say
which it was; the log's request does), so it is listed and not counted. A validation record (the data map's `restore_validations:`) for the same
store, day and backup is shown beside the restore; one whose result is `fail` makes it not count.
Rule: on every day of the period up to the evidence date, the most recent successful restore test
is at most the classification's `restore_test_interval` old, the interval in force that day: the one in
the configuration the newest locker made by that day stored (checks.days.config_segments), so a narrowed
interval judges the days from its first locker on and the finding names the key, the values and that
locker. A day whose stored configuration has no entry for the classification is unknown (what it
required cannot be known, so never kept); a day whose configuration sets no interval is not applicable
(no test was required then). The population changes over time: an instance created in the period is
not applicable before its creation day and owes its first test by its creation day plus the interval
(as if tested the day it was made); an instance deleted in the period (its FINAL backup's snapshot, or
earlier lockers' reads) is judged for the days it existed, with the restore tests made before the
deletion, and the days after are not applicable; one only the Admin Activity log shows is inconclusive
for its days (checks.common.deleted_unseen). A day no known test covers is unknown, not broken, when a
source that could show a test was not read.

The classification is the one in force each day (checks.class_days: the data map in force that day, else the
label that day, else the default), for listed and deleted instances alike, and whatever the restore's source
(RESTORE_VOLUME, point-in-time clone, Backup and DR restore or verification). A day whose class sets no
restore_test_interval is not applicable with that reason; a day whose class sets one is judged by the days since
the last restore test against it. So a store internal (no interval) until Aug 12 and restricted (90 days) from
then is not applicable Jul 1 .. Aug 11, and from Aug 12 the days since its last test count: a test older than 90
days breaks them, and the finding fails (not applicable days beside kept or broken ones never make the finding
not applicable). The day the class changed held both; the class without an interval required nothing, so the
day is judged under the one with an interval (checks.class_days.judge alone makes such a day unknown, the
classes disagreeing; but the class without an interval asked nothing of any part of the day, so the days since the
last test, against the other class's interval, decide it).
A day held under two classes that set intervals is kept only if kept under each, broken only if broken under
each, else unknown. A day whose class is unknown (the map in force did not parse; a label update logged without
its body before any read shows the labels again) is unknown, never judged by another day's class. The thresholds'
words name the class whose key it is (`policy.classifications.<class>.restore_test_interval`);
`expected.classification` stays the newest class, and `details.classifications` carries the classes when they
changed.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Callable

from auditor.period import day_ranges
from auditor.checks import days as daily
from auditor.checks.class_days import ClassDays, DayClass, class_days
from auditor.checks.common import deleted_instances, deleted_unseen, deletion_note, instances, replica_finding, sql_gaps, unverified
from auditor.checks_api import Check, CheckContext
from auditor.facts.known import Known, Unknown
from auditor.facts.model import SqlInstance
from auditor.results import FAIL, INCONCLUSIVE, NOT_APPLICABLE, PASS, Finding
from auditor.unverified import incomplete_data

ID = "restore-testing"
RESTORE_TYPES = ("RESTORE_VOLUME",)  # "restores an instance backup"
CLONE_TYPES = ("CLONE", "CREATE_CLONE")  # a copy of the live data (operations.list does not say whether at a point in time)


@dataclass(frozen=True)
class RestoreTest:
    """A restore from a backup, tied to the backup it used (where the evidence names it) and the store it tests."""

    kind: str  # RESTORE_VOLUME | PITR_CLONE | BACKUPDR_RESTORE | BACKUPDR_VERIFICATION
    when: datetime
    into: str | None  # the instance restored into (the store itself, or a scratch instance the data map names)
    backup: str | None  # the backup's id or name
    backup_taken: datetime | None
    minutes: int | None  # time to restore, from the operation's start and end
    record: Any  # the validation record (the data map's restore_validations), if one names it
    error: str | None
    evidence: tuple[str, ...] = ()




def uncovered_days(tests: list[date], days: list[date], interval_days: int) -> list[date]:
    """Days on which the latest test before or on that day is missing or older than the interval."""
    ordered = sorted(tests)
    out = []
    for day in days:
        found = bisect_right(ordered, day)  # the latest test on or before the day is the one before it
        latest = ordered[found - 1] if found else None
        if latest is None or (day - latest).days > interval_days:
            out.append(day)
    return out


def evaluate(facts: Any, ctx: CheckContext) -> list[Finding]:
    findings = sql_gaps(facts, ctx, ID, "restore tests")
    targets = _restore_targets(ctx)
    calendar = _Calendar(ctx)
    finals = deleted_instances(facts)  # deleted before the read, known by their FINAL backup's snapshot
    by_final = {i.resource for i in finals}
    for instance in instances(facts) + finals:  # deleted ones: for the days they existed
        if instance.is_replica:
            findings.append(replica_finding(ID, instance, "restore-test"))
        else:
            findings.append(_instance_finding(instance, facts, ctx, targets.get(instance.resource, []),
                                              instance.resource in by_final, calendar))
    findings += deleted_unseen(facts, ID, ctx, "restore-test")  # only the log shows them: their days are inconclusive
    return findings


def _restore_targets(ctx: CheckContext) -> dict[str, list[str]]:
    """{store: [scratch instances its restore tests restore into]}, from the data map."""
    if ctx.inventory is None:
        return {}
    return {s.resource: list(s.restore_targets) for s in ctx.inventory.stores if getattr(s, "restore_targets", None)}


def _tests(instance: SqlInstance, facts: Any, ctx: CheckContext, targets: list[str]) -> tuple[list[RestoreTest], list[RestoreTest], list[str], list[Unknown], list[datetime]]:
    """(good tests, failed tests, operations that are not restore tests, reads that are missing, and the clones
    operations.list shows at a time no complete audit-log query covers: whether each was made to a point in time,
    a restore test, is unknown, since only the log's request says so) of one store."""
    ops, unread = [], []
    for resource in [instance.resource, *targets]:
        read = facts.sql_operations.of(resource)
        if isinstance(read, Known):
            ops += [(o, resource) for o in read.items]
        else:
            unread.append(read)
    detail = facts.backupdr.of(instance.resource)
    if detail is not None and detail.missing:
        unread.append(Unknown(instance.resource, detail.missing))
    records = [v for v in (ctx.inventory.restore_validations if ctx.inventory is not None else []) if v.store == instance.resource]
    good, failed, ignored = [], [], []
    clones = facts.sql_clones.at(f"projects/{instance.project}")
    logged: list[Any] = []
    if isinstance(clones, Known):
        logged = [c for c in clones.items if c.instance == instance.resource and c.started and c.started <= ctx.as_of]
    else:
        unread.append(clones)
    for clone in logged:
        if not clone.to_point_in_time:
            ignored.append(f"clone of the live data on {clone.started:%Y-%m-%d}"
                           + (f" into {clone.destination.rsplit('/', 1)[-1]}" if clone.destination else ""))
            continue
        record = next((v for v in records if v.date == ctx.period.day_of(clone.started)), None)
        minutes = round((clone.ended - clone.started).total_seconds() / 60) if clone.ended else None
        test = RestoreTest(kind="PITR_CLONE", when=clone.started, into=clone.destination,
                           backup=(f"point in time {clone.point_in_time:%Y-%m-%d %H:%M} UTC" if clone.point_in_time
                                   else f"binary log position {clone.bin_log}"),
                           backup_taken=clone.point_in_time, minutes=minutes, record=record,
                           error=clone.error or (None if clone.ended else "the log does not show it finishing"),
                           evidence=tuple(clone.evidence))
        ok = clone.ended is not None and not clone.error and (record is None or record.result == "pass")
        (good if ok else failed).append(test)
    unlogged: list[datetime] = []
    for op, into in ops:
        if not op.started or op.started > ctx.as_of:
            continue
        if op.operation_type in CLONE_TYPES:
            if not any(c.started and abs((c.started - op.started).total_seconds()) <= 900 for c in logged):
                if facts.history.covers(instance.resource, op.started, op.ended or op.started):
                    ignored.append(f"{op.operation_type} on {op.started:%Y-%m-%d}")  # the log's entry words it otherwise
                elif op.status == "DONE" and not op.error:
                    unlogged.append(op.started)  # before (or outside) what the log read reaches: unknown which it was
            continue
        if op.operation_type not in RESTORE_TYPES:
            continue
        backup_id = getattr(op, "backup_id", None)
        record = next((v for v in records if v.date == ctx.period.day_of(op.started) and (backup_id is None or v.backup_id == backup_id)), None)
        minutes = round((op.ended - op.started).total_seconds() / 60) if op.ended else None
        test = RestoreTest(kind=op.operation_type, when=op.started, into=into, backup=backup_id, backup_taken=None,
                           minutes=minutes, record=record, error=op.error, evidence=tuple(op.evidence))
        ok = op.status == "DONE" and not op.error and (record is None or record.result == "pass")
        (good if ok else failed).append(test)
    if detail is not None and detail.restores_missing:
        unread.append(Unknown(instance.resource, detail.restores_missing))
    taken = {b.key.removeprefix("backupdr:"): b.taken_at for b in (detail.backups if detail is not None else ())}
    for restore in (detail.restores if detail is not None else ()):
        if not restore.started or restore.started > ctx.as_of:
            continue
        backup_id = restore.backup.rsplit("/", 1)[-1]
        record = next((v for v in records if v.date == ctx.period.day_of(restore.started)
                       and v.backup_id in (None, backup_id, restore.backup)), None)
        minutes = round((restore.ended - restore.started).total_seconds() / 60) if restore.ended else None
        test = RestoreTest(kind="BACKUPDR_RESTORE", when=restore.started, into=restore.into, backup=restore.backup,
                           backup_taken=taken.get(restore.backup), minutes=minutes, record=record,
                           error=restore.error or (None if restore.done else "the operation has not finished"),
                           evidence=tuple(restore.evidence))
        ok = restore.done and not restore.error and (record is None or record.result == "pass")
        (good if ok else failed).append(test)
    for backup in (detail.backups if detail is not None else ()):
        if backup.verified and backup.verified_at and backup.verified_at <= ctx.as_of:
            test = RestoreTest(kind="BACKUPDR_VERIFICATION", when=backup.verified_at, into=None, backup=backup.key.removeprefix("backupdr:"),
                               backup_taken=backup.taken_at, minutes=None, record=None,
                               error=None if backup.verified == "SUCCEEDED" else f"verification {backup.verified}",
                               evidence=backup.evidence)
            (good if backup.verified == "SUCCEEDED" else failed).append(test)
    return sorted(good, key=lambda t: t.when), failed, ignored, unread, sorted(unlogged)


def _describe(test: RestoreTest) -> str:
    what = {"RESTORE_VOLUME": "restore", "BACKUPDR_VERIFICATION": "Backup and DR restore verification",
            "PITR_CLONE": "point-in-time clone", "BACKUPDR_RESTORE": "Backup and DR restore"}.get(test.kind, test.kind)
    parts = [f"{test.when:%Y-%m-%d} {what}"]
    if test.kind == "PITR_CLONE":
        parts.append(f"to {test.backup_taken:%Y-%m-%d %H:%M} UTC" if test.backup_taken else f"to {test.backup}")
    elif test.backup:
        parts.append(f"of backup {test.backup.rsplit('/', 1)[-1]}" + (f" (taken {test.backup_taken:%Y-%m-%d %H:%M})" if test.backup_taken else ""))
    if test.into:
        parts.append(f"into {test.into.rsplit('/', 1)[-1]}")
    if test.minutes is not None:
        parts.append(f"in {test.minutes} min")
    text = " ".join(parts)
    if test.record:
        text += f"; validated by {test.record.by}: {test.record.check} ({test.record.result})"
    elif test.kind in ("RESTORE_VOLUME", "PITR_CLONE", "BACKUPDR_RESTORE"):
        text += "; no validation record"
    return text


#: what a day's stored configuration says when it has no entry for the data's classification: unknown
ABSENT = "absent"
#: the interval of a day whose classification is unknown (checks.class_days): what it required cannot be known
UNCLASSED = "unclassified"


def interval_in_force(classification: str) -> Callable[[Any], Any]:
    """A configuration's restore_test_interval for `classification`, in whole days (at least 1): None when the
    classification sets none, ABSENT when the configuration has no such classification (checks.days.config_segments)."""
    def resolve(config: Any) -> Any:
        policy = config.policy.classifications.get(classification)
        if policy is None:
            return ABSENT
        interval = policy.restore_test_interval
        return None if interval is None else max(1, round(interval.total_seconds() / 86400))
    return resolve


def judge_days(tested: list[date], interval: Any, period: Any, as_of: datetime, days: list[date] | None = None, *,
               created: datetime | None = None, gone_by: datetime | None = None, alive_until: datetime | None = None,
               unread: bool = False, maybe: list[date] = ()) -> tuple[dict[date, str], dict[date, str]]:
    """Each of `days` (default: the period's) against `interval` (days, None or ABSENT), from the days of the
    successful tests: (states, why each day that is neither kept nor broken is so).

      not_due         the day starts after the evidence date
      not_applicable  `created`: the instance did not exist yet; `deleted`: the day starts after its deletion;
                      `no interval`: the configuration in force sets no restore_test_interval for the classification;
                      `not yet due`: created no more than the interval before (its first test is due by its creation
                      day plus the interval, as a test on its creation day would be)
      unknown         `absent`: the configuration in force has no entry for the classification; `unclassified`
                      (interval UNCLASSED): the store's classification that day is unknown; `unread`: no test
                      lies within the interval and a source that could show one was not read; `unlogged clone`:
                      the only candidate within the interval is a clone of `maybe` (operations.list shows it, no
                      audit-log query reaches it to say whether it was to a point in time); `unseen`: the instance
                      was last seen before the day and its deletion is not dated (it may have been gone)
      kept            a successful test on or before the day is at most the interval old
      broken          otherwise
    """
    ordered = sorted(tested)
    doubtful = sorted(maybe)
    created_day = period.day_of(created) if created else None
    wanted = set(days) if days is not None else None
    states: dict[date, str] = {}
    why: dict[date, str] = {}
    for day, start in zip(period.days(), period.day_starts):
        if wanted is not None and day not in wanted:
            continue
        if start > as_of:
            states[day] = "not_due"
            continue
        reason = None
        if created_day is not None and day < created_day:
            reason = "created"
        elif gone_by is not None and start >= gone_by:
            reason = "deleted"
        elif interval is None:
            reason = "no interval"
        if reason:
            states[day], why[day] = "not_applicable", reason
            continue
        if interval == ABSENT:
            states[day], why[day] = "unknown", "absent"
            continue
        if interval == UNCLASSED:
            states[day], why[day] = "unknown", "unclassified"
            continue
        found = bisect_right(ordered, day)  # the latest test on or before the day is the one before it
        if found and (day - ordered[found - 1]).days <= interval:
            states[day] = "kept"
        elif created_day is not None and (day - created_day).days <= interval:
            states[day], why[day] = "not_applicable", "not yet due"
        elif unread:
            states[day], why[day] = "unknown", "unread"
        elif (seen := bisect_right(doubtful, day)) and (day - doubtful[seen - 1]).days <= interval:
            states[day], why[day] = "unknown", "unlogged clone"
        elif alive_until is not None and start > alive_until:
            states[day], why[day] = "unknown", "unseen"
        else:
            states[day] = "broken"
    return states, why


def days_since(tested: list[date], states: dict[date, str]) -> dict[date, int | None]:
    """The days since the last successful test, for each day judged (kept, broken or unknown)."""
    ordered = sorted(tested)
    out: dict[date, int | None] = {}
    for day, state in states.items():
        if state in ("kept", "broken", "unknown"):
            found = bisect_right(ordered, day)
            out[day] = (day - ordered[found - 1]).days if found else None
    return out


def _render(value: Any) -> str:
    if value == ABSENT:
        return "absent (the configuration has no such classification)"
    return "not set" if value is None else f"{value} days"


def _deletion_words(facts: Any, instance: SqlInstance, ctx: CheckContext, from_final: bool) -> str:
    """checks.common.deletion_note for an instance its FINAL backup's snapshot shows; the same words naming the
    read that does for one an earlier locker read (merged lockers), or that a later listing no longer shows."""
    if from_final:
        return deletion_note(facts, instance, ctx)
    life = facts.history.lifetime(instance.resource)
    if life.gone_by is None or life.gone_by >= ctx.as_of:
        return ""
    if life.alive_until is not None and life.alive_until < life.gone_by:
        return (f" It was last seen {life.alive_until:%Y-%m-%d %H:%M} UTC and the listing of {life.gone_by:%Y-%m-%d %H:%M} UTC "
                "no longer shows it (no deletion is recorded): the days from that listing on are not applicable, and the "
                "days between are unknown unless a restore test covers them.")
    read = f"its last configuration read: {instance.observed_at:%Y-%m-%d %H:%M} UTC" if instance.observed_at else "read before it"
    return (f" It was deleted on {life.gone_by:%Y-%m-%d %H:%M} UTC ({read}); it is judged for the days it existed, and the "
            "days after the deletion are not applicable.")


class _Calendar:
    """What every store's judgment shares within one evaluation (computed once, not per store): the configuration
    in force each day (checks.days.configs_by_day), each (configuration, class)'s interval, and each class's
    interval over the stored configurations (checks.days.config_segments)."""

    def __init__(self, ctx: CheckContext) -> None:
        self.ctx = ctx
        self.configs = daily.configs_by_day(ctx)
        self._values: dict[tuple[int, str | None], tuple[str | None, Any]] = {}
        self._segments: dict[str, list[tuple[list[date], Any, str | None]]] = {}
        self._runs: dict[tuple[str, ...], list[tuple[list[date], list[tuple[str | None, Any]]]]] = {}

    def value(self, config: Any, name: str | None) -> tuple[str | None, Any]:
        """class_interval(config, name), once per pair (the configurations live as long as the context)."""
        key = (id(config), name)
        found = self._values.get(key)
        if found is None:
            found = self._values[key] = class_interval(config, name)
        return found

    def runs(self, names: tuple[str, ...]) -> list[tuple[list[date], list[tuple[str | None, Any]]]]:
        """For a store that held `names` every day: the period's days in runs of equal values (each day's values
        of those classes under the configuration in force), shared by every such store (never mutated)."""
        found = self._runs.get(names)
        if found is None:
            configs = self.configs
            found = self._runs[names] = _runs({day: [self.value(configs[day], name) for name in names]
                                               for day in self.ctx.period.days()})
        return found

    def segments(self, name: str) -> list[tuple[list[date], Any, str | None]]:
        found = self._segments.get(name)
        if found is None:
            found = self._segments[name] = daily.config_segments(self.ctx, interval_in_force(name))
        return found


def _instance_finding(instance: SqlInstance, facts: Any, ctx: CheckContext, targets: list[str],
                      from_final: bool = False, calendar: _Calendar | None = None) -> Finding:
    classification, policy = ctx.classification_of(instance.labels, resource=instance.resource)
    interval = policy.restore_test_interval if policy else None
    base = dict(check=ID, resource=instance.resource, rule="restore-test")
    deleted = _deletion_words(facts, instance, ctx, from_final)
    classes = class_days(facts, ctx, instance.resource, instance.labels)  # the classification in force each day
    if policy is None and not any(name in ctx.config.policy.classifications for held in classes.by_day.values()
                                  for name in held.names):
        return Finding(**base, status=INCONCLUSIVE,
                       message=f"{instance.display}: the data has no classification (neither declared in the data map nor "
                               "labelled), so how often it must be restore-tested cannot be judged." + deleted,
                       expected={"classification": None}, evidence=list(instance.evidence))
    calendar = calendar or _Calendar(ctx)
    configs, value_of = calendar.configs, calendar.value
    one = _one_class(classes)  # the same one class (or none) every day: most stores
    judged_classes = classes if one else interval_classes(classes, configs, value_of)
    if one:
        runs = calendar.runs(next(iter(classes.by_day.values())).names if classes.by_day else ())
        held_values = {day: values for days, values in runs for day in days}
    else:
        held_values = {day: [value_of(configs[day], name) for name in judged_classes.of(day).names]
                       for day in ctx.period.days()}
        runs = _runs(held_values)
    changed = classes.changed
    if all(values and all(value[1] is None for value in values) for _, values in runs):
        names = _names_in_order(judged_classes)
        keys = ", ".join(_key(name) for name in names)
        if names == [classification]:
            words = f"the {classification} classification sets no restore-test interval."
        else:
            words = (f"none of the classifications it held in the period ({', '.join(names)}) sets a restore-test "
                     f"interval. {classes.words()}")
        return Finding(**base, status=NOT_APPLICABLE, message=f"{instance.display}: {words}" + deleted,
                       expected={"classification": classification}, evidence=list(instance.evidence),
                       details={"classifications": classes.details()} if changed else {},
                       not_applicable_reason=f"the configuration sets no restore-test interval for "
                                             f"{' or '.join(names)} data ({keys})")
    good, failed, ignored, unread, unlogged = _tests(instance, facts, ctx, targets)
    tested = [ctx.period.day_of(t.when) for t in good]
    maybe = ctx.period.days_of(unlogged)
    life = facts.history.lifetime(instance.resource)
    judged: dict[Any, tuple[dict[date, str], dict[date, str]]] = {}

    def judged_under(value: tuple[str | None, Any]) -> tuple[dict[date, str], dict[date, str]]:
        """Every day against one class's interval (checks.days.by_config asks once per (class, interval))."""
        if value not in judged:
            judged[value] = judge_days(tested, value[1], ctx.period, ctx.as_of, created=instance.create_time,
                                       gone_by=life.gone_by, alive_until=life.alive_until, unread=bool(unread), maybe=maybe)
        return judged[value]

    # each day under each class it held (the ones with an interval, when its class changed that day), against the
    # interval the configuration in force that day sets for it
    states: dict[date, str] = {}
    why: dict[date, str] = {}
    decided: dict[date, tuple[str | None, Any]] = {}  # the (class, interval) whose judgment the day's state is
    if one:  # by_config of a single class gives each day its value's state (class_days.judge of one class): directly
        for days, values in runs:
            value = values[0] if values else (None, UNCLASSED)
            day_states, reasons = judged_under(value)
            for day in days:
                states[day], decided[day] = day_states[day], value
                if day in reasons:
                    why[day] = reasons[day]
    else:
        states, _ = daily.by_config(ctx, value_of, lambda value: judged_under(value)[0], judged_classes)
        for day, state in states.items():
            values = held_values[day] or [(None, UNCLASSED)]
            for value in values:
                day_states, reasons = judged_under(value)
                if day_states.get(day) == state:
                    decided[day] = value
                    if day in reasons:
                        why[day] = reasons[day]
                    break
            else:  # kept under one class it held that day, broken under another: unknown
                decided[day], why[day] = values[-1], "class changed"
    required = {day: value[1] for day, value in decided.items()}
    used = list(dict.fromkeys(decided[days[0]] for days, _ in runs)) if one else list(dict.fromkeys(
        decided[day] for day in sorted(decided)))  # each (class, interval) a day was judged under, in day order
    intervals = sorted({v for _, v in used if isinstance(v, int)})
    interval_days = intervals[-1] if len(intervals) == 1 else (
        max(1, round(interval.total_seconds() / 86400)) if interval else None)
    single = len(intervals) == 1
    judged_names = list(dict.fromkeys(name for name, v in used if isinstance(v, int)))
    whose = f"its {judged_names[0]} data" if len(judged_names) == 1 else "its data"
    held_names = [name for name, _ in runs[0][1]] if one and runs else None  # one class: the same every day
    threshold_notes, thresholds = _threshold_changes(calendar, judged_classes, held_names)
    broken, unknown = daily.exception_days(states)
    kept = [d for d, s in states.items() if s == "kept"]
    isos = ctx.period.day_isos
    by_reason: dict[str, list[date]] = {}
    for day, reason in sorted(why.items()):
        by_reason.setdefault(reason, []).append(day)
    gaps = sorted(broken + by_reason.get("unread", []) + by_reason.get("unlogged clone", []))
    observed = {"restore_tests": [{"type": t.kind, "started": t.when.isoformat(), "backup": t.backup, "into": t.into,
                                   "minutes_to_restore": t.minutes, "validated_by": t.record.by if t.record else None,
                                   "validation": t.record.check if t.record else None} for t in good],
                "failed_restores": [{"type": t.kind, "started": t.when.isoformat(), "error": t.error,
                                     "validation_result": t.record.result if t.record else None} for t in failed],
                "not_restore_tests": ignored}
    expected = {"classification": classification, "restore_test_interval_days": interval_days}
    evidence = list(instance.evidence) + [e for t in good + failed for e in t.evidence]
    in_period = [t for t in good if ctx.period.starts_at <= t.when < ctx.period.ends_at]
    notes = ""
    if failed:
        notes += (f" {len(failed)} restores failed or were found wrong (" + "; ".join(
            f"{t.kind} on {t.when:%Y-%m-%d}: {t.error or 'validation ' + t.record.result}" for t in failed) + ") and do not count.")
    if ignored:
        notes += (f" {len(ignored)} clone operations ({', '.join(ignored)}) copy the live data (no point in time), not a "
                  "backup, so they are not restore tests.")
    detail = facts.backupdr.of(instance.resource)
    plans = list(detail.verification_plans) if detail is not None else []
    if plans:
        observed["restore_verification_plans"] = [{"name": p.name, "schedule": p.schedule, "time_zone": p.time_zone,
                                                   "state": p.state} for p in plans]
        words = "; ".join(f"{p.name.rsplit('/', 1)[-1]} in {p.project} ({p.state or 'state unknown'}, schedule "
                          f"'{p.schedule}' {p.time_zone})" for p in plans)
        verified = any(t.kind == "BACKUPDR_VERIFICATION" for t in good + failed)
        active = [p for p in plans if p.state == "ACTIVE"]
        if verified:
            notes += f" Backup and DR's restore verification plans where its vault lives: {words}."
        elif not active:
            notes += f" The restore verification plans where its vault lives are not active ({words}), and none of its backups reports a verification."
        else:
            notes += f" Restore verification plans exist where its vault lives ({words}), but none of its backups reports a verification."
        evidence += [e for p in plans for e in p.evidence if e not in evidence]
    notes += _day_notes(instance, by_reason, required, decided, ctx)
    for words in threshold_notes:
        notes += " " + words
    if changed:
        notes += " " + classes.words()
    notes += deleted
    missing = [e for read in unread for e in unverified(read)]
    source_words = "; ".join(read.describe() for read in unread)
    absent = by_reason.get("absent", [])
    absent_by_class = _by_class(absent, decided)
    unclassified = by_reason.get("unclassified", [])
    class_changed = by_reason.get("class changed", [])
    unseen = by_reason.get("unseen", [])
    unknown_words = []
    if by_reason.get("unread"):
        unknown_words.append(f"{len(by_reason['unread'])} days ({day_ranges(by_reason['unread'])}) lack a restore test in the "
                             + (f"preceding {interval_days} days" if single else "interval in force that day")
                             + f", but not every source was read: {source_words}")
    doubtful = by_reason.get("unlogged clone", [])
    if doubtful:
        unknown_words.append(f"{len(doubtful)} days ({day_ranges(doubtful)}) have no known restore test in the interval, but "
                             f"operations.list shows a clone within it ({', '.join(f'{t:%Y-%m-%d %H:%M} UTC' for t in unlogged)}) "
                             "at a time no complete Admin Activity log query covers, so whether it was made to a point in "
                             "time (a restore of the backup and logs) or copied the live data is unknown")
    for name, days in absent_by_class.items():
        unknown_words.append(f"on {len(days)} days ({day_ranges(days)}) the stored configuration in force has no "
                             f"{name} classification, so the restore-test interval it required is unknown")
    if unclassified:
        unknown_words.append(f"on {len(unclassified)} days ({day_ranges(unclassified)}) its classification is unknown"
                             + ("" if changed else f" ({classes.why(unclassified)})")  # else the classes' words say why
                             + ", so the restore-test interval it required is unknown")
    if class_changed:
        unknown_words.append(f"on {len(class_changed)} days ({day_ranges(class_changed)}) its classification changed "
                             "during the day, and the day meets the interval of one classification it held but not "
                             "another's, so whether it met the interval in force is unknown")
    if unseen:
        unknown_words.append(f"on {len(unseen)} days ({day_ranges(unseen)}) it may no longer have existed: it was last seen "
                             f"{life.alive_until:%Y-%m-%d %H:%M} UTC and a later listing does not show it")
    details: dict[str, Any] = {"uncovered_days": [d.isoformat() for d in gaps], "tests_in_period": len(in_period),
                               "tests": [_describe(t) for t in good], "days": daily.iso_days(states, isos),
                               "days_since_test": {isos[d]: n for d, n in days_since(tested, states).items()},
                               "exception_days": [isos[d] for d in broken], "unknown_days": [isos[d] for d in unknown],
                               "day_evidence": _day_evidence(good, states, ctx), "day_evidence_joins": True}
    if thresholds:
        details["thresholds"] = thresholds
    if changed:
        details["classifications"] = classes.details()
    if unknown:  # what could not be verified: the unread sources, a configuration without the classification, an undated end
        details["unverified"] = list(missing)
        for name in absent_by_class:
            details["unverified"].append(incomplete_data(
                f"the stored configuration in force has no {name} classification ({_key(name)} unknown)"))
        if unclassified:
            details["unverified"].append(incomplete_data(
                f"{instance.display}: its classification on {day_ranges(unclassified)} is unknown "
                f"({classes.why(unclassified)})"))
        if doubtful:
            details["unverified"].append(incomplete_data(
                f"{instance.display}: clones outside the audit log read (" + ", ".join(f"{t:%Y-%m-%d %H:%M} UTC" for t in unlogged)
                + "): whether each was made to a point in time is unknown"))
        if unseen:
            details["unverified"].append(incomplete_data(
                f"{instance.display}: last seen {life.alive_until:%Y-%m-%d %H:%M} UTC, its deletion not dated"))
        if unread:
            details["call"] = unread[0].first.call_id
    not_applicable_reason = None
    if broken:
        every = f"every {interval_days} days" if single else "as often as the interval in force each day requires"
        within = f"in the preceding {interval_days} days" if single else "within the interval in force that day"
        last = good[-1].when.strftime("%Y-%m-%d") if good else None
        message = (f"{instance.display}: {whose} must be restore-tested at least {every}, "
                   f"but {len(broken)} days of the period had no successful restore from a backup {within} "
                   f"({day_ranges(broken)}); " + (f"the last successful test was on {last}." if last else "no restore test was found.")
                   + (" Other days are unknown: " + "; ".join(unknown_words) + "." if unknown else "")
                   + notes)
        status = FAIL
    elif unknown:
        status = INCONCLUSIVE
        if unread and not good and not absent and not unseen and not doubtful and not unclassified and not class_changed:
            message = f"{instance.display}: restore tests could not be verified: " + source_words + "." + notes
        else:
            message = f"{instance.display}: " + "; ".join(unknown_words) + "." + notes
    elif kept:
        status = PASS
        shown = good if len(good) <= 6 else good[:2] + good[-3:]
        every = f"at least every {interval_days} days" if single else "within the interval in force each day"
        span = "on every day its classification required one" if by_reason.get("no interval") else "throughout the period"
        message = (f"{instance.display}: restore tested {every} {span} "
                   f"({len(in_period)} in the period; " + "; ".join(_describe(t) for t in shown)
                   + (f"; and {len(good) - len(shown)} more" if len(good) > len(shown) else "") + ")." + notes)
    else:
        status = NOT_APPLICABLE
        message = f"{instance.display}: no day of the period up to the evidence date required a restore test." + notes
        not_applicable_reason = "no restore test was due on any day of the period up to the evidence date"
    if status != INCONCLUSIVE:
        message += " This control goes beyond the written Backup Policy, which does not promise restore tests."
    return Finding(**base, status=status, message=message, observed=observed, expected=expected, details=details,
                   evidence=evidence, not_applicable_reason=not_applicable_reason)


def _day_notes(instance: SqlInstance, by_reason: dict[str, list[date]], required: dict[date, Any],
               decided: dict[date, tuple[str | None, Any]], ctx: CheckContext) -> str:
    """The days no restore test was required on, and why: before its creation, not yet due, no interval in force
    for the classification it held (each classification's key named)."""
    out = ""
    waiting = by_reason.get("not yet due", [])
    if instance.create_time and (by_reason.get("created") or waiting):
        made = ctx.period.day_of(instance.create_time)
        owed = next((d for d in sorted(required) if d >= made and isinstance(required[d], int)
                     and (d - made).days > required[d]), None)
        last = required.get(ctx.period.end)
        when = (f"owed from {owed}" if owed else f"not owed within the period (by {made + timedelta(days=last)})"
                if isinstance(last, int) else "not owed within the period")
        out += (f" It was created on {instance.create_time:%Y-%m-%d %H:%M} UTC, and its first restore test is due within the "
                f"interval in force from its creation (as if restore-tested that day): {when}"
                + (f"; {day_ranges(waiting)} were not yet due" if waiting else "") + "; the days before it existed are not applicable.")
    for name, days in _by_class(by_reason.get("no interval", []), decided).items():
        out += (f" On {len(days)} days ({day_ranges(days)}) the configuration in force set no {_key(name)}, so no restore test "
                "was due then (not applicable).")
    return out


def _key(name: str | None) -> str:
    return f"policy.classifications.{name}.restore_test_interval"


def _by_class(days: list[date], decided: dict[date, tuple[str | None, Any]]) -> dict[str | None, list[date]]:
    """`days` grouped by the classification they were judged under, in the order each first appears."""
    out: dict[str | None, list[date]] = {}
    for day in sorted(days):
        out.setdefault(decided[day][0], []).append(day)
    return out


def class_interval(config: Any, name: str | None) -> tuple[str | None, Any]:
    """checks.days.by_config's resolve: (the class, its interval in `config`: days, None or ABSENT); a day whose class
    is unknown is (None, UNCLASSED). The class is part of the value, so a change of class with an equal interval is
    still a change of whose threshold it is."""
    return (None, UNCLASSED) if name is None else (name, interval_in_force(name)(config))


def _runs(values_by_day: dict[date, list[Any]]) -> list[tuple[list[date], list[Any]]]:
    """Consecutive days with equal values: [(days, values)], in day order."""
    out: list[tuple[list[date], list[Any]]] = []
    for day in sorted(values_by_day):
        values = values_by_day[day]
        if out and out[-1][1] == values:
            out[-1][0].append(day)
        else:
            out.append(([day], values))
    return out


def _one_class(classes: ClassDays) -> bool:
    """Whether every day held the same one class (or every day none): checks.days.by_config then gives each day the
    state of that class's value that day (class_days.judge of a single class), which is what the caller computes
    directly, without by_config's per-day resolution (most stores, most of the check's time at scale)."""
    one = classes.constant
    if one is not None:
        return len(one.names) <= 1
    first = None
    for held in classes.by_day.values():
        if len(held.names) > 1:
            return False
        if first is None:
            first = held.names
        elif held.names != first:
            return False
    return True


def interval_classes(classes: ClassDays, configs: dict[date, Any],
                     value_of: Callable[[Any, str | None], tuple[str | None, Any]] = None) -> ClassDays:
    """The classes each day is judged under. A day the class changed during, from (or to) one whose configuration
    sets no restore_test_interval, is judged under the classes that set one: the other required nothing, so it can
    neither keep nor break the day. (checks.class_days.judge would find the classes disagreeing, not applicable
    against broken, and leave unknown a day restricted data went untested for the part of it it was restricted: a
    test on the day counts for the whole day, as on any day, so broken under the stricter class means no test
    covered its part of the day.) A class the configuration lacks (ABSENT) stays: its requirement is unknown, not
    nothing."""
    value_of = value_of or class_interval
    if all(len(held.names) < 2 for held in classes.by_day.values()):
        return classes
    out: dict[date, DayClass] = {}
    for day, held in classes.by_day.items():
        if len(held.names) > 1:
            config = configs[day]
            wanted = tuple(name for name in held.names if value_of(config, name)[1] is not None)
            if wanted and wanted != held.names:
                held = DayClass(wanted, held.basis, held.why)
        out[day] = held
    return ClassDays(out, classes.newest)


def _names_in_order(classes: ClassDays) -> list[str]:
    return list(dict.fromkeys(name for day in sorted(classes.by_day) for name in classes.by_day[day].names))


def _threshold_changes(calendar: _Calendar, classes: ClassDays,
                       names: list[str] | None = None) -> tuple[list[str], list[dict[str, Any]]]:
    """For each classification the store held (`names`, when known), its restore_test_interval's values over the
    stored configurations when they differ on the days it held it: (sentences naming the key, values and lockers;
    `details.thresholds`)."""
    words: list[str] = []
    entries: list[dict[str, Any]] = []
    for name in (names if names is not None else _names_in_order(classes)):
        segments = calendar.segments(name)
        if len(segments) < 2:  # one value over the whole period (a single run): nothing changed
            continue
        days = {day for day, held in classes.by_day.items() if name in held.names}
        if len({value for group, value, _ in segments if days.intersection(group)}) < 2:
            continue
        changes = [(group[0], value, locker) for group, value, locker in segments]
        words.append(daily.threshold_words(changes, _key(name), _render))
        entries += [{"from": day.isoformat(), "locker": locker, "config_key": _key(name),
                     "restore_test_interval_days": value if isinstance(value, int) else None,
                     "classification_configured": value != ABSENT} for day, value, locker in changes]
    return words, entries


def _day_evidence(good: list[RestoreTest], states: dict[date, str], ctx: CheckContext) -> dict[str, list[str]]:
    """Each judged day's own evidence: the latest successful test on or before it (the one that covers a kept day)."""
    ordered = sorted(good, key=lambda t: t.when)
    tested = [ctx.period.day_of(t.when) for t in ordered]
    out: dict[str, list[str]] = {}
    for day, state in sorted(states.items()):
        if state not in ("kept", "broken", "unknown"):
            continue
        found = bisect_right(tested, day)
        if found and ordered[found - 1].evidence:
            out[ctx.period.day_isos[day]] = sorted(set(ordered[found - 1].evidence))
    return out


CHECK = Check(
    id=ID,
    frequency="quarterly",
    title="Backups are restore-tested as often as the data's classification requires",
    criteria=("A1.3",),
    policy_clause="",  # quoted from the configuration (policy.clauses), never built in
    description="Beyond the written policy. For each Cloud SQL primary, lists its Cloud SQL Admin operations "
                "(operations.list, also of the scratch instances the data map names as restore targets) and takes each "
                "RESTORE_VOLUME that finished without error as a restore test, and each clone the Admin Activity log "
                "(cloudsql.instances.clone) shows made to a point in time (cloneContext.pointInTime or binLogCoordinates; "
                "clones of live data do not count), with the "
                "backup it restored (backupContext), its validation record and the time it took; for ENHANCED-tier instances "
                "Backup and DR's restores of a vault's backup (operations.list, verb restore) and restore verifications "
                "(dataSources.backups.list verificationSummary) count too. Every day of "
                "the period must have one within the classification's restore_test_interval in force that day (the "
                "configuration stored by the newest locker made by that day; a change is named with its key and locker). "
                "A day whose configuration has no entry for the classification is unknown; a day whose configuration sets "
                "no interval is not applicable (no test was required), and so are the days before the instance was created "
                "and, after it, the days until its creation plus the interval (its first test is due by then). Instances "
                "deleted in the period are judged for the days they existed (restore tests before the deletion count; the "
                "days after are not applicable); one only the Admin Activity log shows is inconclusive for its days. "
                "The classification is the one in force each day (the data map in force, else that day's label, else "
                "the default): a day whose class sets no interval is not applicable, a day of unknown class unknown.",
    needs=("sql_instances", "sql_operations", "sql_stores", "backupdr", "sql_clones", "backupdr_restores",
           "backupdr_verification_plans", "history", "final_snapshots", "config_changes", "inventory_days"),
    evaluate=evaluate,
    beyond_policy=True,
)
