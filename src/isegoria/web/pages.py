"""Server-rendered pages for people: home, login and logout, friendly errors, API docs."""

from __future__ import annotations

import hmac
from http import HTTPStatus
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from isegoria import i18n
from isegoria.domain.identity import Role
from isegoria.errors import Forbidden, RateLimited, Unauthenticated
from isegoria.http import cookies, ratelimit
from isegoria.http.deps import (
    PrincipalDep,
    ServicesDep,
    UnitOfWorkDep,
    resolve_principal,
)
from isegoria.identity import mfa
from isegoria.notifications import inbox
from isegoria.people import accounts as people
from isegoria.people import jurisdictions, sessions
from isegoria.security import new_token
from isegoria.web import formatting, log_facts
from isegoria.web.signin_limits import retry_headers, retry_message

TEMPLATES_DIR = Path(__file__).parent / "templates"
templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
# The CSRF token every form posts back (docs/security.md, "CSRF").
CsrfField = Annotated[str, Form(max_length=256)]
i18n.install(templates.env)  # here, with the templates: every page and the CLI's report
formatting.install(templates.env)
log_facts.install(templates.env)
router = APIRouter(include_in_schema=False)

MAX_FORM_FIELD = 256


def csrf_token_for(request: Request) -> str:
    """The token forms must echo: the session's, or a pre-login cookie's."""
    principal = getattr(request.state, "principal", None)
    if principal is not None and principal.csrf_token:
        token: str = principal.csrf_token
        return token
    settings = request.app.state.services.settings
    existing = request.cookies.get(cookies.csrf_cookie(settings))
    if existing and 20 <= len(existing) <= 128:
        return existing
    token = getattr(request.state, "new_csrf_cookie", None) or new_token()
    request.state.new_csrf_cookie = token
    return token


def check_form_csrf(request: Request, sent: str) -> None:
    """Refuse a form post whose CSRF token does not match (signed by cookie or session)."""
    expected = csrf_token_for(request)
    if not sent or not hmac.compare_digest(sent, expected):
        raise Forbidden("the form has expired or did not come from this site; reload and retry")


def citizen_form(request: Request, csrf_token: str, principal: Any, forbidden: str) -> int:
    """A citizen's form post: check its CSRF token, then that a citizen sent it; their id."""
    check_form_csrf(request, csrf_token)
    return citizen_id(principal, forbidden)


def see_other(url: str) -> RedirectResponse:
    """After a form post, send the browser to the page that shows its result (303)."""
    return RedirectResponse(url, status_code=303)


def citizen_id(principal: Any, forbidden: str) -> int:
    """The logged-in citizen's account id; 401 for nobody, 403 (``forbidden``) for others."""

    if principal is None or not principal.is_person:
        raise Unauthenticated(i18n.gettext("Log in as a citizen to do this."))
    if principal.role is not Role.CITIZEN:
        raise Forbidden(forbidden)
    account_id: int = principal.account_id
    return account_id


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render a page with the caller and a CSRF token available to the template."""
    services = request.app.state.services
    try:
        principal = resolve_principal(request, services)
    except Exception:  # noqa: BLE001 - an error page must render even if the database is down
        principal = None
    data = {
        "principal": principal,
        "csrf_token": csrf_token_for(request),
        "unread_badge": _unread(services, principal),
    }
    data.update(context or {})
    response = templates.TemplateResponse(request, template, data, status_code=status)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    new_cookie = getattr(request.state, "new_csrf_cookie", None)
    if new_cookie:
        settings = services.settings
        cookies.set_cookie(
            response, settings, cookies.csrf_cookie(settings), new_cookie, samesite="strict"
        )
    return response


def _unread(services: Any, principal: Any) -> int:
    """A citizen's unread notifications, for the badge in the header (0 for anyone else)."""
    if principal is None or not principal.is_person or principal.role is not Role.CITIZEN:
        return 0
    try:
        uow = services.uow()
        with uow.begin(readonly=True):
            return inbox.unread_count(uow, principal.account_id)
    except Exception:  # noqa: BLE001 - a badge must never keep a page (or an error page) away
        return 0


#: The title of an error page, by HTTP status (RFC 9110 §15), in the reader's language.
ERROR_TITLES = {
    400: formatting._("Bad request"),
    401: formatting._("Authentication required"),
    403: formatting._("Forbidden"),
    404: formatting._("Not found"),
    405: formatting._("Method not allowed"),
    409: formatting._("Conflict"),
    413: formatting._("Too large"),
    422: formatting._("Invalid input"),
    429: formatting._("Too many requests"),
    500: formatting._("Internal error"),
    503: formatting._("Service unavailable"),
}


def _phrase(status: int) -> str:
    """The status's reason phrase in lower case (RFC 9110), '' for an unknown one."""
    try:
        return HTTPStatus(status).phrase.lower()
    except ValueError:
        return ""


def _is_translation(text: str) -> bool:
    """Whether ``text`` is a translation in one of the reader's catalogs."""
    catalog: Any = i18n.translations(i18n.current_language())
    while catalog is not None:
        if text in getattr(catalog, "_catalog", {}).values():
            return True
        catalog = getattr(catalog, "_fallback", None)
    return False


def render_error(
    request: Request,
    status: int,
    title: str,
    detail: str,
    *,
    headers: dict[str, str] | None,
    english: bool | None = None,
) -> HTMLResponse:
    """A friendly error page, its title in the reader's language; one that needs a login
    says so and links to it.

    A detail still in English (a message no catalog translates yet) is marked as English, so
    that a screen reader pronounces it right; ``english`` says so when the caller knows.
    """
    generic = ERROR_TITLES.get(status)
    if generic is not None and (not title or title.lower() in (generic.lower(), _phrase(status))):
        title = generic  # the status's own name: in the reader's words
    title = i18n.gettext(title)  # a title of its own ("Identity not verified") is kept
    if english is None:
        detail = i18n.gettext(detail)
        english = i18n.current_language() != i18n.DEFAULT_LANGUAGE and not _is_translation(detail)
    if status == 401:
        # Back to this page after login; a form's target cannot be fetched, so it goes home.
        back = request.url.path if request.method == "GET" else "/me"
        if request.method == "GET" and request.url.query:
            back += "?" + request.url.query
        login = "/login?" + urlencode({"next": safe_next(back[:MAX_FORM_FIELD])})
        return render(
            request, "login_needed.html", {"login": login}, status=status, headers=headers
        )
    return render(
        request,
        "error.html",
        {"title": title, "detail": detail, "detail_lang": "en" if english else None},
        status=status,
        headers=headers,
    )


def safe_next(target: str) -> str:
    """Only same-site paths are followed after login (no open redirect)."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


@router.get("/", response_class=HTMLResponse)
def home(request: Request, uow: UnitOfWorkDep) -> HTMLResponse:
    """The home page: what this instance is and where to go."""
    with uow.begin(readonly=True):
        rows = [
            (j, depth, people.count_citizens(uow, j.code))
            for j, depth in jurisdictions.tree_order(uow)
        ]
    return render(request, "home.html", {"jurisdictions": rows})


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> HTMLResponse:  # noqa: A002
    """The login form."""
    return render(request, "login.html", {"next": safe_next(next[:MAX_FORM_FIELD])})


@router.post("/login", response_model=None)
def login(
    request: Request,
    uow: UnitOfWorkDep,
    services: ServicesDep,
    login: Annotated[str, Form(max_length=MAX_FORM_FIELD)] = "",
    password: Annotated[str, Form(max_length=MAX_FORM_FIELD)] = "",
    csrf_token: Annotated[str, Form(max_length=MAX_FORM_FIELD)] = "",
    next: Annotated[str, Form(max_length=MAX_FORM_FIELD)] = "/",  # noqa: A002
) -> Response:
    """Check the credentials and open a fresh session (a new token defeats session fixation)."""
    check_form_csrf(request, csrf_token)
    try:
        ratelimit.before_login(request, login)  # 429 before spending argon2 time on a guess
    except RateLimited as error:
        context = {"next": safe_next(next), "error": retry_message(error.retry_after)}
        headers = retry_headers(error.retry_after)
        return render(request, "login.html", context, status=429, headers=headers)
    pending = False
    with uow.begin():
        account = people.authenticate(uow, login.strip(), password)
        if account is None:
            token = None
        elif pending := mfa.needs_second_factor(uow, account):
            # The password was right; the session speaks for no one until the second factor.
            token, _row = sessions.start_session(
                uow, account, hours=sessions.PENDING_HOURS, factor=None
            )
        else:
            token, _row = sessions.start_session(
                uow, account, hours=services.settings.session_hours
            )
    if not pending:  # a right password alone must not refill the bucket second-factor guesses use
        ratelimit.after_login(request, login, succeeded=token is not None)
    if token is None:
        # One message for unknown login and wrong password: no account enumeration.
        return render(
            request,
            "login.html",
            {"next": safe_next(next), "error": "Wrong login or password.", "login": login},
            status=401,
        )
    target = safe_next(next)
    if target == "/" and account is not None and account.role == Role.CITIZEN.value:
        target = "/me"  # a citizen lands on "My isegoria" unless they were going elsewhere
    if pending:
        target = "/login/second-factor?" + urlencode({"next": target})
    response = RedirectResponse(target, status_code=303)
    cookies.set_session_cookie(response, services.settings, token)
    return response


@router.post("/logout", response_model=None)
def logout(
    request: Request,
    uow: UnitOfWorkDep,
    principal: PrincipalDep,
    csrf_token: Annotated[str, Form(max_length=MAX_FORM_FIELD)] = "",
) -> Response:
    """End the session server-side and clear the cookie."""
    check_form_csrf(request, csrf_token)
    settings = request.app.state.services.settings
    name = cookies.session_cookie(settings)
    if token := request.cookies.get(name):
        with uow.begin():
            sessions.end_session(uow, token)
        # After the commit: this process no longer trusts the cookie it remembered.
        request.app.state.services.session_cache.clear()
    response = RedirectResponse("/", status_code=303)
    cookies.delete_cookie(response, settings, name)
    return response


@router.get("/api/v1/docs", response_class=HTMLResponse)
def api_docs(request: Request) -> HTMLResponse:
    """The API reference, rendered from the OpenAPI document (works offline, no scripts)."""
    spec = request.app.openapi()
    operations = []
    for path, item in spec.get("paths", {}).items():
        for method, op in item.items():
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            operations.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary", ""),
                    "description": op.get("description", ""),
                    "access": op.get("x-access", ""),
                    "tag": (op.get("tags") or ["other"])[0],
                    "body": body.get("schema", {}).get("$ref", "").rsplit("/", 1)[-1],
                    "responses": sorted(op.get("responses", {})),
                }
            )
    operations.sort(key=lambda o: (o["tag"], o["path"], o["method"]))
    schemas = spec.get("components", {}).get("schemas", {})
    return render(
        request, "api_docs.html", {"operations": operations, "schemas": schemas, "spec": spec}
    )
