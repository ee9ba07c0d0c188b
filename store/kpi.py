"""KPIs per operator, team or period, each traceable to its calls, and the composite KPI.

The composite is the geometric mean of normalised components (by default handle time and repeat
contacts, as the desk's forum thread proposed): a product of "goodness" shares in (0, 1], so one very
bad component cannot be hidden by a good one as it can in an arithmetic mean. Repeat contacts enter as
FCR, the share of a group's calls that no repeat followed: the counterweight to a short handle time is
the repeats an operator's rushed calls cause, so a repeat counts against the operator who took the first
call, not the one who takes the callback (`repeat_rate`, the share of calls that are repeats, is the
desk's load of them).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy import Connection

from store.operators import operator_names

# Direction of each KPI: True when lower is better.
LOWER_IS_BETTER = {
    "handle_time": True,
    "repeat_rate": True,
    "fcr": False,
    "registration_rate": False,
    "compliance": False,
    "csat": False,
}


UNKNOWN_GROUP = "unknown"  # the calls of no known operator, team or date


@dataclass
class CallKpiFacts:
    """One counted (not excluded) call's contribution to the KPIs."""

    call_id: int
    group: str  # operator code, team, day… whatever the figures are grouped by
    handle_seconds: float
    is_repeat: bool
    followed_by_repeat: bool
    linked: bool
    compliance: float | None = None
    csat: float | None = None


@dataclass
class KpiRow:
    """The figures of one group, and the calls behind them."""

    group: str
    calls: int
    handle_time: float | None
    repeat_rate: float | None
    fcr: float | None
    registration_rate: float | None
    compliance: float | None
    csat: float | None
    composite: float | None = None
    outliers: list[str] = field(default_factory=list)
    call_ids: list[int] = field(default_factory=list)
    name: str | None = None  # the operator's name from the roster, grouped by operator
    scored: int = 0  # calls with a compliance score (one whose critical item is uncertain has none yet)


@dataclass
class CompositeOptions:
    """Which KPIs make the composite, and how each is normalised to (0, 1].

    `minmax`: 1 for the best group, `floor` for the worst (relative to the groups compared);
    `target`: value / target (or target / value when lower is better), capped at 1.
    """

    components: tuple[str, ...] = ("handle_time", "fcr")
    normalisation: str = "minmax"
    targets: dict[str, float] = field(default_factory=dict)
    floor: float = 0.05
    outlier_mads: float = 2.0
    # A group with fewer counted calls is never flagged: a few calls' mean is mostly chance.
    outlier_min_calls: int = 5


def _mean(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(statistics.fmean(present), 4) if present else None


def kpi_rows(calls: list[CallKpiFacts]) -> list[KpiRow]:
    """Figures per group of counted calls."""
    groups: dict[str, list[CallKpiFacts]] = {}
    for call in calls:
        groups.setdefault(call.group, []).append(call)
    rows = []
    for group, members in sorted(groups.items()):
        rows.append(
            KpiRow(
                group=group,
                calls=len(members),
                handle_time=_mean(c.handle_seconds for c in members),
                repeat_rate=_mean(float(c.is_repeat) for c in members),
                fcr=_mean(float(not c.followed_by_repeat) for c in members),
                registration_rate=_mean(float(c.linked) for c in members),
                compliance=_mean(c.compliance for c in members),
                csat=_mean(c.csat for c in members),
                call_ids=sorted(c.call_id for c in members),
                scored=sum(c.compliance is not None for c in members),
            )
        )
    return rows


def geometric_mean(values: list[float]) -> float:
    """Geometric mean of positive values."""
    if not values or any(v <= 0 for v in values):
        raise ValueError("the geometric mean needs positive values")
    return math.exp(sum(math.log(v) for v in values) / len(values))


def _normaliser(name: str, values: list[float], options: CompositeOptions) -> Callable[[float], float]:
    lower_better = LOWER_IS_BETTER[name]
    if options.normalisation == "target":
        target = options.targets[name]

        def by_target(v: float) -> float:
            share = (target / v if v else 1.0) if lower_better else (v / target if target else 1.0)
            return max(options.floor, min(1.0, share))

        return by_target
    low, high = min(values), max(values)

    def by_range(v: float) -> float:
        if high == low:
            return 1.0
        goodness = (high - v) / (high - low) if lower_better else (v - low) / (high - low)
        return options.floor + (1 - options.floor) * min(1.0, max(0.0, goodness))

    return by_range


def add_composite(
    rows: list[KpiRow], options: CompositeOptions | None = None, peers: list[KpiRow] | None = None
) -> list[KpiRow]:
    """Fill each row's composite KPI (0-1, higher is better) and flag components far from the others.

    `peers`: the groups that set the range and the outliers' median (default: `rows` themselves), e.g. the
    whole desk's operators for a team lead who sees one team, so an operator's composite is the same
    whoever looks."""
    options = options or CompositeOptions()
    for name in options.components:
        if name not in LOWER_IS_BETTER:
            raise ValueError(f"unknown KPI {name!r} (known: {', '.join(LOWER_IS_BETTER)})")
    compared = rows if peers is None else peers
    # Calls of no known operator (or team, or date) are no peer group: they do not set the range the others
    # are measured on (one short call could make every operator look worse), only get a place in it.
    reference = [r for r in compared if r.group != UNKNOWN_GROUP] or compared
    normalisers = {}
    for name in options.components:
        values = [getattr(r, name) for r in reference if getattr(r, name) is not None]
        if values:
            normalisers[name] = _normaliser(name, values, options)
    for row in rows if compared is rows else [*rows, *compared]:  # the peers' own, for its outliers
        parts = [normalisers[n](getattr(row, n)) for n in options.components
                 if n in normalisers and getattr(row, n) is not None]  # fmt: skip
        row.composite = round(geometric_mean(parts), 4) if len(parts) == len(options.components) else None
    shown = {r.group: r for r in rows}
    for name in (*LOWER_IS_BETTER, "composite"):
        for group in outliers(reference, name, options.outlier_mads, options.outlier_min_calls):
            if group in shown:
                shown[group].outliers.append(name)
    return rows


def outliers(rows: list[KpiRow], name: str, mads: float = 2.0, min_calls: int = 1) -> list[str]:
    """Groups of `min_calls` counted calls or more whose `name` is more than `mads` median absolute
    deviations from the median of all groups."""
    values = {r.group: getattr(r, name) for r in rows if getattr(r, name) is not None}
    if len(values) < 3:
        return []
    centre = statistics.median(values.values())
    mad = statistics.median(abs(v - centre) for v in values.values())
    if mad == 0:
        return []
    calls = {r.group: r.scored if name == "compliance" else r.calls for r in rows}
    return sorted(g for g, v in values.items() if abs(v - centre) > mads * mad and calls[g] >= min_calls)


GROUPINGS = ("operator", "team", "day", "week", "month")


def _facts(conn: Connection, by: str, where) -> list[CallKpiFacts]:
    from store.queries import kpi_facts

    return [
        CallKpiFacts(call, _group(key, by), handle or 0.0, repeat is not None, bool(then), bool(link), score)
        for call, key, handle, repeat, then, link, score in kpi_facts(conn, where, by)
    ]


def _group(value, by: str) -> str:
    """The group label of a call: its operator or team, or its day / ISO week / month."""
    if by in ("operator", "team") or value is None:
        return value or UNKNOWN_GROUP
    if by == "day":
        return value.strftime("%Y-%m-%d")
    if by == "week":
        year, week, _ = value.isocalendar()
        return f"{year}-W{week:02d}"
    return value.strftime("%Y-%m")


def kpi_table_rows(
    conn: Connection,
    by: str = "operator",
    where=None,
    options: CompositeOptions | None = None,
    peers_where=None,
) -> list[KpiRow]:
    """KPIs of counted calls matching `where` grouped `by` operator, team, day, week or month; with
    `peers_where`, the composite's range and the outliers are those of the groups of the calls matching it.

    Unscoped: readers go through `store.api.kpi_table`, which narrows `where` to the viewer.
    """
    if by not in GROUPINGS:
        raise ValueError(f"group by one of {', '.join(GROUPINGS)}, not {by!r}")
    peers = None if peers_where is None else kpi_rows(_facts(conn, by, peers_where))
    rows = add_composite(kpi_rows(_facts(conn, by, where)), options, peers)
    if by == "operator":
        names = operator_names(conn)
        for row in rows:
            row.name = names.get(row.group)
    return rows
