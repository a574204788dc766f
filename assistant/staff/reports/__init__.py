"""The report pages of the staff console: overview, unanswered questions, feedback, coverage, FAQ check.

One module per page (each adds its routes to one router), plus what they share: common.py (settings,
server objects, CSV, times), queries.py (the database), charts.py (inline SVG), grouping.py (questions
grouped by meaning), coveragemap.py (which pages give evidence for which topic). Every route depends on
page_user or action_user (base.py); every page is server-rendered, without script or external file.
"""

from __future__ import annotations

from .common import ReportSettings

PAGES = ("overview", "unanswered", "feedback", "coverage", "faqpage")


def build_reports_router(settings: ReportSettings | None = None):
    from importlib import import_module

    from fastapi import APIRouter

    settings = settings or ReportSettings()
    router = APIRouter(include_in_schema=False)
    for name in PAGES:
        import_module(f"{__name__}.{name}").add_routes(router, settings)
    return router


__all__ = ["ReportSettings", "build_reports_router"]
