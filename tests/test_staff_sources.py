"""The Sources page of the staff console: listing, upload validation, replace/delete, rebuild, escaping.

Fast and exact: the tiny corpus behind the hash embedder, a FastAPI app with only the sources router
and a test middleware standing in for the session middleware (it sets request.state.staff_user and
csrf_token as auth does), and the real background build (`python -m assistant build` with the hash
embedder, about a second).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from fastapi.testclient import TestClient

from assistant.embedding import HashEmbedder
from assistant.index import load_index
from assistant.staff.base import SignInRequired, StaffUser
from assistant.staff.buildpanel import build_panel
from assistant.staff.rebuild import BuildStatus, outcome, progress
from assistant.staff.sources import Served, build_sources_router
from assistant.staff.uploads import UPLOAD_MAX_BYTES

CSRF = "test-token"
NEW_PAGE = ("---\nid: test-dental-nurse\ntitle: Dental nurse pay\npublisher: Test Board\n"
            "url: https://example.org/dental\nlast_updated: 2025-03-01\noccupation: dental nurse\n---\n"
            "Pay\n\nDental nurses in Test Town start on band 4.\n")
HOSTILE = ("---\nid: hostile\ntitle: \"<script>alert('t')</script>\"\npublisher: \"<img src=x onerror=alert(1)>\"\n"
           "url: \"javascript:alert(1)\"\noccupation: \"<b>bold</b> worker\"\n---\n"
           "Hostile\n\nThe page says <svg onload=alert(2)> and \"quotes\" & <iframe src=//evil.example>.\n")


class Site:
    """The app under test, what it serves, and the audit lines it wrote."""

    def __init__(self, settings, embedder_name: str = HashEmbedder().name) -> None:
        self.settings, self.embedder_name = settings, embedder_name
        self.audit: list[tuple[str, str, str]] = []
        self.builders: dict = {}
        self.index = load_index(settings, embedder_name)

        async def audit(engine, user: str, action: str, detail: str) -> None:
            self.audit.append((user, action, detail))

        app = FastAPI()

        @app.middleware("http")
        async def staff_session(request: Request, call_next):  # what auth's middleware sets
            who = request.headers.get("x-test-user", "ada")
            request.state.staff_user = StaffUser(name=who) if who else None
            request.state.csrf_token = CSRF
            return await call_next(request)

        @app.exception_handler(SignInRequired)
        async def sign_in(request: Request, exc: SignInRequired):
            return RedirectResponse(f"/staff/login?next={exc.next_path}", status_code=303)

        app.include_router(build_sources_router(served=lambda: Served(settings=settings, index=self.index),
                                                audit=audit, builders=self.builders))
        self.app = app
        self.client = TestClient(app, follow_redirects=False)

    def upload(self, name: str, data: bytes | str, save_as: str = "", replace: bool = False, csrf: str = CSRF):
        form = {"csrf": csrf, "save_as": save_as} | ({"replace": "yes"} if replace else {})
        content = data.encode() if isinstance(data, str) else data
        return self.client.post("/staff/sources/upload", data=form, files={"page": (name, content, "text/plain")})

    def wait_and_reload(self) -> BuildStatus:
        status = next(iter(self.builders.values())).wait(timeout=120)
        if status.state == "succeeded":
            self.index = load_index(self.settings, self.embedder_name)  # what the live reload does
        return status

    def no_build(self) -> bool:
        return all(b.status().state == "idle" for b in self.builders.values())

    def corpus_state(self) -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in self.settings.corpus_dir.iterdir() if p.is_file()}


@pytest.fixture
def site(settings, built) -> Site:
    return Site(settings)


def test_listing_shows_every_page_with_publisher_date_url_occupation_and_chunks(site: Site):
    page = site.client.get("/staff/sources").text
    for doc in site.index.documents.values():
        assert doc.meta.source_file in page and doc.meta.publisher in page
    assert "updated 2020-01-15" in page and "undated" in page
    assert '<a href="https://example.org/pay" rel="noopener noreferrer">https://example.org/pay</a>' in page
    pay_chunks = len(site.index.chunk_rows["pay-page"])
    assert f"<td>{pay_chunks}</td><td>served</td>" in page
    assert "4 pages (4 shown)" in page
    filtered = site.client.get("/staff/sources", params={"q": "web publisher"}).text
    assert "d-skills.html" in filtered and "a-pay.md" not in filtered and "4 pages (1 shown)" in filtered


def test_signed_out_and_forged_requests_are_refused(site: Site):
    assert site.client.get("/staff/sources", headers={"x-test-user": ""}).status_code == 303
    assert site.client.get("/staff/sources/page?file=a-pay.md", headers={"x-test-user": ""}).status_code == 303
    before = site.corpus_state()
    assert site.upload("new.md", NEW_PAGE, csrf="wrong").status_code == 403
    assert site.client.post("/staff/sources/delete", data={"file": "a-pay.md"}).status_code == 403
    assert site.client.post("/staff/sources/rebuild", data={"csrf": CSRF},
                            headers={"x-test-user": ""}).status_code == 401
    assert site.corpus_state() == before and site.audit == [] and site.no_build()


@pytest.mark.parametrize("name, data, message", [
    ("empty.md", b"  \n", "empty.md: the file is empty"),
    ("binary.txt", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" * 20, "binary.txt: looks like a binary file"),
    ("latin.md", "Caf\u00e9 assistants earn a lot.".encode("latin-1"), "latin.md: not valid UTF-8 (byte 3"),
    ("header.md", b"---\ntitle: [unclosed\n---\nBody text here.\n", "header.md: the metadata header is not valid YAML"),
    ("furniture.html", b"<html><script>x()</script></html>", "furniture.html: no text left after cleaning"),
    ("dates.md", b"---\nlast_updated: soon\n---\nBody text.\n", "last_updated must be a date like 2018-09-10"),
    ("page.pdf", b"%PDF-1.4 text", "must end in one of .htm, .html, .markdown, .md, .txt"),
    ("big.md", b"word " * (UPLOAD_MAX_BYTES // 5 + 1), f"may be at most {UPLOAD_MAX_BYTES:,} bytes"),
    ("My Page.md", b"Some text.", "For example 'my-page.md'"),
    ("", b"Some text.", "Choose a file to upload"),
])
def test_a_page_the_reader_refuses_is_not_stored_and_its_message_is_shown(site: Site, name, data, message):
    before = site.corpus_state()
    response = site.upload(name, data)
    assert response.status_code == 400
    assert message.replace("'", "&#x27;") in response.text
    assert site.corpus_state() == before and site.audit == [] and site.no_build()
    assert not list(site.settings.corpus_dir.glob(".upload-*"))


@pytest.mark.parametrize("save_as", ["../evil.md", "..\\evil.md", "/tmp/evil.md", "sub/evil.md", ".evil.md",
                                     "..", "evil.md\0.txt"])
def test_a_name_outside_the_corpus_folder_is_refused(site: Site, save_as):
    before = site.corpus_state()
    response = site.upload("fine.md", NEW_PAGE, save_as=save_as)
    assert response.status_code == 400 and "points outside the pages folder" in response.text
    assert site.corpus_state() == before
    assert not (site.settings.corpus_dir.parent / "evil.md").exists() and not Path("/tmp/evil.md").exists()
    detail = site.client.get("/staff/sources/page", params={"file": "../index/manifest.json"})
    assert detail.status_code == 404 and "points outside" in detail.text


def test_a_file_name_with_a_folder_from_the_browser_is_refused_too(site: Site):
    response = site.upload("../../evil.md", NEW_PAGE)
    assert response.status_code == 400 and "points outside the pages folder" in response.text
    assert not list(site.settings.corpus_dir.parent.rglob("evil.md"))


def test_an_existing_page_is_replaced_only_when_asked_and_the_old_version_is_kept(site: Site):
    old = (site.settings.corpus_dir / "a-pay.md").read_bytes()
    new = NEW_PAGE.replace("test-dental-nurse", "pay-page")
    refused = site.upload("a-pay.md", new)
    assert refused.status_code == 400 and "A page named a-pay.md already exists" in refused.text
    assert (site.settings.corpus_dir / "a-pay.md").read_bytes() == old
    assert site.upload("a-pay.md", new, replace=True).status_code == 303
    assert (site.settings.corpus_dir / "a-pay.md").read_text() == new
    kept = list((site.settings.corpus_dir / ".previous").iterdir())
    assert len(kept) == 1 and kept[0].read_bytes() == old and kept[0].name.endswith("-a-pay.md")
    assert site.audit[0] == ("ada", "upload", "a-pay.md (replaced, id pay-page)")
    assert "Replaced a-pay.md" in site.client.get("/staff/sources").text
    assert site.wait_and_reload().state == "succeeded"


def test_a_page_reusing_another_pages_id_is_refused(site: Site):
    response = site.upload("copy.md", NEW_PAGE.replace("test-dental-nurse", "hours-page"))
    assert response.status_code == 400
    assert "id &#x27;hours-page&#x27; is already used by b-hours.txt" in response.text


def test_upload_then_rebuild_serves_the_new_page_and_records_who(site: Site):
    response = site.upload("dental-nurse.md", NEW_PAGE)
    assert response.status_code == 303 and response.headers["location"] == "/staff/sources"
    assert [(u, a) for u, a, _ in site.audit] == [("ada", "upload"), ("ada", "rebuild")]
    assert site.audit[1][2] == "started: added dental-nurse.md"
    first = site.client.get("/staff/sources").text
    assert "Added dental-nurse.md (“Dental nurse pay”)" in first
    assert "Added dental-nurse.md" not in site.client.get("/staff/sources").text  # shown once
    status = site.wait_and_reload()
    assert status.state == "succeeded" and status.started_by == "ada"
    assert status.summary[0].startswith("Indexed 5 documents as ")
    page = site.client.get("/staff/sources").text
    assert "<strong>Built</strong>" in page and "Indexed 5 documents" in page
    assert "dental nurse" in page and "test-dental-nurse" in site.index.documents
    assert f"<td>{len(site.index.chunk_rows['test-dental-nurse'])}</td><td>served</td>" in page


def test_delete_moves_the_page_aside_and_a_build_without_pages_fails_with_its_message(site: Site):
    for name in ("a-pay.md", "b-hours.txt", "c-entry.md", "d-skills.html"):
        assert site.client.post("/staff/sources/delete", data={"csrf": CSRF, "file": name}).status_code == 303
    assert sorted(p.name.split("-", 1)[1] for p in (site.settings.corpus_dir / ".previous").iterdir()) == [
        "a-pay.md", "b-hours.txt", "c-entry.md", "d-skills.html"]
    assert [a for _, a, _ in site.audit].count("delete") == 4
    served_before = site.index.manifest.build_time
    status = site.wait_and_reload()
    assert status.state == "failed" and "No usable document in" in status.summary[0]
    page = site.client.get("/staff/sources").text
    assert "The build failed" in page and "No usable document in" in page and "Nothing was lost" in page
    assert site.index.manifest.build_time == served_before  # the served index is untouched
    missing = site.client.post("/staff/sources/delete", data={"csrf": CSRF, "file": "a-pay.md"})
    assert missing.status_code == 400 and "There is no page named a-pay.md" in missing.text
    outside = site.client.post("/staff/sources/delete", data={"csrf": CSRF, "file": "../index/manifest.json"})
    assert outside.status_code == 400 and (site.settings.index_dir / "manifest.json").exists()


def test_an_uploaded_pages_markup_is_shown_inert_everywhere(site: Site):
    response = site.upload("hostile.md", HOSTILE)
    assert response.status_code == 303
    flash = site.client.get("/staff/sources").text
    assert site.wait_and_reload().state == "succeeded"
    pages = [flash, site.client.get("/staff/sources").text,
             site.client.get("/staff/sources/page", params={"file": "hostile.md"}).text]
    for html in pages:
        for raw in ("<script>alert", "<img src=x", "<svg", "<iframe", "<b>bold", 'href="javascript:'):
            assert raw not in html
    assert "&lt;script&gt;alert(&#x27;t&#x27;)&lt;/script&gt;" in flash
    listing, detail = pages[1], pages[2]
    assert "&lt;img src=x onerror=alert(1)&gt;" in listing and "&lt;b&gt;bold&lt;/b&gt; worker" in listing
    assert "<td>javascript:alert(1)</td>" in listing  # a javascript: URL is text, not a link
    assert "&lt;svg onload=alert(2)&gt;" in detail and "&amp;" in detail


def test_a_running_build_shows_its_progress_and_refreshes_the_page(site: Site):
    request = type("R", (), {"state": type("S", (), {"csrf_token": CSRF})()})()
    running = BuildStatus(state="running", started_by="<b>ada</b>", step="Encoding passages (3 reused)", done=3,
                          total=10, queued=True)
    html, refresh = build_panel(request, running, site.index.manifest, None, True)
    assert refresh and '<meta http-equiv="refresh" content="2;url=/staff/sources">' in html
    assert '<progress value="3" max="10">30%</progress> 3 of 10' in html and "&lt;b&gt;ada&lt;/b&gt;" in html
    assert "Stop the build" in html and "Another build will start" in html
    idle, refresh = build_panel(request, BuildStatus(), site.index.manifest, site.index.manifest.build_time, True)
    assert not refresh and "Rebuild the index now" in idle


def test_progress_and_outcome_are_read_from_the_builds_output():
    out = ("Building the index from corpus/ with hash ...\n"
           "Encoding passages (12 reused):   0%|          | 0/8 [00:00<?, ?text/s]\r"
           "Encoding passages (12 reused):  50%|█████     | 4/8 [00:01<00:01, 3.9text/s]")
    assert progress(out) == ("Encoding passages (12 reused)", 4, 8)
    assert progress("Building the index from corpus/ with hash ...\n") == (
        "Building the index from corpus/ with hash ...", None, None)
    done = out + "\rEncoding passages: 100%|██| 8/8 [00:01<00:00]\nSkipped x.md: the file is empty\nIndexed 4 documents"
    assert outcome(done, "succeeded") == (["Indexed 4 documents"], ["x.md: the file is empty"])
    assert outcome("Traceback\ncareers-assistant: No usable document in c/\n", "failed")[0] == [
        "No usable document in c/"]


def test_a_build_can_be_stopped_and_a_second_one_is_queued(site: Site):
    before = (site.settings.index_dir / "manifest.json").read_bytes()
    stop = site.client.post("/staff/sources/rebuild/stop", data={"csrf": CSRF})
    assert stop.status_code == 303 and "No build was running" in site.client.get("/staff/sources").text
    assert site.client.post("/staff/sources/rebuild", data={"csrf": CSRF}).status_code == 303
    assert "Building" in site.client.get("/staff/sources").text
    assert site.client.post("/staff/sources/rebuild/stop", data={"csrf": CSRF}).status_code == 303
    status = site.wait_and_reload()
    assert status.state == "stopped" and (site.settings.index_dir / "manifest.json").read_bytes() == before
    assert [a for _, a, _ in site.audit] == ["rebuild", "rebuild-stop"]
    builder = next(iter(site.builders.values()))
    assert builder.start("ada") == "started" and builder.start("bob") == "queued"
    status = builder.wait(timeout=120)
    assert status.state == "succeeded" and status.started_by == "bob" and not status.queued


def test_a_build_that_cannot_start_says_why(settings):
    from assistant.staff.rebuild import Rebuilder

    builder = Rebuilder(settings, log_path=Path("/proc/no-such-folder/build.log"))
    assert builder.start("ada") == "failed"
    status = builder.status()
    assert status.state == "failed" and "The build could not be started" in status.summary[0]
    assert "/proc/no-such-folder can be written by the server" in status.summary[0]


def test_every_sources_route_needs_a_signed_in_user(site: Site):
    from fastapi.routing import APIRoute

    routes = [r for r in build_sources_router().routes if isinstance(r, APIRoute)]
    assert len(routes) == 6 and not any(r.include_in_schema for r in routes)
    for route in routes:
        for method in route.methods:
            response = site.client.request(method, route.path, headers={"x-test-user": ""}, data={"csrf": CSRF})
            assert response.status_code == (303 if method == "GET" else 401), (method, route.path)


def test_a_built_index_the_chat_does_not_pick_up_stops_the_refresh_after_a_minute(site: Site):
    """A live reload that refuses the new index must not leave an open tab refreshing every 2 s forever."""
    from datetime import datetime, timedelta, timezone

    request = type("R", (), {"state": type("S", (), {"csrf_token": CSRF})()})()
    just_built = datetime.now(timezone.utc)
    html, refresh = build_panel(request, BuildStatus(), site.index.manifest, just_built, True)
    assert refresh and "switches to it within a few seconds" in html
    html, refresh = build_panel(request, BuildStatus(), site.index.manifest, just_built - timedelta(minutes=5), True)
    assert not refresh and "has not switched to it" in html and "server log" in html


@pytest.mark.parametrize("page", ["²", "9" * 5000, "-1", "x"])
def test_a_hand_typed_page_number_is_page_one_not_an_error(site: Site, page: str):
    response = site.client.get("/staff/sources", params={"page": page})
    assert response.status_code == 200 and "4 pages (4 shown)" in response.text
