"""Filter, sort and free-text evaluation for HubSpot's CRM search endpoint.

HubSpot compares by property type, not as plain strings: numbers numerically, dates and
datetimes as instants (filter values in epoch milliseconds or ISO 8601), strings
case-insensitively, enumerations case-sensitively, and string ``IN``/``NOT_IN`` values
only match when given in lowercase (the index stores lowercased strings and the values are
not folded). Adapters rely on these rules to decide whether a pushed-down predicate is
exact, so they live in one place here.

Choices where the documentation is silent (configurable where it matters):

- A record without a value (unset or ``""``) matches only ``NOT_HAS_PROPERTY``; negations
  (``NEQ``, ``NOT_IN``, ``NOT_CONTAINS_TOKEN``) do not match it unless
  ``negation_matches_missing`` is set.
- Multiple-checkbox enumerations (``fieldType`` ``checkbox``, values joined by ``;``) use
  set semantics: ``EQ``/``IN`` match when any selected option is named, ``NEQ``/``NOT_IN``
  when none is.
- Sorting puts records without a value last in both directions (the search backend's
  default); ties keep creation order.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sandbox.projections.hubspot_model import HubSpotObject, HubSpotProperty, HubSpotRecord

__all__ = [
    "OPERATORS",
    "SearchError",
    "SearchIndex",
    "SearchLimits",
    "parse_instant",
]

OPERATORS = frozenset(
    {
        "EQ",
        "NEQ",
        "LT",
        "LTE",
        "GT",
        "GTE",
        "BETWEEN",
        "IN",
        "NOT_IN",
        "HAS_PROPERTY",
        "NOT_HAS_PROPERTY",
        "CONTAINS_TOKEN",
        "NOT_CONTAINS_TOKEN",
    }
)
_NEGATIONS = frozenset({"NEQ", "NOT_IN", "NOT_CONTAINS_TOKEN"})

# Associated-ids lookup for the ``associations.<type>`` pseudo-property:
# (target object type as written, target id) -> ids of records of the searched object,
# or None when the target type is unknown.
AssociationLookup = Callable[[str, str], "set[str] | None"]


class SearchError(Exception):
    """A search request HubSpot rejects with 400 VALIDATION_ERROR."""

    def __init__(self, message: str, context: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.context = context


@dataclass(frozen=True)
class SearchLimits:
    """Documented search limits (current docs: 5 groups, 6 filters per group, 18 total)."""

    max_filter_groups: int = 5
    max_filters_per_group: int = 6
    max_filters_total: int = 18


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_EPOCH = re.compile(r"^-?\d+$")


def parse_instant(text: str) -> int | None:
    """Epoch milliseconds from ``"1579514400000"``, ``"2024-01-31"`` or an ISO datetime."""
    text = text.strip()
    if not text:
        return None
    if _EPOCH.match(text):
        return int(text)
    try:
        if _ISO_DATE.match(text):
            d = dt.date.fromisoformat(text)
            moment = dt.datetime(d.year, d.month, d.day, tzinfo=dt.UTC)
        else:
            moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=dt.UTC)
    except ValueError:
        return None
    return int(moment.timestamp() * 1000)


def _kind(prop: HubSpotProperty) -> str:
    t = prop.type
    if t == "number":
        return "number"
    if t in ("date", "datetime"):
        return "instant"
    if t == "bool":
        return "bool"
    if t == "enumeration":
        return "multi" if prop.field_type == "checkbox" else "enum"
    return "string"


def _typed(kind: str, raw: str | None) -> Any:
    """The comparable form of a stored value (None when missing or unparseable)."""
    if raw is None or raw == "":
        return None
    if kind == "number":
        try:
            return float(raw)
        except ValueError:
            return None
    if kind == "instant":
        return parse_instant(raw)
    if kind == "bool":
        return raw.strip().lower()
    if kind == "enum":
        return raw
    if kind == "multi":
        return frozenset(v for v in raw.split(";") if v)
    return raw.casefold()


_WORD = re.compile(r"\w+", re.UNICODE)


def _tokens(raw: str, fold: bool) -> tuple[set[str], list[str]]:
    """Whitespace-separated chunks and word tokens of a value (for CONTAINS_TOKEN)."""
    text = raw.casefold() if fold else raw
    return set(text.split()), _WORD.findall(text)


def _token_matcher(pattern: str, fold: bool) -> Callable[[str], bool]:
    """``CONTAINS_TOKEN`` semantics: a token, a token sequence, or a ``*`` wildcard pattern."""
    pat = pattern.casefold() if fold else pattern
    if "*" in pat:
        rx = re.compile("^" + ".*".join(re.escape(p) for p in pat.split("*")) + "$", re.DOTALL)

        def wild(raw: str) -> bool:
            text = raw.casefold() if fold else raw
            chunks, words = _tokens(raw, fold)
            return bool(
                rx.match(text)
                or any(rx.match(c) for c in chunks)
                or any(rx.match(w) for w in words)
            )

        return wild
    wanted = _WORD.findall(pat)

    def token(raw: str) -> bool:
        chunks, words = _tokens(raw, fold)
        if pat in chunks:
            return True
        if not wanted:
            return False
        n = len(wanted)
        return any(words[i : i + n] == wanted for i in range(len(words) - n + 1))

    return token


@dataclass
class SearchIndex:
    """One object's non-archived records in creation order, with typed columns built lazily."""

    obj: HubSpotObject
    records: list[HubSpotRecord]
    props: dict[str, HubSpotProperty]
    negation_matches_missing: bool = False
    _typed_cols: dict[str, list[Any]] = field(default_factory=dict, repr=False)

    @classmethod
    def build(
        cls,
        obj: HubSpotObject,
        records: Sequence[HubSpotRecord],
        props: dict[str, HubSpotProperty],
        negation_matches_missing: bool = False,
    ) -> SearchIndex:
        return cls(obj, list(records), props, negation_matches_missing)

    def raw(self, name: str) -> list[str | None]:
        if name == "hs_object_id":
            return [r.properties.get(name) or r.id for r in self.records]
        return [r.properties.get(name) for r in self.records]

    def typed(self, name: str) -> list[Any]:
        col = self._typed_cols.get(name)
        if col is None:
            kind = _kind(self.props[name])
            col = [_typed(kind, v) for v in self.raw(name)]
            self._typed_cols[name] = col
        return col

    # ------------------------------------------------------------------ request
    def run(
        self,
        filter_groups: Any,
        sorts: Any,
        query: Any,
        limits: SearchLimits,
        associations: AssociationLookup | None = None,
    ) -> list[int]:
        """Positions (into ``records``) of the matching records, in the requested order."""
        groups = self._validate_groups(filter_groups, limits)
        n = len(self.records)
        if not groups:
            matched = list(range(n))
        else:
            compiled = [[self._compile(f, associations) for f in g] for g in groups]
            matched = []
            for i in range(n):
                for preds in compiled:
                    if all(p(i) for p in preds):
                        matched.append(i)
                        break
        if query not in (None, ""):
            if not isinstance(query, str):
                raise SearchError("query must be a string")
            keep = self._query_matcher(query)
            matched = [i for i in matched if keep(i)]
        sort = self._first_sort(sorts)
        if sort is not None:
            name, descending = sort
            col = self.typed(name)
            present = [i for i in matched if col[i] is not None]
            missing = [i for i in matched if col[i] is None]
            if _kind(self.props[name]) == "multi":
                present.sort(key=lambda i: ";".join(sorted(col[i])), reverse=descending)
            else:
                present.sort(key=col.__getitem__, reverse=descending)
            matched = present + missing
        return matched

    def _validate_groups(self, filter_groups: Any, limits: SearchLimits) -> list[list[dict]]:
        if filter_groups is None:
            return []
        if not isinstance(filter_groups, list):
            raise SearchError("filterGroups must be an array")
        if len(filter_groups) > limits.max_filter_groups:
            raise SearchError(
                f"Too many filter groups: {len(filter_groups)}. "
                f"A search request may contain at most {limits.max_filter_groups} filterGroups.",
                {"filterGroups": [str(len(filter_groups))]},
            )
        total = 0
        groups: list[list[dict]] = []
        for g in filter_groups:
            filters = g.get("filters") if isinstance(g, dict) else None
            if not isinstance(filters, list):
                raise SearchError("each filter group needs a filters array")
            if len(filters) > limits.max_filters_per_group:
                raise SearchError(
                    f"Too many filters in a filter group: {len(filters)}. A filter group may "
                    f"contain at most {limits.max_filters_per_group} filters.",
                    {"filters": [str(len(filters))]},
                )
            total += len(filters)
            for f in filters:
                if not isinstance(f, dict):
                    raise SearchError("each filter must be an object")
            groups.append(filters)
        if total > limits.max_filters_total:
            raise SearchError(
                f"Too many filters: {total}. A search request may contain at most "
                f"{limits.max_filters_total} filters across all filter groups.",
                {"filters": [str(total)]},
            )
        return [g for g in groups if g] if any(groups) else []

    def _first_sort(self, sorts: Any) -> tuple[str, bool] | None:
        """Only the first sort rule is honoured, as HubSpot documents."""
        if not sorts:
            return None
        if not isinstance(sorts, list):
            raise SearchError("sorts must be an array")
        rule = sorts[0]
        if isinstance(rule, str):
            descending = rule.startswith("-")
            name = rule.lstrip("-+")
        elif isinstance(rule, dict):
            name = rule.get("propertyName")
            direction = str(rule.get("direction") or "ASCENDING").upper()
            if direction not in ("ASCENDING", "DESCENDING"):
                raise SearchError(f"Invalid sort direction: {direction}")
            descending = direction == "DESCENDING"
        else:
            raise SearchError("each sort must be an object or a property name")
        if not isinstance(name, str) or name not in self.props:
            raise SearchError(
                f"Unable to sort by property {name!r}: it does not exist",
                {"propertyName": [str(name)]},
            )
        return name, descending

    def _query_matcher(self, query: str) -> Callable[[int], bool]:
        """Free text: every query word must prefix a word of a default text property."""
        words = _WORD.findall(query.casefold())
        names = [
            p.name
            for p in self.props.values()
            if p.default and _kind(p) in ("string", "enum", "multi")
        ] or [p.name for p in self.props.values() if _kind(p) == "string"]
        cols = [self.raw(n) for n in names]

        def keep(i: int) -> bool:
            text = " ".join(c[i] or "" for c in cols).casefold()
            have = _WORD.findall(text)
            return all(any(h.startswith(w) for h in have) for w in words)

        return keep

    # ------------------------------------------------------------------ filters
    def _compile(
        self, f: dict[str, Any], associations: AssociationLookup | None
    ) -> Callable[[int], bool]:
        name = f.get("propertyName")
        op = f.get("operator")
        if not isinstance(name, str) or not name:
            raise SearchError("filter propertyName is required")
        if op not in OPERATORS:
            raise SearchError(
                f"Invalid filter operator: {op!r}. Supported operators: "
                + ", ".join(sorted(OPERATORS)),
                {"operator": [str(op)]},
            )
        if name.startswith("associations.") and associations is not None:
            return self._compile_association(name, op, f, associations)
        prop = self.props.get(name)
        if prop is None:
            raise SearchError(
                f"There was a problem with the request: property {name!r} does not exist "
                f"on {self.obj.name}",
                {"propertyName": [name]},
            )
        kind = _kind(prop)
        col = self.typed(name)
        neg_missing = self.negation_matches_missing

        if op in ("HAS_PROPERTY", "NOT_HAS_PROPERTY"):
            # A value that does not parse as its type still counts as present.
            present = [v is not None and v != "" for v in self.raw(name)]
            if op == "HAS_PROPERTY":
                return present.__getitem__
            return lambda i: not present[i]

        if op in ("IN", "NOT_IN"):
            values = f.get("values")
            if not isinstance(values, list) or not values:
                raise SearchError(f"{op} requires a non-empty values array", {"values": []})
            conv = {self._filter_value(kind, v, name, fold=False) for v in values}
            negate = op == "NOT_IN"
            if kind == "multi":

                def member(i: int) -> bool:
                    v = col[i]
                    if v is None:
                        return negate and neg_missing
                    return bool(v & conv) != negate

                return member

            def inside(i: int) -> bool:
                v = col[i]
                if v is None:
                    return negate and neg_missing
                return (v in conv) != negate

            return inside

        value = f.get("value")
        if op == "BETWEEN":
            high = f.get("highValue")
            if value is None or high is None:
                raise SearchError("BETWEEN requires value and highValue")
            lo = self._filter_value(kind, value, name)
            hi = self._filter_value(kind, high, name)
            if kind == "multi":
                raise SearchError(f"BETWEEN is not supported for property {name!r}")
            return lambda i: col[i] is not None and lo <= col[i] <= hi
        if value is None:
            raise SearchError(f"{op} requires a value", {"propertyName": [name]})

        if op in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
            fold = kind not in ("enum", "multi")
            match = _token_matcher(str(value), fold)
            raw = self.raw(name)
            negate = op == "NOT_CONTAINS_TOKEN"

            def token(i: int) -> bool:
                v = raw[i]
                if v is None or v == "":
                    return negate and neg_missing
                return match(v) != negate

            return token

        target = self._filter_value(kind, value, name)
        if kind == "multi":
            if op == "EQ":
                return lambda i: col[i] is not None and target in col[i]
            if op == "NEQ":
                return lambda i: neg_missing if col[i] is None else target not in col[i]
            raise SearchError(f"{op} is not supported for property {name!r}")
        if op == "EQ":
            return lambda i: col[i] is not None and col[i] == target
        if op == "NEQ":
            return lambda i: neg_missing if col[i] is None else col[i] != target
        if op == "LT":
            return lambda i: col[i] is not None and col[i] < target
        if op == "LTE":
            return lambda i: col[i] is not None and col[i] <= target
        if op == "GT":
            return lambda i: col[i] is not None and col[i] > target
        return lambda i: col[i] is not None and col[i] >= target  # GTE

    def _filter_value(self, kind: str, value: Any, name: str, fold: bool = True) -> Any:
        if isinstance(value, bool):
            value = "true" if value else "false"
        if not isinstance(value, str | int | float):
            raise SearchError(f"Invalid filter value for property {name!r}")
        text = str(value)
        if kind == "number":
            try:
                return float(text)
            except ValueError:
                raise SearchError(
                    f"{text!r} is not a valid number for property {name!r}",
                    {"propertyName": [name]},
                ) from None
        if kind == "instant":
            ms = parse_instant(text)
            if ms is None:
                raise SearchError(
                    f"{text!r} is not a valid date for property {name!r}; use epoch "
                    "milliseconds or ISO 8601",
                    {"propertyName": [name]},
                )
            return ms
        if kind == "bool":
            return text.strip().lower()
        if kind in ("enum", "multi"):
            return text
        # strings: EQ/LT/... fold the value; IN/NOT_IN compare the lowercased index with the
        # values as given, so only lowercase values can match (documented HubSpot rule).
        return text.casefold() if fold else text

    def _compile_association(
        self, name: str, op: str, f: dict[str, Any], associations: AssociationLookup
    ) -> Callable[[int], bool]:
        target_type = name.split(".", 1)[1]
        if op == "EQ":
            ids = [f.get("value")]
        elif op == "IN":
            ids = list(f.get("values") or [])
        else:
            raise SearchError(f"Operator {op} is not supported for {name}")
        matched: set[str] = set()
        for target in ids:
            found = associations(target_type, str(target))
            if found is None:
                raise SearchError(f"Unknown association type in {name!r}", {"propertyName": [name]})
            matched |= found
        rec_ids = [r.id for r in self.records]
        return lambda i: rec_ids[i] in matched
