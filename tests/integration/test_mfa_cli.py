"""The second factor's commands: a demo staff code, and resetting a lost factor."""

from __future__ import annotations

import time
from pathlib import Path

import pyotp
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from isegoria.cli import app
from isegoria.demo import world
from isegoria.domain.identity import Role
from isegoria.identity import mfa
from isegoria.ops import staff_trail
from isegoria.people import accounts as people
from isegoria.security import SecretBox
from isegoria.store.models import WebSession
from isegoria.store.models_mfa import SecondFactor
from isegoria.unit_of_work import UnitOfWork

runner = CliRunner()
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


@pytest.fixture
def env(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("ISEGORIA_DATA_DIR", str(data))
    monkeypatch.setenv("ISEGORIA_DATABASE_URL", database_url)
    return data


def test_staff_totp_prints_a_demo_code_and_nothing_for_others(env: Path) -> None:
    logins = world.DemoLogins(
        people={"operator": "pw", "ana": "pw"}, platform="p", platform_key="k", webhook_secret="w"
    )
    logins.totp["operator"] = SECRET
    world.save_logins(env, logins)
    shown = runner.invoke(app, ["staff", "totp", "operator"])
    assert shown.exit_code == 0, shown.output
    # The code of now, or of the next step if the 30 seconds turned over meanwhile.
    now = time.time()
    assert shown.output.strip() in {pyotp.TOTP(SECRET).at(now - d) for d in (0, 30)}
    refused = runner.invoke(app, ["staff", "totp", "ana"])
    assert refused.exit_code == 1
    assert "authenticator app" in refused.output and "Traceback" not in refused.output


def test_reset_second_factor_removes_it_and_ends_sessions(env: Path, uow: UnitOfWork) -> None:
    box = SecretBox(b"x" * 32)
    with uow.begin():
        olga = people.add_account(
            uow, login="olga", display_name="Olga", role=Role.OPERATOR, password=None
        )
        factor_id = mfa.enrol_known_secret(uow, box, olga, SECRET)
        uow.session.add(
            WebSession(
                token_hash="a" * 64,
                account_id=olga.id,
                csrf_token="c",
                created_at=uow.now(),
                expires_at=uow.now(),
                factor="totp",
                factor_id=factor_id,
            )
        )
    result = runner.invoke(app, ["staff", "reset-second-factor", "olga"])
    assert result.exit_code == 0, result.output
    with uow.begin(readonly=True):
        assert uow.session.scalar(select(SecondFactor.id)) is None
        assert uow.session.scalar(select(WebSession.token_hash)) is None
    unknown = runner.invoke(app, ["staff", "reset-second-factor", "nobody"])
    assert unknown.exit_code == 1 and "no account" in unknown.output


def test_staff_commands_leave_the_shell_user_in_the_trail(env: Path, uow: UnitOfWork) -> None:
    password = "a long staff passphrase for the cli"
    for login in ("olga", "otto"):
        added = runner.invoke(
            app,
            ["staff", "add", login, "--role", "operator", "--name", login, "--password-stdin"],
            input=password + "\n",
        )
        assert added.exit_code == 0, added.output
    reset = runner.invoke(app, ["staff", "reset-second-factor", "otto"])
    assert reset.exit_code == 0, reset.output
    removed = runner.invoke(app, ["staff", "remove", "otto"])
    assert removed.exit_code == 0, removed.output
    again = runner.invoke(app, ["staff", "remove", "otto"])
    assert again.exit_code != 0 and "removed already" in again.output
    assert "Traceback" not in again.output
    last = runner.invoke(app, ["staff", "remove", "olga"])
    assert last.exit_code != 0 and "last operator" in last.output
    with uow.begin(readonly=True):
        trail = staff_trail.staff_trail(uow)
    assert [r.action for r in reversed(trail)] == [
        "staff.added",
        "staff.added",
        "second_factor.reset",
        "staff.removed",
    ]
    assert all(r.via == "cli" and r.actor.startswith("cli:") for r in trail)
    assert [r.log_index is not None for r in reversed(trail)] == [True, True, False, True]
