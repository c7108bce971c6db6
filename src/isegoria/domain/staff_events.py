"""Events of the staff: what operators did that the public is entitled to see.

The staff audit trail keeps every staff action (with the actor's login, for auditors);
the ones that change what the public deals with (platforms and their keys, who is staff,
the log's signing key) are also logged here, naming a role and ids, never a login.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from isegoria.domain.events import Event


@dataclass(frozen=True)
class StaffActionTaken(Event):
    """An operator (or the instance's shell) did something that affects the public."""

    kind: ClassVar[str] = "StaffActionTaken"
    subject_type: ClassVar[str] = "staff_action"

    trail_id: int
    action: str
    subject: str
    actor_role: str

    @property
    def subject_id(self) -> str:
        """The staff trail row's id."""
        return str(self.trail_id)
