"""Passkeys (WebAuthn) as a second factor: the ceremonies' checks, on both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from isegoria.clock import ManualClock
from isegoria.domain.identity import Role
from isegoria.errors import InvalidInput
from isegoria.identity import mfa, passkeys
from isegoria.people import accounts as people
from isegoria.people import sessions
from isegoria.store.models import Account, WebSession
from isegoria.store.models_mfa import Passkey
from isegoria.unit_of_work import UnitOfWork
from tests.support.soft_webauthn import SoftAuthenticator, b64url

RP = passkeys.RelyingParty.from_public_url("https://isegoria.example:8443/")
SESSION = "a-browser-session-token"
PASSWORD = "correct horse battery staple 42"


def _operator(uow: UnitOfWork) -> int:
    with uow.begin():
        account = people.add_account(
            uow, login="petra", display_name="Petra", role=Role.OPERATOR, password=PASSWORD
        )
        return account.id


def _account(uow: UnitOfWork, account_id: int) -> Account:
    return people.get_account(uow, account_id)


def _register(uow: UnitOfWork, account_id: int) -> SoftAuthenticator:
    device = SoftAuthenticator(origin=RP.origin, rp_id=RP.rp_id)
    with uow.begin():
        options = passkeys.begin_registration(uow, RP, _account(uow, account_id), SESSION)
    with uow.begin():
        challenge = passkeys.take_challenge(
            uow, SESSION, passkeys.REGISTER, _account(uow, account_id)
        )
    with uow.begin():
        passkeys.finish_registration(
            uow, RP, _account(uow, account_id), challenge, device.register(options), "laptop"
        )
    return device


def _sign_in(uow: UnitOfWork, account_id: int, answer: object) -> Passkey:
    """Ask for options, take the challenge, check what ``answer(options)`` returns."""
    with uow.begin():
        options = passkeys.begin_authentication(uow, RP, _account(uow, account_id), SESSION)
    with uow.begin():
        challenge = passkeys.take_challenge(
            uow, SESSION, passkeys.AUTHENTICATE, _account(uow, account_id)
        )
    assert callable(answer)
    with uow.begin():
        return passkeys.finish_authentication(
            uow, RP, _account(uow, account_id), challenge, answer(options)
        )


def test_relying_party_comes_from_the_public_url() -> None:
    assert RP.rp_id == "isegoria.example"
    assert RP.origin == "https://isegoria.example:8443"
    with pytest.raises(InvalidInput):
        passkeys.RelyingParty.from_public_url("isegoria.example")


def test_register_then_sign_in_moves_the_counter(uow: UnitOfWork) -> None:
    account_id = _operator(uow)
    device = _register(uow, account_id)
    used = _sign_in(uow, account_id, device.assert_)
    assert used.sign_count == 1
    used = _sign_in(uow, account_id, device.assert_)
    with uow.begin(readonly=True):
        stored = uow.session.get(Passkey, used.id)
        assert stored is not None and stored.sign_count == 2 and stored.last_used_at
        assert passkeys.has_passkey(uow, account_id)
        # A password alone no longer opens a session for an account with a passkey.
        assert mfa.needs_second_factor(uow, _account(uow, account_id))


def test_an_answer_to_another_challenge_is_refused(uow: UnitOfWork) -> None:
    account_id = _operator(uow)
    device = _register(uow, account_id)
    forged = b64url(b"a challenge the server never issued!")
    with pytest.raises(InvalidInput, match="not accepted"):
        _sign_in(uow, account_id, lambda options: device.assert_(options, challenge=forged))


def test_a_replayed_assertion_is_refused(uow: UnitOfWork) -> None:
    account_id = _operator(uow)
    device = _register(uow, account_id)
    captured: list[str] = []

    def answer(options: str) -> str:
        captured.append(device.assert_(options))
        return captured[0]

    _sign_in(uow, account_id, answer)
    # The same signed answer again: its challenge was spent, and no new challenge is pending.
    with uow.begin():
        spent = passkeys.take_challenge(
            uow, SESSION, passkeys.AUTHENTICATE, _account(uow, account_id)
        )
    assert spent is None
    with uow.begin(), pytest.raises(InvalidInput, match="already answered"):
        passkeys.finish_authentication(uow, RP, _account(uow, account_id), spent, captured[0])
    # Replayed against a fresh challenge, it answers the old one.
    with pytest.raises(InvalidInput, match="not accepted"):
        _sign_in(uow, account_id, lambda options: captured[0])


def test_a_refused_answer_still_spends_the_challenge(uow: UnitOfWork) -> None:
    account_id = _operator(uow)
    device = _register(uow, account_id)
    with uow.begin():
        options = passkeys.begin_authentication(uow, RP, _account(uow, account_id), SESSION)
    with uow.begin():
        challenge = passkeys.take_challenge(
            uow, SESSION, passkeys.AUTHENTICATE, _account(uow, account_id)
        )
    with uow.begin(), pytest.raises(InvalidInput):
        passkeys.finish_authentication(
            uow, RP, _account(uow, account_id), challenge, device.assert_(options, origin="x")
        )
    with uow.begin():
        again = passkeys.take_challenge(
            uow, SESSION, passkeys.AUTHENTICATE, _account(uow, account_id)
        )
    assert again is None


def test_a_wrong_origin_is_refused(uow: UnitOfWork) -> None:
    account_id = _operator(uow)
    device = _register(uow, account_id)
    phishing = "https://isegoria.example.evil.test"
    with pytest.raises(InvalidInput, match="not accepted"):
        _sign_in(uow, account_id, lambda options: device.assert_(options, origin=phishing))
    # Registration from another origin is refused as well.
    other = SoftAuthenticator(origin=phishing, rp_id=RP.rp_id)
    with uow.begin():
        options = passkeys.begin_registration(uow, RP, _account(uow, account_id), SESSION)
    with uow.begin():
        challenge = passkeys.take_challenge(
            uow, SESSION, passkeys.REGISTER, _account(uow, account_id)
        )
    with uow.begin(), pytest.raises(InvalidInput, match="not accepted"):
        passkeys.finish_registration(
            uow, RP, _account(uow, account_id), challenge, other.register(options), "x"
        )


def test_a_counter_that_goes_backwards_is_refused(uow: UnitOfWork) -> None:
    account_id = _operator(uow)
    device = _register(uow, account_id)
    _sign_in(uow, account_id, lambda options: device.assert_(options, counter=10))
    # A clone of the key, whose counter lags behind the original's.
    with pytest.raises(InvalidInput, match="not accepted"):
        _sign_in(uow, account_id, lambda options: device.assert_(options, counter=7))
    with pytest.raises(InvalidInput, match="not accepted"):
        _sign_in(uow, account_id, lambda options: device.assert_(options, counter=10))
    with uow.begin(readonly=True):
        stored = uow.session.scalars(select(Passkey).where(Passkey.account_id == account_id)).one()
    assert stored.sign_count == 10


def test_a_challenge_expires_and_belongs_to_its_session(
    uow: UnitOfWork, clock: ManualClock
) -> None:
    account_id = _operator(uow)
    device = _register(uow, account_id)
    with uow.begin():
        options = passkeys.begin_authentication(uow, RP, _account(uow, account_id), SESSION)
    with uow.begin():
        other_session = passkeys.take_challenge(
            uow, "another-session", passkeys.AUTHENTICATE, _account(uow, account_id)
        )
    assert other_session is None
    clock.advance(passkeys.CHALLENGE_LIFETIME + timedelta(seconds=1))
    with uow.begin():
        late = passkeys.take_challenge(
            uow, SESSION, passkeys.AUTHENTICATE, _account(uow, account_id)
        )
    assert late is None
    with uow.begin(), pytest.raises(InvalidInput, match="expired"):
        passkeys.finish_authentication(
            uow, RP, _account(uow, account_id), late, device.assert_(options)
        )


def test_removing_a_passkey_ends_the_sessions_it_verified(uow: UnitOfWork) -> None:
    account_id = _operator(uow)
    device = _register(uow, account_id)
    used = _sign_in(uow, account_id, device.assert_)
    with uow.begin():
        account = _account(uow, account_id)
        token, _row = sessions.start_session(
            uow, account, hours=4, factor=passkeys.PASSKEY, factor_id=used.id
        )
    with uow.begin(readonly=True):
        assert sessions.resolve_session(uow, token) is not None
    with uow.begin():
        passkeys.remove_passkey(uow, _account(uow, account_id), used.id)
    with uow.begin(readonly=True):
        assert sessions.resolve_session(uow, token) is None
        assert uow.session.query(WebSession).count() == 0
        assert not passkeys.has_passkey(uow, account_id)
