"""The build box at the top of the Sources page: what is building, how far, and what the chat serves.

No script: while a build runs, or a finished one has not reached the chat yet, the page refreshes
itself (a meta refresh) every REFRESH_SECONDS, which is all "watching it build" needs.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from .base import csrf_field, esc
from .rebuild import BuildStatus

REFRESH_SECONDS = 2
# A finished build the chat has not picked up after this long will not be: stop refreshing and say so.
RELOAD_WAIT = timedelta(seconds=60)


def disk_build_time(index_dir: Path) -> datetime | None:
    """When the index now on disk was built (None if there is none readable): newer than the served
    one means the chat has not switched to it yet."""
    from ..models import Manifest

    try:
        return Manifest.model_validate_json((index_dir / "manifest.json").read_bytes()).build_time
    except (OSError, ValueError):
        return None


def _when(moment: datetime | None) -> str:
    return f"{moment.astimezone(timezone.utc):%Y-%m-%d %H:%M:%S} UTC" if moment else "?"


def _button(request, action: str, label: str) -> str:
    return (f'<form method="post" action="{action}" class="inline">{csrf_field(request)}'
            f'<button type="submit">{esc(label)}</button></form>')


def build_panel(request, status: BuildStatus, served_manifest, on_disk: datetime | None,
                live_reload: bool) -> tuple[str, bool]:
    """(HTML of the box, whether the page should refresh itself)."""
    parts: list[str] = []
    refresh = False
    who = f" by {esc(status.started_by)}" if status.started_by else ""
    if status.state == "running":
        refresh = True
        bar = ""
        if status.total:
            done = status.done or 0
            bar = (f' <progress value="{done}" max="{status.total}">{done * 100 // status.total}%</progress> '
                   f'{done:,} of {status.total:,}')
        parts.append(f'<p><strong>Building</strong> (started {_when(status.started_at)}{who}): '
                     f'{esc(status.step)}{bar}</p>{_button(request, "/staff/sources/rebuild/stop", "Stop the build")}')
    elif status.state == "succeeded":
        parts.append(f'<p class="ok"><strong>Built</strong> {_when(status.finished_at)} (started{who}). '
                     f'{esc(" ".join(status.summary))}</p>')
    elif status.state in ("failed", "stopped"):
        title = "The build failed" if status.state == "failed" else "The build was stopped"
        code = f" (exit code {status.exit_code})" if status.exit_code not in (None, 0) else ""
        parts.append(f'<div class="error"><strong>{title}</strong>{code}, {_when(status.finished_at)} '
                     f'(started{who}). Nothing was lost: the chat keeps answering from the index it had.'
                     f'<pre>{esc(chr(10).join(status.summary))}</pre></div>')
    if status.skipped:
        items = "".join(f"<li>{esc(s)}</li>" for s in status.skipped)
        parts.append(f'<div class="warn"><p>The build skipped these pages:</p><ul>{items}</ul></div>')
    if status.queued:
        refresh = True
        parts.append("<p>Another build will start when this one ends, to include the latest changes.</p>")

    served = served_manifest.build_time
    parts.append(f"<p>The chat answers from the index built {_when(served)}: {served_manifest.document_count:,} "
                 f"pages, {served_manifest.chunk_count:,} chunks.</p>")
    if on_disk is not None and on_disk != served and status.state != "running":
        if live_reload and datetime.now(timezone.utc) - on_disk < RELOAD_WAIT:
            refresh = True
            parts.append(f"<p>The index built {_when(on_disk)} is ready; the chat switches to it within a few "
                         "seconds (live reload).</p>")
        elif live_reload:  # stop refreshing: the watcher refused it or cannot read it, and says why in its log
            parts.append(f"<p class=\"bad\">The index built {_when(on_disk)} is ready, but the chat has not "
                         "switched to it: the server log says why (a live reload that fails keeps the index it "
                         "had).</p>")
        else:
            parts.append(f"<p class=\"bad\">The index built {_when(on_disk)} is ready, but live reload is off "
                         "(CAREERS_RELOAD_SECONDS=0): restart the server for the chat to use it.</p>")
    if status.state != "running":
        parts.append(_button(request, "/staff/sources/rebuild", "Rebuild the index now"))
    meta = (f'<meta http-equiv="refresh" content="{REFRESH_SECONDS};url=/staff/sources">' if refresh else "")
    return f'{meta}<section id="build"><h2>Index build</h2>{"".join(parts)}</section>', refresh
