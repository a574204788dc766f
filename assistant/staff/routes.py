"""All /staff routes in one router: each part of the console contributes its own router here.

Every route added below must depend on `page_user` or `action_user` (base.py), except the sign-in
page itself; tests/test_staff_routes.py lists the app's routes and requests each without a session.
"""

from __future__ import annotations


def build_staff_router():
    from fastapi import APIRouter

    from .auth import build_fallback_router

    router = APIRouter()
    # (module, factory) pairs: a part of the console is one line here. Not in the OpenAPI schema:
    # these are pages and forms for people, not an API.
    for part in _PARTS:
        module_name, factory = part.split(":")
        module = __import__(f"assistant.staff.{module_name}", fromlist=[factory])
        router.include_router(getattr(module, factory)(), include_in_schema=False)
    # Last: any other /staff address is "not found" (signed in) or the sign-in page (not), never the chat.
    router.include_router(build_fallback_router(), include_in_schema=False)
    return router


# One line per part of the console; each module's factory returns its APIRouter.
_PARTS: list[str] = [
    "auth:build_auth_router",
    "reports:build_reports_router",
    "sources:build_sources_router",
]
