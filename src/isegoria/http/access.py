"""Access policies: every API route declares one, and anything undeclared is refused.

A policy is a FastAPI dependency that raises 401 when the caller is not identified and 403
when they are but may not act. ``access(policy)`` also writes the policy into the route's
OpenAPI operation as ``x-access`` so integrators can read who may call what.
"""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import Depends, Request
from fastapi.routing import APIRoute, iter_route_contexts

from isegoria.domain.identity import Role, Scope
from isegoria.errors import Forbidden, Unauthenticated
from isegoria.http.deps import Principal, PrincipalDep, PrincipalKind
from isegoria.http.ratelimit import check_api_request_on_loop

ACCESS_KEY = "x-access"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class Policy:
    """Who may call a route."""

    def __init__(
        self,
        description: str,
        *,
        public: bool = False,
        roles: frozenset[Role] = frozenset(),
        platform: bool = False,
        scope: Scope | None = None,
    ) -> None:
        self.description = description
        self.public = public
        self.roles = roles
        self.platform = platform
        self.scope = scope

    async def __call__(self, request: Request, principal: PrincipalDep) -> Principal:
        """Let the caller through or raise 401/403 (or 429 when over its rate limit).

        ``async`` because nothing here blocks (a shared rate limit goes to the thread
        pool): run on the event loop it saves a hop on every API request (http/deps.py).
        """
        await check_api_request_on_loop(request)  # every caller has a budget (ratelimit.py)
        if principal.key_rejected:  # a wrong key is an error even where none is needed
            raise Unauthenticated("the API key is unknown, malformed or revoked")
        if self.public:
            return principal
        if principal.kind is PrincipalKind.ANONYMOUS:
            raise Unauthenticated(
                "this endpoint needs %(description)s; log in or send a key",
                description=self.description,
            )
        if principal.kind is PrincipalKind.PERSON:
            if principal.role not in self.roles:
                raise Forbidden("this endpoint needs %(description)s", description=self.description)
            _check_csrf(request, principal)
            return principal
        if not self.platform:
            raise Forbidden(
                "this endpoint needs %(description)s, not a platform key",
                description=self.description,
            )
        if self.scope is not None and self.scope not in principal.scopes:
            raise Forbidden("this API key lacks the scope %(value)s", value=self.scope.value)
        return principal


def _check_csrf(request: Request, principal: Principal) -> None:
    """Cookie-authenticated writes must echo the session's CSRF token in a header."""
    if request.method not in UNSAFE_METHODS:
        return
    sent = request.headers.get("x-csrf-token", "")
    if not principal.csrf_token or not hmac.compare_digest(sent, principal.csrf_token):
        raise Forbidden("missing or wrong X-CSRF-Token header for a cookie-authenticated write")


PUBLIC = Policy("no authentication", public=True)


def people(*roles: Role) -> Policy:
    """A logged-in person with one of ``roles``."""
    names = " or ".join(r.value for r in roles)
    return Policy(f"a logged-in {names}", roles=frozenset(roles))


def platform_key(scope: Scope | None = None) -> Policy:
    """A platform API key, holding ``scope`` if given."""
    what = f"a platform API key with scope {scope.value}" if scope else "a platform API key"
    return Policy(what, platform=True, scope=scope)


def access(policy: Policy) -> dict[str, Any]:
    """Route keyword arguments that enforce and document ``policy``."""
    return {
        "dependencies": [Depends(policy)],
        "openapi_extra": {ACCESS_KEY: policy.description},
    }


def undeclared_routes(routes: list[Any]) -> list[str]:
    """API routes that declare no access policy (the app factory refuses to start with any).

    Included routers stay nested in FastAPI's route list, so the routes are walked through
    ``iter_route_contexts``, which yields every route with its effective (prefixed) path.
    """
    missing = []
    for context in iter_route_contexts(routes):
        route = context.original_route
        if not isinstance(route, APIRoute):
            continue
        in_schema = getattr(context, "include_in_schema", route.include_in_schema)
        if in_schema and not (route.openapi_extra or {}).get(ACCESS_KEY):
            missing.append(f"{sorted(route.methods or ())} {context.path_format or route.path}")
    return missing
