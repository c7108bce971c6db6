"""Proof of personhood through OpenID Connect, end to end against a fake provider on loopback.

The fake provider is a small Starlette app served by uvicorn in a thread: discovery
document, authorization endpoint (auto-approves the configured person), token endpoint
(checks the client secret, the redirect URI and the PKCE verifier) and a JWKS; it signs
RS256 ID tokens with joserfc. Misbehaviours are switched on per test.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import RSAKey
from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from isegoria.app import create_app
from isegoria.clock import ManualClock
from isegoria.config import Settings
from isegoria.http.deps import Services
from isegoria.identity import OidcVerifier, VerificationFailed
from isegoria.identity.oidc import pkce_challenge
from isegoria.store.db import Database
from isegoria.store.models import Account
from tests.support.postgres import free_port
from tests.support.world import csrf_from, seed

CLIENT_ID = "isegoria-test"
CLIENT_SECRET = "s3cret-client"


@dataclass
class FakeProvider:
    """State and switches of the fake OpenID provider."""

    issuer: str
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, {"kid": "k1"}))
    subject: str = "person-1"
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    overrides: dict[str, Any] = field(default_factory=dict)
    sign_with: RSAKey | None = None
    token_requests: int = 0

    def id_token(self, nonce: str) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": self.subject,
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "nonce": nonce,
        }
        claims.update(self.overrides)
        claims = {k: v for k, v in claims.items() if v is not None}
        key = self.sign_with or self.key
        return jwt.encode({"alg": "RS256", "kid": "k1"}, claims, key)

    def app(self) -> Starlette:
        async def discovery(request: Request) -> Response:
            return JSONResponse(
                {
                    "issuer": self.issuer,
                    "authorization_endpoint": f"{self.issuer}/authorize",
                    "token_endpoint": f"{self.issuer}/token",
                    "jwks_uri": f"{self.issuer}/jwks",
                    "response_types_supported": ["code"],
                    "id_token_signing_alg_values_supported": ["RS256"],
                    "code_challenge_methods_supported": ["S256"],
                }
            )

        async def authorize(request: Request) -> Response:
            q = request.query_params
            assert q["client_id"] == CLIENT_ID and q["response_type"] == "code"
            assert q["code_challenge_method"] == "S256" and "openid" in q["scope"].split()
            code = secrets.token_urlsafe(16)
            self.codes[code] = {
                "challenge": q["code_challenge"],
                "nonce": q["nonce"],
                "redirect_uri": q["redirect_uri"],
            }
            target = q["redirect_uri"] + "?" + urlencode({"code": code, "state": q["state"]})
            return RedirectResponse(target, status_code=302)

        async def token(request: Request) -> Response:
            self.token_requests += 1
            form = await request.form()
            expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
            if request.headers.get("authorization") != f"Basic {expected}":
                return JSONResponse({"error": "invalid_client"}, status_code=401)
            grant = self.codes.pop(str(form["code"]), None)  # single use
            if grant is None or form["redirect_uri"] != grant["redirect_uri"]:
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            if pkce_challenge(str(form["code_verifier"])) != grant["challenge"]:
                return JSONResponse({"error": "invalid_grant", "why": "pkce"}, status_code=400)
            return JSONResponse(
                {
                    "access_token": "at",
                    "token_type": "Bearer",
                    "id_token": self.id_token(grant["nonce"]),
                }
            )

        async def jwks(request: Request) -> Response:
            return JSONResponse({"keys": [self.key.as_dict(private=False)]})

        return Starlette(
            routes=[
                Route("/.well-known/openid-configuration", discovery),
                Route("/authorize", authorize),
                Route("/token", token, methods=["POST"]),
                Route("/jwks", jwks),
            ]
        )


@pytest.fixture(scope="module")
def provider() -> Iterator[FakeProvider]:
    port = free_port()
    fake = FakeProvider(issuer=f"http://127.0.0.1:{port}")
    server = uvicorn.Server(
        uvicorn.Config(fake.app(), host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the fake provider did not start"
        time.sleep(0.05)
    yield fake
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def fresh(provider: FakeProvider) -> FakeProvider:
    provider.subject = f"person-{secrets.token_hex(4)}"
    provider.overrides = {}
    provider.sign_with = None
    return provider


@pytest.fixture
def oidc_app(
    settings: Settings, database: Database, clock: ManualClock, fresh: FakeProvider
) -> FastAPI:
    configured = settings.model_copy(
        update={
            "oidc_issuer": fresh.issuer,
            "oidc_client_id": CLIENT_ID,
            "oidc_client_secret": CLIENT_SECRET,
            "public_url": "http://testserver",
        }
    )
    # SecretStr is what the settings hold; model_copy does not validate, so wrap it here.
    from pydantic import SecretStr

    configured = configured.model_copy(update={"oidc_client_secret": SecretStr(CLIENT_SECRET)})
    app = create_app(configured, database=database, clock=clock)
    services: Services = app.state.services
    seed(services.uow(), services.box)
    return app


def register(
    client: TestClient, *, name: str = "Rosa", residence: str = "FR", jury: bool = True
) -> httpx.Response:
    """Fill the form, follow the provider, return our callback's answer."""
    form = client.get("/register/oidc/start")
    assert form.status_code == 200, form.text
    data = {"display_name": name, "residence": residence, "csrf_token": csrf_from(form.text)}
    if jury:
        data["jury_opt_in"] = "true"
    started = client.post("/register/oidc/start", data=data, follow_redirects=False)
    assert started.status_code == 303, started.text
    at_provider = httpx.get(started.headers["location"], follow_redirects=False)
    assert at_provider.status_code == 302
    callback = urlsplit(at_provider.headers["location"])
    assert callback.path == "/register/oidc/callback"
    return client.get(f"{callback.path}?{callback.query}", follow_redirects=False)


def citizens(app: FastAPI) -> int:
    services: Services = app.state.services
    with services.database.session(readonly=True) as session:
        return int(session.scalar(select(func.count()).where(Account.role == "citizen")) or 0)


def test_a_verified_person_becomes_one_logged_in_citizen(oidc_app: FastAPI) -> None:
    before = citizens(oidc_app)
    with TestClient(oidc_app, raise_server_exceptions=False) as client:
        answer = register(client)
        assert answer.status_code == 303, answer.text
        me = client.get("/api/v1/me").json()
    assert me["role"] == "citizen" and me["display_name"] == "Rosa"
    assert me["residences"] == ["FR"] and me["jury_opt_in"] is True
    assert me["login"].startswith("id-") and "person-" not in me["login"]
    assert citizens(oidc_app) == before + 1


def test_the_same_person_cannot_register_twice(oidc_app: FastAPI) -> None:
    with TestClient(oidc_app, raise_server_exceptions=False) as first:
        assert register(first).status_code == 303
    with TestClient(oidc_app, raise_server_exceptions=False) as second:
        again = register(second, name="Rosa again", residence="MX")
        assert again.status_code == 409
        assert "one person, one account" in again.text
        assert second.get("/api/v1/me").status_code == 401
    assert citizens(oidc_app) == 2  # ana from the seed, and Rosa once


def test_a_callback_with_a_forged_state_is_refused(oidc_app: FastAPI) -> None:
    with TestClient(oidc_app, raise_server_exceptions=False) as client:
        form = client.get("/register/oidc/start")
        started = client.post(
            "/register/oidc/start",
            data={"display_name": "X", "residence": "FR", "csrf_token": csrf_from(form.text)},
            follow_redirects=False,
        )
        at_provider = httpx.get(started.headers["location"], follow_redirects=False)
        query = parse_qs(urlsplit(at_provider.headers["location"]).query)
        forged = client.get(
            "/register/oidc/callback",
            params={"code": query["code"][0], "state": "attacker-state"},
        )
        assert forged.status_code == 400
        assert "does not belong" in forged.text
    assert citizens(oidc_app) == 1


def test_a_callback_in_another_browser_is_refused(oidc_app: FastAPI) -> None:
    """Login CSRF: an attacker's code and state, replayed in a victim's browser, fail."""
    with TestClient(oidc_app, raise_server_exceptions=False) as attacker:
        form = attacker.get("/register/oidc/start")
        started = attacker.post(
            "/register/oidc/start",
            data={"display_name": "X", "residence": "FR", "csrf_token": csrf_from(form.text)},
            follow_redirects=False,
        )
        at_provider = httpx.get(started.headers["location"], follow_redirects=False)
    callback = urlsplit(at_provider.headers["location"])
    with TestClient(oidc_app, raise_server_exceptions=False) as victim:
        answer = victim.get(f"{callback.path}?{callback.query}")
        assert answer.status_code == 400
        assert "start again" in answer.text
    assert citizens(oidc_app) == 1


def test_the_form_needs_its_csrf_token_and_a_known_residence(oidc_app: FastAPI) -> None:
    with TestClient(oidc_app, raise_server_exceptions=False) as client:
        form = client.get("/register/oidc/start")
        no_csrf = client.post("/register/oidc/start", data={"display_name": "X", "residence": "FR"})
        assert no_csrf.status_code == 403
        unknown = client.post(
            "/register/oidc/start",
            data={"display_name": "X", "residence": "ZZ", "csrf_token": csrf_from(form.text)},
            follow_redirects=False,
        )
        assert unknown.status_code == 404


@pytest.mark.parametrize(
    ("override", "why"),
    [
        ({"iss": "http://evil.example"}, "iss"),
        ({"aud": "someone-else"}, "aud"),
        ({"exp": int(time.time()) - 3600}, "exp"),
        ({"nonce": "replayed-nonce"}, "nonce"),
        ({"sub": None}, "sub"),
        ({"aud": [CLIENT_ID, "other"], "azp": "other"}, "azp"),
    ],
)
def test_bad_id_tokens_are_refused(
    oidc_app: FastAPI, fresh: FakeProvider, override: dict[str, Any], why: str
) -> None:
    fresh.overrides = override
    with TestClient(oidc_app, raise_server_exceptions=False) as client:
        answer = register(client)
        assert answer.status_code == 400, (why, answer.text)
        assert "Identity not verified" in answer.text
    assert citizens(oidc_app) == 1


def test_a_token_signed_with_another_key_is_refused(oidc_app: FastAPI, fresh: FakeProvider) -> None:
    fresh.sign_with = RSAKey.generate_key(2048, {"kid": "k1"})
    with TestClient(oidc_app, raise_server_exceptions=False) as client:
        answer = register(client)
        assert answer.status_code == 400
        assert "signature" in answer.text


def test_validate_id_token_checks_signature_and_claims_directly(fresh: FakeProvider) -> None:
    verifier = OidcVerifier(fresh.issuer, CLIENT_ID, CLIENT_SECRET)
    try:
        good = verifier.validate_id_token(fresh.id_token("n-1"), "n-1")
        assert good.subject == fresh.subject and good.issuer == fresh.issuer
        with pytest.raises(VerificationFailed):
            verifier.validate_id_token(fresh.id_token("n-1"), "n-2")
        header, payload, signature = fresh.id_token("n-1").split(".")
        unsigned = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()
        with pytest.raises(VerificationFailed):
            verifier.validate_id_token(f"{unsigned}.{payload}.", "n-1")
        with pytest.raises(VerificationFailed):
            verifier.validate_id_token("not-a-jwt", "n-1")
    finally:
        verifier.close()


def test_pkce_challenge_matches_rfc_7636_appendix_b() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert pkce_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    assert hashlib.sha256(verifier.encode()).digest()  # the S256 method hashes the ASCII


def test_registration_is_not_offered_without_a_provider(
    app: FastAPI, world_unused: None = None
) -> None:
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/register/oidc/start").status_code == 404
        assert client.get("/register/oidc/callback?code=x&state=y").status_code == 404
