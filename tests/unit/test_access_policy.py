"""The app factory refuses routes that declare no access policy (default deny)."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from isegoria.http.access import PUBLIC, access, undeclared_routes


def test_a_route_without_policy_is_found_even_inside_an_included_router() -> None:
    app = FastAPI()
    router = APIRouter(prefix="/api/v1")

    @router.get("/open", **access(PUBLIC))
    def declared() -> dict[str, str]:
        return {}

    @router.get("/forgotten")
    def forgotten() -> dict[str, str]:
        return {}

    hidden = APIRouter(include_in_schema=False)

    @hidden.get("/page")
    def page() -> dict[str, str]:
        return {}

    app.include_router(router)
    app.include_router(hidden)
    assert undeclared_routes(app.routes) == ["['GET'] /api/v1/forgotten"]
