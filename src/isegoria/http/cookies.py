"""The session and CSRF cookies: their names, and how they are set and cleared (ASVS 3.4.4).

Behind HTTPS (``ISEGORIA_SECURE_COOKIES=true``) both are named with the ``__Host-`` prefix.
A browser accepts such a cookie only if it is ``Secure``, has ``Path=/`` and no ``Domain``
(RFC 6265bis §4.1.3.2), so a sibling subdomain or a plain-HTTP page cannot plant or
overwrite it. Over plain HTTP (development, the demo, the test servers) browsers refuse the
prefix, so the plain names are used there. Only the configured name is read: a cookie
under the other name authenticates nothing, or the prefix would protect nothing.
"""

from __future__ import annotations

from typing import Literal

from starlette.responses import Response

from isegoria.config import Settings

HOST_PREFIX = "__Host-"
SESSION_COOKIE = "isegoria_session"
CSRF_COOKIE = "isegoria_csrf"
HOST_SESSION_COOKIE = HOST_PREFIX + SESSION_COOKIE
HOST_CSRF_COOKIE = HOST_PREFIX + CSRF_COOKIE
# The prefix's rules (RFC 6265bis §4.1.3.2): every cookie that carries it is set at the root.
COOKIE_PATH = "/"


def session_cookie(settings: Settings) -> str:
    """The name of the session cookie on this instance."""
    return HOST_SESSION_COOKIE if settings.secure_cookies else SESSION_COOKIE


def csrf_cookie(settings: Settings) -> str:
    """The name of the pre-login CSRF cookie on this instance."""
    return HOST_CSRF_COOKIE if settings.secure_cookies else CSRF_COOKIE


def set_cookie(
    response: Response,
    settings: Settings,
    name: str,
    value: str,
    *,
    samesite: Literal["lax", "strict"],
    max_age: int | None = None,
) -> None:
    """Set one of these cookies: HttpOnly, at ``/``, without a Domain, Secure behind HTTPS."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=COOKIE_PATH,
        domain=None,
        httponly=True,
        samesite=samesite,
        secure=settings.secure_cookies,
    )


def set_session_cookie(response: Response, settings: Settings, token: str) -> None:
    """Hand the browser a new session's token, for as long as the session lives server side.

    SameSite=Lax: a link followed from another site arrives logged in; its posts do not.
    """
    max_age = settings.session_hours * 3600
    name = session_cookie(settings)
    set_cookie(response, settings, name, token, samesite="lax", max_age=max_age)


def delete_cookie(response: Response, settings: Settings, name: str) -> None:
    """Clear one of these cookies; with the same attributes, or a browser ignores a prefixed one."""
    response.delete_cookie(
        name, path=COOKIE_PATH, domain=None, httponly=True, secure=settings.secure_cookies
    )
