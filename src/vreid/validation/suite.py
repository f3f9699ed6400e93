"""The Great Expectations suite of the data validation gate, and running it.

Every check is one or more GX expectations over one of the tables built in
:mod:`vreid.validation.table` (tracklets, pairs, files, sensor samples).  Each
expectation carries ``meta={"check": name}``; the suites are validated with
``result_format="COMPLETE"`` so each failing expectation returns the dataframe
index of its unexpected rows: a file row names the offending file itself.

``great_expectations`` is imported only inside :func:`run_checks` (it takes
seconds to import); one ephemeral context is built per validate call.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from vreid.data.index import ParsingIndex, ReIDIndex

__all__ = [
    "CheckResult",
    "ValidationResult",
    "Check",
    "reid_checks",
    "parsing_checks",
    "sensor_checks",
    "run_checks",
    "validate_reid",
    "validate_parsing",
    "validate_sensor_logs",
]

#: at most this many offending lines are kept per check (the count is kept in full).
MAX_OFFENDING = 1000


# --------------------------------------------------------------------------- results


@dataclass
class CheckResult:
    """Outcome of one check.

    ``unexpected_count`` counts failing rows (tracklets, pairs, files or sensor
    samples, or missing items for table-level checks); ``offending`` has one ``"file: problem"``
    line per bad file or row, capped at :data:`MAX_OFFENDING` lines
    (``offending_total`` is the uncapped number).
    """

    name: str
    success: bool
    unexpected_count: int
    offending: list[str] = field(default_factory=list)
    description: str = ""
    expectations: list[str] = field(default_factory=list)
    offending_total: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ValidationResult:
    """All checks of one dataset."""

    dataset: str
    kind: str  # "reid" or "parsing"
    success: bool
    checks: list[CheckResult]
    num_rows: int
    rows_per_split: dict[str, int]
    num_files: int  # distinct frame / image / label files checked
    params: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0  # wall time of the whole validate call (not written to reports)

    @property
    def failed_checks(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.success]

    def check(self, name: str) -> CheckResult:
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(f"no check named {name!r}; have {[c.name for c in self.checks]}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "kind": self.kind,
            "success": self.success,
            "num_rows": self.num_rows,
            "rows_per_split": dict(self.rows_per_split),
            "num_files": self.num_files,
            "params": dict(self.params),
            "checks": [c.to_dict() for c in self.checks],
        }


# --------------------------------------------------------------------------- check specs


@dataclass(frozen=True)
class Check:
    """One named check: GX expectations (class name, kwargs) over the table named
    ``table``, plus how to explain a failure.

    ``describe_row(row)`` returns the offending lines for one unexpected row;
    ``describe_table(result_dict)`` does the same for table-level expectations
    that have no unexpected rows (e.g. a split with no rows).
    """

    name: str
    description: str
    expectations: tuple[tuple[str, dict[str, Any]], ...]
    table: str
    describe_row: Callable[[Any], list[str]] | None = None
    describe_table: Callable[[dict[str, Any]], list[str]] | None = None


def _file_problem(r) -> list[str]:
    return [f"{r['name']}: {r['problem']}"]


def reid_checks(num_cams: int, required_splits: Sequence[str] = ("train", "query", "gallery")) -> list[Check]:
    """The re-ID suite; ``num_cams`` bounds camid to ``[0, num_cams)``."""

    def splits_missing(result: dict[str, Any]) -> list[str]:
        missing = result.get("details", {}).get("missing_values") or result.get("partial_missing_list") or []
        return [f"split {s!r}: no tracklets" for s in missing]

    return [
        Check(
            "splits_non_empty",
            f"every split of {list(required_splits)} has at least one tracklet",
            (("ExpectColumnDistinctValuesToContainSet", {"column": "split", "value_set": list(required_splits)}),),
            "tracklets",
            describe_table=splits_missing,
        ),
        Check(
            "tracklets_non_empty",
            "every tracklet has at least one frame",
            (("ExpectColumnValuesToBeBetween", {"column": "num_frames", "min_value": 1}),),
            "tracklets",
            describe_row=lambda r: [f"{r['name']}: empty tracklet (no frames)"],
        ),
        Check(
            "frames_exist",
            "every frame file exists",
            (("ExpectColumnValuesToBeInSet", {"column": "missing", "value_set": [False]}),),
            "frames",
            describe_row=_file_problem,
        ),
        Check(
            "frames_decode",
            "every frame decodes (Pillow, full load)",
            (("ExpectColumnValuesToBeInSet", {"column": "undecodable", "value_set": [False]}),),
            "frames",
            describe_row=_file_problem,
        ),
        Check(
            "pid_in_range",
            "pid is set and >= 0",
            (
                ("ExpectColumnValuesToNotBeNull", {"column": "pid"}),
                ("ExpectColumnValuesToBeBetween", {"column": "pid", "min_value": 0}),
            ),
            "tracklets",
            describe_row=lambda r: [f"{r['name']}: pid {r['pid']} out of range (must be >= 0)"],
        ),
        Check(
            "camid_in_range",
            f"camid is set and in [0, {num_cams})",
            (
                ("ExpectColumnValuesToNotBeNull", {"column": "camid"}),
                ("ExpectColumnValuesToBeBetween", {"column": "camid", "min_value": 0, "max_value": num_cams - 1}),
            ),
            "tracklets",
            describe_row=lambda r: [f"{r['name']}: camid {r['camid']} out of range [0, {num_cams})"],
        ),
        Check(
            "train_test_pids_disjoint",
            "no identity (distractor pid 0 excepted) is in train and in query/gallery",
            (("ExpectColumnValuesToBeInSet", {"column": "pid_in_both_train_and_test", "value_set": [False]}),),
            "tracklets",
            describe_row=lambda r: [
                f"{r['name']}: pid {r['pid']} ({r['split']}) is in both train and query/gallery"
            ],
        ),
        Check(
            "query_has_cross_camera_match",
            "every query has a gallery tracklet of the same pid from another camera",
            (("ExpectColumnValuesToBeInSet", {"column": "has_cross_camera_match", "value_set": [True]}),),
            "tracklets",
            describe_row=lambda r: [
                f"{r['name']}: query pid {r['pid']} cam {r['camid']} has no gallery match from another camera"
                f" (gallery cams of this pid: {r['gallery_cams_of_pid'] or 'none'})"
            ],
        ),
    ]


def parsing_checks(num_classes: int) -> list[Check]:
    """The human-parsing (LIP) suite; labels must lie in ``[0, num_classes)``."""
    hi = num_classes - 1

    def label_line(r) -> list[str]:
        return [
            f"{r['label']}: label values {int(r['label_min'])}..{int(r['label_max'])} outside 0..{hi}"
        ]

    return [
        Check(
            "samples_non_empty",
            "the index has at least one image / label pair",
            (("ExpectTableRowCountToBeBetween", {"min_value": 1}),),
            "pairs",
            describe_table=lambda result: ["index: no samples"],
        ),
        Check(
            "files_exist",
            "every image and label file exists",
            (("ExpectColumnValuesToBeInSet", {"column": "missing", "value_set": [False]}),),
            "files",
            describe_row=_file_problem,
        ),
        Check(
            "files_decode",
            "every image decodes and every label decodes as a single-channel 8-bit map",
            (("ExpectColumnValuesToBeInSet", {"column": "undecodable", "value_set": [False]}),),
            "files",
            describe_row=_file_problem,
        ),
        Check(
            "label_values_in_range",
            f"every label value is in 0..{hi}",
            (
                ("ExpectColumnValuesToBeBetween", {"column": "label_min", "min_value": 0, "max_value": hi}),
                ("ExpectColumnValuesToBeBetween", {"column": "label_max", "min_value": 0, "max_value": hi}),
            ),
            "pairs",
            describe_row=label_line,
        ),
        Check(
            "image_label_sizes_agree",
            "image and label have the same width and height",
            (("ExpectColumnValuesToBeInSet", {"column": "sizes_agree", "value_set": [True]}),),
            "pairs",
            describe_row=lambda r: [
                f"{r['image']}: image {int(r['image_width'])}x{int(r['image_height'])} but label "
                f"{r['label']} is {int(r['label_width'])}x{int(r['label_height'])}"
            ],
        ),
    ]


#: faster than any walking or running camera holder: a GPS speed above it is a glitch.
MAX_SPEED_MPS = 15.0


def sensor_checks(max_speed_mps: float = MAX_SPEED_MPS) -> list[Check]:
    """The EgoReID sensor-log suite (vreid.data.sensors): every field present, time
    increasing within each file, position, heading and speed in plausible ranges."""
    from vreid.data.sensors import SENSOR_COLUMNS

    def absent(r) -> list[str]:
        empty = [c for c in SENSOR_COLUMNS if r[c] != r[c]]  # NaN != NaN
        return [f"{r['name']}: empty or NaN field(s) {empty}"]

    return [
        Check(
            "sensor_values_present",
            "every sensor field of every sample is a number (no empty field, no NaN)",
            tuple(("ExpectColumnValuesToNotBeNull", {"column": c}) for c in SENSOR_COLUMNS),
            "samples",
            describe_row=absent,
        ),
        Check(
            "sensor_time_increasing",
            "time_s increases from each sample to the next within a file",
            (("ExpectColumnValuesToBeInSet", {"column": "time_increases", "value_set": [True]}),),
            "samples",
            describe_row=lambda r: [f"{r['name']}: time_s {r['time_s']} is not after the "
                                    "previous sample's"],
        ),
        Check(
            "sensor_position_in_range",
            "latitude in [-90, 90] and longitude in [-180, 180] degrees",
            (
                ("ExpectColumnValuesToBeBetween", {"column": "latitude_deg", "min_value": -90, "max_value": 90}),
                ("ExpectColumnValuesToBeBetween", {"column": "longitude_deg", "min_value": -180, "max_value": 180}),
            ),
            "samples",
            describe_row=lambda r: [f"{r['name']}: latitude {r['latitude_deg']}, longitude "
                                    f"{r['longitude_deg']} outside [-90, 90] / [-180, 180]"],
        ),
        Check(
            "sensor_heading_in_range",
            "heading in [0, 360) degrees",
            (("ExpectColumnValuesToBeBetween", {"column": "heading_deg", "min_value": 0, "max_value": 360,
                                                "strict_max": True}),),
            "samples",
            describe_row=lambda r: [f"{r['name']}: heading {r['heading_deg']} outside [0, 360)"],
        ),
        Check(
            "sensor_speed_plausible",
            f"speed in [0, {max_speed_mps:g}] m/s",
            (("ExpectColumnValuesToBeBetween", {"column": "speed_mps", "min_value": 0,
                                                "max_value": max_speed_mps}),),
            "samples",
            describe_row=lambda r: [f"{r['name']}: speed {r['speed_mps']} m/s outside "
                                    f"[0, {max_speed_mps:g}]"],
        ),
    ]


# --------------------------------------------------------------------------- running


def _quiet_gx_environment() -> None:
    """No telemetry, no network: must be set before GX builds a context."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")


def _exception_message(info: Any) -> str | None:
    if not isinstance(info, dict):
        return None
    if "raised_exception" in info:
        return (info.get("exception_message") or "unknown error") if info.get("raised_exception") else None
    for value in info.values():  # keyed by metric id in some GX versions
        msg = _exception_message(value)
        if msg:
            return msg
    return None


def run_checks(tables: Mapping[str, "pd.DataFrame"], checks: Sequence[Check], *,
               suite_name: str) -> list[CheckResult]:
    """Validate each check on ``tables[check.table]`` with one ephemeral GX context (one
    suite per table); one result per check, in the order of ``checks``."""
    _quiet_gx_environment()
    import great_expectations as gx
    import great_expectations.expectations as gxe

    context = gx.get_context(mode="ephemeral")
    try:
        from great_expectations.data_context.types.base import ProgressBarsConfig

        context.variables.progress_bars = ProgressBarsConfig(globally=False)
    except Exception:  # noqa: BLE001 - cosmetic only
        pass

    source = context.data_sources.add_pandas(name=f"{suite_name}_source")
    frames = {name: df.reset_index(drop=True) for name, df in tables.items()}  # index = row position
    results = []
    for table in dict.fromkeys(c.table for c in checks):
        asset = source.add_dataframe_asset(name=f"{suite_name}_{table}")
        batch_definition = asset.add_batch_definition_whole_dataframe(f"{suite_name}_{table}_rows")
        suite = gx.ExpectationSuite(name=f"{suite_name}_{table}")
        for check in checks:
            if check.table == table:
                for cls_name, kwargs in check.expectations:
                    suite.add_expectation(getattr(gxe, cls_name)(**kwargs, meta={"check": check.name}))
        suite = context.suites.add(suite)
        definition = context.validation_definitions.add(gx.ValidationDefinition(
            name=f"{suite_name}_{table}_validation", data=batch_definition, suite=suite))
        outcome = definition.run(
            batch_parameters={"dataframe": frames[table]},
            result_format={"result_format": "COMPLETE", "return_unexpected_index_query": False},
        )
        results.extend(outcome.results)

    by_check: dict[str, dict[str, Any]] = {
        c.name: {"success": True, "rows": set(), "table": [], "types": []} for c in checks
    }
    for res in results:
        config = res.expectation_config
        name = (config.meta or {}).get("check")
        if name not in by_check:
            continue
        entry = by_check[name]
        entry["types"].append(config.type)
        error = _exception_message(res.exception_info)
        if error:
            entry["success"] = False
            entry["table"].append(f"GX error in {config.type}: {error}")
            continue
        if res.success:
            continue
        entry["success"] = False
        result = dict(res.result or {})
        indices = result.get("unexpected_index_list")
        if indices:
            for item in indices:
                if isinstance(item, dict):  # with unexpected_index_column_names
                    item = next(iter(item.values()))
                entry["rows"].add(int(item))
        else:
            entry["table"].append(result)

    check_results = []
    for check in checks:
        entry = by_check[check.name]
        lines: list[str] = []
        for pos in sorted(entry["rows"]):
            row = frames[check.table].iloc[pos]
            lines.extend(check.describe_row(row) if check.describe_row else [f"{row['name']}"])
        table_items = 0
        for item in entry["table"]:
            if isinstance(item, str):
                lines.append(item)
                table_items += 1
            elif check.describe_table is not None:
                found = check.describe_table(item)
                lines.extend(found)
                table_items += len(found)
            else:
                lines.append(f"{check.name}: failed ({item.get('observed_value')!r})")
                table_items += 1
        check_results.append(
            CheckResult(
                name=check.name,
                success=entry["success"],
                unexpected_count=len(entry["rows"]) + table_items,
                offending=lines[:MAX_OFFENDING],
                description=check.description,
                expectations=entry["types"],
                offending_total=len(lines),
            )
        )
    return check_results


def _rows_per_split(df: "pd.DataFrame", splits: Sequence[str]) -> dict[str, int]:
    counts = df["split"].value_counts().to_dict() if len(df) else {}
    return {s: int(counts.get(s, 0)) for s in splits}


def _suite_name(prefix: str, dataset: str) -> str:
    safe = "".join(ch if ch.isalnum() else "_" for ch in dataset) or "dataset"
    return f"{prefix}_{safe}"


def validate_reid(
    index: "ReIDIndex",
    *,
    num_cams: int | None = None,
    workers: int | None = None,
    required_splits: Sequence[str] = ("train", "query", "gallery"),
) -> ValidationResult:
    """Check a re-ID index: frames exist and decode, ids / cams in range, splits sane.

    ``num_cams`` defaults to the number of distinct camids in the index
    (``index.num_cams``), so a 1-based or gappy camid numbering is flagged;
    pass the dataset's real camera count when it is known.
    """
    from .table import REID_SPLITS, file_table, reid_table

    start = time.perf_counter()
    inferred = num_cams is None
    if num_cams is None:
        num_cams = max(1, index.num_cams)
    df = reid_table(index)
    tables = {"tracklets": df, "frames": file_table(index, workers=workers)}
    checks = run_checks(tables, reid_checks(num_cams, required_splits), suite_name=_suite_name("reid", index.name))
    num_files = len({f for items in (index.train, index.query, index.gallery) for t in items for f in t.frames})
    return ValidationResult(
        dataset=index.name,
        kind="reid",
        success=all(c.success for c in checks),
        checks=checks,
        num_rows=len(df),
        rows_per_split=_rows_per_split(df, REID_SPLITS),
        num_files=num_files,
        params={"num_cams": int(num_cams), "num_cams_inferred": inferred, "root": str(index.root)},
        seconds=time.perf_counter() - start,
    )


def validate_parsing(
    index: "ParsingIndex",
    *,
    num_classes: int = 20,
    workers: int | None = None,
) -> ValidationResult:
    """Check a human-parsing index: files exist and decode, labels in range, sizes agree."""
    from .table import PARSING_SPLITS, parsing_tables

    start = time.perf_counter()
    df, files = parsing_tables(index, workers=workers)
    checks = run_checks({"pairs": df, "files": files}, parsing_checks(num_classes),
                        suite_name=_suite_name("parsing", index.name))
    num_files = len({p for s in (*index.train, *index.val) for p in (s.image, s.label)})
    return ValidationResult(
        dataset=index.name,
        kind="parsing",
        success=all(c.success for c in checks),
        checks=checks,
        num_rows=len(df),
        rows_per_split=_rows_per_split(df, PARSING_SPLITS),
        num_files=num_files,
        params={"num_classes": int(num_classes), "root": str(index.root)},
        seconds=time.perf_counter() - start,
    )


def validate_sensor_logs(root: str, *, dataset: str = "egoreid sensors",
                         max_speed_mps: float = MAX_SPEED_MPS) -> ValidationResult:
    """Check the EgoReID sensor logs under ``root`` (``sensors/*.csv``), one row per
    sample: a failing check names the file and line."""
    from .table import sensor_table

    start = time.perf_counter()
    df = sensor_table(root)
    checks = run_checks({"samples": df}, sensor_checks(max_speed_mps),
                        suite_name=_suite_name("sensors", dataset))
    per_file = df["file"].value_counts(sort=False).to_dict()
    return ValidationResult(
        dataset=dataset,
        kind="sensors",
        success=all(c.success for c in checks),
        checks=checks,
        num_rows=len(df),
        rows_per_split={f: int(n) for f, n in per_file.items()},
        num_files=len(per_file),
        params={"max_speed_mps": max_speed_mps, "root": str(root)},
        seconds=time.perf_counter() - start,
    )
