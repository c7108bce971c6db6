"""The rulebook kept between requests, and read again as soon as the law tables change.

Every report names a rule, and checking that it may be cited needs the whole rulebook: all
rule versions and the tree of jurisdictions. Building it on each report is most of the cost
of report intake, while the law changes a few times a year. So each process keeps the
rulebook it built last, per database, with a fingerprint of the law tables: the number of
rule versions, how many have an end (``effective_until`` is set once, when a later act
amends or repeals the rule; nothing else in a version ever changes) and the latest end, and
the number of jurisdictions. One aggregate query reads the fingerprint; any enactment,
amendment, repeal or new jurisdiction, made by this process or another, changes it and the
next call rebuilds. Pages that show rule texts read them directly, never from here.

The codes of the stored jurisdictions are kept with the rulebook (``current_law``): report
intake checks every code a platform names, and the same fingerprint already covers them
(jurisdictions are added, never removed or renamed), so the check costs no query.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from weakref import WeakKeyDictionary

from sqlalchemy import func, select

from isegoria.domain.rulebook import Rulebook
from isegoria.law.read import load_rulebook
from isegoria.store.db import Database
from isegoria.store.models import Jurisdiction, RuleVersionRow
from isegoria.unit_of_work import UnitOfWork

Fingerprint = tuple[object, ...]


@dataclass(frozen=True)
class Law:
    """The rulebook and the codes of every stored jurisdiction, as of one fingerprint."""

    rulebook: Rulebook
    jurisdictions: frozenset[str]


_lock = threading.Lock()
_kept: WeakKeyDictionary[Database, tuple[Fingerprint, Law]] = WeakKeyDictionary()


# Built once: SQLAlchemy computes its cache key once per process, not once per report.
_FINGERPRINT = select(
    func.count(),
    func.count(RuleVersionRow.effective_until),
    func.max(RuleVersionRow.effective_until),
    select(func.count()).select_from(Jurisdiction).scalar_subquery(),
).select_from(RuleVersionRow)


def fingerprint(uow: UnitOfWork) -> Fingerprint:
    """What changes whenever the rulebook does (one query)."""
    return tuple(uow.session.execute(_FINGERPRINT).one())


def current_law(uow: UnitOfWork) -> Law:
    """The law as the caller's transaction sees it, rebuilt only when it changed (one query
    when it did not)."""
    key = fingerprint(uow)
    with _lock:
        kept = _kept.get(uow.database)
    if kept is not None and kept[0] == key:
        return kept[1]
    codes = frozenset(uow.session.scalars(select(Jurisdiction.code)))
    law = Law(load_rulebook(uow), codes)
    with _lock:
        _kept[uow.database] = (key, law)
    return law
