"""Registration pages: a form, a round trip to the identity provider, a new citizen.

``GET /register/oidc/start`` shows the form (display name, residence, jury opt-in);
``POST`` checks it and its CSRF token and sends the browser to the provider with the form's
answers and the flow's secrets sealed in a short-lived cookie; ``GET /register/oidc/callback``
checks the provider's answer against that cookie, creates the citizen and logs them in.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from isegoria.errors import InvalidInput, NotFound
from isegoria.http.access import PUBLIC, access
from isegoria.http.cookies import set_session_cookie
from isegoria.http.deps import ServicesDep, UnitOfWorkDep
from isegoria.identity.flow import FLOW_COOKIE, FLOW_PATH, FLOW_SECONDS, FlowSealer
from isegoria.identity.protocol import IdentityVerifier
from isegoria.identity.registration import register_citizen
from isegoria.people import jurisdictions, sessions
from isegoria.web.pages import MAX_FORM_FIELD, check_form_csrf, render

router = APIRouter(include_in_schema=False)

CALLBACK_PATH = "/register/oidc/callback"
MAX_QUERY_VALUE = 2048  # authorization codes and states are far shorter


def _verifier(request: Request) -> IdentityVerifier:
    verifier: IdentityVerifier | None = getattr(request.app.state, "identity_verifier", None)
    if verifier is None:
        raise NotFound("this instance does not offer registration through an identity provider")
    return verifier


def _return_url(services: ServicesDep) -> str:
    return services.settings.effective_public_url + CALLBACK_PATH


@router.get("/register/oidc/start", response_class=HTMLResponse, **access(PUBLIC))
def register_form(request: Request, uow: UnitOfWorkDep) -> HTMLResponse:
    """The registration form."""
    _verifier(request)
    with uow.begin(readonly=True):
        options = [(j.code, j.name, depth) for j, depth in jurisdictions.tree_order(uow)]
    return render(request, "register_oidc.html", {"jurisdictions": options})


@router.post("/register/oidc/start", response_model=None, **access(PUBLIC))
def register_start(
    request: Request,
    uow: UnitOfWorkDep,
    services: ServicesDep,
    display_name: Annotated[str, Form(max_length=MAX_FORM_FIELD)] = "",
    residence: Annotated[str, Form(max_length=MAX_FORM_FIELD)] = "",
    jury_opt_in: Annotated[bool, Form()] = False,
    csrf_token: Annotated[str, Form(max_length=MAX_FORM_FIELD)] = "",
) -> Response:
    """Check the form, then send the browser to the identity provider."""
    check_form_csrf(request, csrf_token)
    verifier = _verifier(request)
    if not display_name.strip():
        raise InvalidInput("choose a display name", field="display_name")
    with uow.begin(readonly=True):
        jurisdictions.get_jurisdiction(uow, residence)  # 404 naming the field if unknown
    begun = verifier.begin(_return_url(services))
    sealed = FlowSealer(services.settings.secret_key).seal(
        {
            **begun.private_state,
            "display_name": display_name.strip(),
            "residence": residence,
            "jury_opt_in": "1" if jury_opt_in else "",
        }
    )
    response = RedirectResponse(begun.redirect_url, status_code=303)
    # SameSite=Lax: the provider's redirect back is a top-level GET, which Lax lets through.
    response.set_cookie(
        FLOW_COOKIE,
        sealed,
        max_age=FLOW_SECONDS,
        path=FLOW_PATH,
        httponly=True,
        samesite="lax",
        secure=services.settings.secure_cookies,
    )
    return response


@router.get(CALLBACK_PATH, response_model=None, **access(PUBLIC))
def register_callback(request: Request, uow: UnitOfWorkDep, services: ServicesDep) -> Response:
    """Check the provider's answer, create the citizen and open their session."""
    verifier = _verifier(request)
    flow = FlowSealer(services.settings.secret_key).open(request.cookies.get(FLOW_COOKIE))
    params = {k: v[:MAX_QUERY_VALUE] for k, v in request.query_params.items()}
    person = verifier.complete(flow, params, _return_url(services))
    with uow.begin():
        account = register_citizen(
            uow,
            services.settings.secret_key,
            person,
            display_name=flow.get("display_name", ""),
            residence=flow.get("residence", ""),
            jury_opt_in=flow.get("jury_opt_in") == "1",
        )
        token, _row = sessions.start_session(uow, account, hours=services.settings.session_hours)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(FLOW_COOKIE, path=FLOW_PATH)
    set_session_cookie(response, services.settings, token)
    return response
