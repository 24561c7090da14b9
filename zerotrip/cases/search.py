"""The case list's text search, backed by an index instead of ``ILIKE '%q%'`` over every row.

Staff find a case by a piece of its reference, the applicant's name, phone, organisation or
premises address, in Chinese as often as not: "文三" must find "文三路 90 号". Word-based full
text search does not split Chinese, and trigram indexes (pg_trgm) cannot serve a two-character
pattern, so each case keeps its searchable text in a gram table on both databases:

* ``case_search``: the case's fields, normalised (NFKC, case-folded), one row per case; the
  final check ``instr``/``strpos`` runs on it, so a match is an exact substring match;
* ``case_search_grams``: every character and every pair of adjacent characters of each field
  (never across fields), keyed ``(gram, case_id)``. A query of two or more characters is a
  case that has all of the query's pairs; of one character, a case that has that character.

Both tables are written by mapper events on :class:`~zerotrip.cases.models.Case` inside the
flush that writes the case, so they change in the same transaction as the case row; the
migration fills them for existing cases and :func:`rows_for` serves bulk loaders.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from zerotrip.cases.models import Case

SEARCHED = ("reference", "applicant_name", "applicant_phone", "organisation", "premises_address")
SEPARATOR = "\x1f"  # between fields in ``case_search.body``; never part of a field or a query
MAX_QUERY_GRAMS = 8  # more pairs narrow little and cost one index range each


class CaseSearch(SQLModel, table=True):
    __tablename__ = "case_search"

    case_id: int = Field(
        foreign_key="cases.id", primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    body: str = Field(sa_column=sa.Column(sa.Text, nullable=False))


class CaseSearchGram(SQLModel, table=True):
    __tablename__ = "case_search_grams"
    __table_args__ = (sa.Index("ix_case_search_grams_case", "case_id"),)

    gram: str = Field(max_length=2, primary_key=True)
    case_id: int = Field(
        foreign_key="cases.id", primary_key=True, sa_column_kwargs={"autoincrement": False}
    )


def normalise(text: str) -> str:
    """What is compared: full-width and compatibility forms folded, case folded."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return folded.replace(SEPARATOR, " ").replace("\x00", "")


def field_grams(text: str) -> set[str]:
    """Each character and each adjacent pair of one normalised field."""
    return set(text) | {text[i : i + 2] for i in range(len(text) - 1)}


def query_grams(query: str) -> list[str]:
    """The grams a case must have to contain ``query`` (normalised): its pairs, or the single
    character, at most :data:`MAX_QUERY_GRAMS` of them spread over the query."""
    if len(query) < 2:
        return [query] if query else []
    pairs = sorted({query[i : i + 2] for i in range(len(query) - 1)})
    if len(pairs) <= MAX_QUERY_GRAMS:
        return pairs
    step = len(pairs) / MAX_QUERY_GRAMS
    return [pairs[int(i * step)] for i in range(MAX_QUERY_GRAMS)]


def rows_for(case: Mapping[str, Any] | Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The ``case_search`` row and the ``case_search_grams`` rows of one case (a mapping of
    columns or a :class:`Case`)."""
    get = case.get if isinstance(case, Mapping) else lambda k: getattr(case, k, None)
    fields = [normalise(get(k) or "") for k in SEARCHED]
    grams: set[str] = set()
    for text in fields:
        grams |= field_grams(text)
    case_id = get("id")
    return (
        {"case_id": case_id, "body": SEPARATOR.join(fields)},
        [{"gram": g, "case_id": case_id} for g in sorted(grams)],
    )


def write_index(conn: sa.Connection, cases: Iterable[Mapping[str, Any] | Any]) -> None:
    """Replace the search rows of ``cases`` on ``conn`` (inside the caller's transaction)."""
    bodies, grams, ids = [], [], []
    for case in cases:
        body, gram_rows = rows_for(case)
        ids.append(body["case_id"])
        bodies.append(body)
        grams.extend(gram_rows)
    if not ids:
        return
    text, pairs = CaseSearch.__table__, CaseSearchGram.__table__  # type: ignore[attr-defined]
    conn.execute(sa.delete(pairs).where(pairs.c.case_id.in_(ids)))
    conn.execute(sa.delete(text).where(text.c.case_id.in_(ids)))
    conn.execute(sa.insert(text), bodies)
    if grams:
        conn.execute(sa.insert(pairs), grams)


def _after_insert(_mapper: Any, conn: sa.Connection, case: Case) -> None:
    write_index(conn, [case])


def _after_update(_mapper: Any, conn: sa.Connection, case: Case) -> None:
    state = sa.inspect(case)
    if any(state.attrs[k].history.has_changes() for k in SEARCHED):
        write_index(conn, [case])


def _before_delete(_mapper: Any, conn: sa.Connection, case: Case) -> None:
    text, pairs = CaseSearch.__table__, CaseSearchGram.__table__  # type: ignore[attr-defined]
    conn.execute(sa.delete(pairs).where(pairs.c.case_id == case.id))
    conn.execute(sa.delete(text).where(text.c.case_id == case.id))


def install() -> None:
    """Keep the search tables in step with every ORM write of a case (idempotent)."""
    for name, fn in (
        ("after_insert", _after_insert),
        ("after_update", _after_update),
        ("before_delete", _before_delete),
    ):
        if not sa.event.contains(Case, name, fn):
            sa.event.listen(Case, name, fn)


install()
