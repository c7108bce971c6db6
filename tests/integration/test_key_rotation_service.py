"""log/rotation.py: the key rotation the CLI calls, one transaction, no key lost on failure."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from isegoria.errors import Conflict, NotFound
from isegoria.http.deps import Services
from isegoria.log import read
from isegoria.log.rotation import rotate_signing_key, staged_path
from isegoria.log.signing import load_signer
from isegoria.unit_of_work import UnitOfWork
from tests.integration.test_log_verify import fill_log


def _size(uow: UnitOfWork) -> int:
    with uow.begin(readonly=True):
        return read.tree_size(uow.session)


def test_a_rotation_appends_one_entry_and_replaces_the_key_file(app: FastAPI) -> None:
    services: Services = app.state.services
    path = services.settings.signing_key_path
    fill_log(services.uow(), (2,))
    old = services.signer.verifier_key
    rotation = rotate_signing_key(services.uow(), services.settings.origin, path)
    assert (rotation.index, rotation.boundary, rotation.retired) == (2, 3, old)
    assert load_signer(services.settings.origin, path).verifier_key == rotation.current != old
    assert not staged_path(path).exists()
    assert _size(services.uow()) == 3


def test_an_unfinished_rotation_is_refused_and_nothing_changes(app: FastAPI) -> None:
    services: Services = app.state.services
    path = services.settings.signing_key_path
    staged_path(path).write_bytes(b"left over")
    before = path.read_bytes()
    with pytest.raises(Conflict, match="an earlier rotation did not finish"):
        rotate_signing_key(services.uow(), services.settings.origin, path)
    assert path.read_bytes() == before and _size(services.uow()) == 0


def test_a_failed_append_keeps_the_old_key_and_leaves_no_staged_file(app: FastAPI) -> None:
    services: Services = app.state.services
    path = services.settings.signing_key_path
    before = path.read_bytes()
    unsigned = UnitOfWork(services.database, services.clock)  # cannot append: no signer
    with pytest.raises(RuntimeError, match="no log signer"):
        rotate_signing_key(unsigned, services.settings.origin, path)
    assert path.read_bytes() == before
    assert not staged_path(path).exists()
    assert _size(services.uow()) == 0


def test_no_key_file_means_nothing_to_rotate(app: FastAPI) -> None:
    services: Services = app.state.services
    missing = services.settings.data_dir / "absent.key"
    with pytest.raises(NotFound, match="nothing to rotate"):
        rotate_signing_key(services.uow(), services.settings.origin, missing)
