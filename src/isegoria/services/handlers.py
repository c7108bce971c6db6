"""Import every module that registers deadline-job handlers, so a worker can run them all."""

from __future__ import annotations

from isegoria.notifications import hooks as notification_hooks
from isegoria.services import cases_jobs, law_votes, notes_scoring

MODULES = (cases_jobs, law_votes, notes_scoring, notification_hooks)
