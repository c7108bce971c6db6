"""A jury's lottery leaves the process's warning filters alone.

``warnings.catch_warnings`` swaps the filters of the whole process, not of one thread. scipy's
``LinearConstraint`` used it with ``simplefilter("error")`` for a dense matrix, so while the
worker thread prepared a draw, a warning raised in another thread (pydantic's, as the server
started) became an exception and the server did not start. The constraints are sparse now;
this test watches every filter change a whole preparation makes.
"""

from __future__ import annotations

import sys
from types import FrameType
from typing import Any

from isegoria.algorithms.sortition import draw_jury, prepare_portfolio
from tests.unit.test_sortition_seatable import LONE, POOL25, QUOTAS25, make_pool

FILTER_CHANGES = ("simplefilter", "filterwarnings")


def test_preparing_and_drawing_a_jury_never_turns_warnings_into_errors() -> None:
    actions: list[str] = []

    def watch(frame: FrameType, event: str, _arg: Any) -> None:
        code = frame.f_code
        if (
            event == "call"
            and code.co_name in FILTER_CHANGES
            and code.co_filename.endswith("warnings.py")
        ):
            actions.append(str(frame.f_locals.get("action")))

    sys.setprofile(watch)
    try:
        # POOL25 has an unseatable volunteer: the elastic MILP that explains it runs too.
        pool = make_pool(POOL25)
        portfolio = prepare_portfolio(pool, 6, QUOTAS25)
        drawn = draw_jury(portfolio, pool, b"\x01" * 32)
    finally:
        sys.setprofile(None)
    assert portfolio.unseatable and portfolio.unseatable[0].profile == LONE
    assert drawn is not None
    assert "error" not in actions, actions
