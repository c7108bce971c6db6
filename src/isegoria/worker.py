"""Import every module that registers deadline-job handlers, so a worker can run them all."""

from __future__ import annotations

from isegoria.cases import jobs as cases_jobs
from isegoria.law import votes as law_votes
from isegoria.notes import scoring as notes_scoring
from isegoria.notifications import hooks as notification_hooks

MODULES = (cases_jobs, law_votes, notes_scoring, notification_hooks)
