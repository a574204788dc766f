"""All /staff routes in one router: each part of the console contributes its own router here.

Every route added below must depend on `page_user` or `action_user` (base.py), except the sign-in
page itself; tests/test_staff_routes.py lists the app's routes and requests each without a session.
"""

from __future__ import annotations


def build_staff_router():
    from fastapi import APIRouter

    router = APIRouter()
    # (module, factory) pairs: a part of the console is one line here.
    for part in _PARTS:
        module_name, factory = part.split(":")
        module = __import__(f"assistant.staff.{module_name}", fromlist=[factory])
        router.include_router(getattr(module, factory)())
    return router


# Filled in as the parts land: "auth:build_auth_router", "reports:build_reports_router",
# "sources:build_sources_router".
_PARTS: list[str] = ["sources:build_sources_router", "reports:build_reports_router"]
