"""`careers-assistant serve`: load the model and index once, then run Chainlit and the API on one port."""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

from ..settings import Settings
from .settings import WebSettings

log = logging.getLogger(__name__)


async def _prepare_database(web: WebSettings) -> None:
    from .durable import prepare_database

    added = await prepare_database(web)  # one real write: a read-only database stops the command here
    if added:
        log.warning("Added columns missing from the existing database: %s", ", ".join(added))


def _enforce_safe_config(config) -> None:
    """Hold the settings safety depends on, whatever .chainlit/config.toml in the working folder says.

    Chainlit reads (and if missing, writes a default) .chainlit/config.toml from its working folder;
    the committed one already says all this, but a server started elsewhere must be just as safe."""
    features = config.features
    wanted = {
        "unsafe_allow_html": False,  # no raw HTML from any message
        "latex": False,  # "£24,000 to £30,000" and "~37.5" stay literal
        "user_message_markdown": False,  # a user's own text shows exactly as typed
        "edit_message": False,  # an edited question would fork the conversation the answers rely on
        "auto_tag_thread": False,  # Chainlit binds tags as a list, which SQLite cannot store
    }
    for name, value in wanted.items():
        if getattr(features, name) != value:
            log.warning("Overriding Chainlit setting features.%s = %r", name, value)
            setattr(features, name, value)
    if features.spontaneous_file_upload is not None and features.spontaneous_file_upload.enabled:
        log.warning("Overriding Chainlit setting features.spontaneous_file_upload.enabled = false")
        features.spontaneous_file_upload.enabled = False
    for name in ("audio", "mcp"):  # neither is used; both would add endpoints and buttons
        feature = getattr(features, name, None)
        if feature is not None and feature.enabled:
            log.warning("Overriding Chainlit setting features.%s.enabled = false", name)
            feature.enabled = False


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
QUIET_LOGGERS = ("faiss.loader", "chainlit")


def configure_logging(level: int = logging.INFO) -> None:
    """Every log line the server writes, ours or a library's, goes through SafeLogFormatter: contact
    details redacted, user text on one line, traceback lines marked as continuations."""
    from ..privacy import SafeLogFormatter

    from .logs import route_all_logs

    logging.basicConfig(level=level, format=LOG_FORMAT)
    # Start quietly: FAISS's loader logs each CPU variant it could not load ("Could not load library with
    # AVX512 support due to: ModuleNotFoundError...", which reads like an error and is not), and Chainlit
    # logs every translation file it writes and its own "Your app is available" line. Their warnings stay.
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
    for handler in logging.getLogger().handlers:
        handler.setFormatter(SafeLogFormatter(LOG_FORMAT))
    route_all_logs(LOG_FORMAT)  # again in serve(), once Chainlit and socket.io have made their loggers


def wire(app, sio, web: WebSettings, limits=None) -> None:
    """Our routes and guards on Chainlit's FastAPI app and socket.io server (tests wire the same)."""
    from . import chat  # importing it registers the Chainlit callbacks
    from .api import build_router, mount_first
    from .guard import install_guards
    from .state import current

    # Session ids, cookies, Origin, and every Chainlit route and socket event classified (guard.py).
    install_guards(app, sio, web, lambda: current().limiter)
    mount_first(app, build_router(lambda: current().service, lambda: current().limiter, web.trust_forwarded_for,
                                  limits=limits))
    mount_first(app, chat.ui_routes())
    # The staff console under /staff: its own sign-in; the chat and the API above need none.
    from ..staff.middleware import install_staff

    install_staff(app, web)


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8000, web: WebSettings | None = None) -> int:
    configure_logging()
    web = web or WebSettings()

    from ..index import read_manifest
    from ..pipeline import Assistant
    from .ratelimit import RateLimiter
    from .reload import IndexWatcher
    from .durable import Durable
    from .service import AnswerService
    from .state import AppState, current, install
    from .store import UnansweredStore, make_engine
    from .welcome import welcome_for, write_chainlit_md

    # Once, before the port opens: a request never waits for the model, and a missing or stale
    # index stops the command with the core's own message (the CLI prints AssistantError).
    read_manifest(settings.index_dir)  # no index: say so now, not after loading the model
    asyncio.run(_prepare_database(web))  # nor an unwritable database
    durable = Durable(web)
    durable.open()  # the spool folder must be writable too; reads what an earlier run left
    assistant = Assistant(settings)
    service = AnswerService(assistant, UnansweredStore(make_engine(web), durable=durable),
                            max_history=web.max_history, log_questions=web.log_questions, workers=web.answer_workers)
    if web.answer_workers > 1:
        service.start()  # each loads the model and the index: ready before the port opens
    welcome = welcome_for(assistant.index)

    # Chainlit reads its config and makes .files/ in the working folder when first imported.
    import uvicorn
    from chainlit.config import APP_ROOT, config

    def on_swap(new: Assistant) -> None:
        # The first screen and the Readme name the publishers: say what the new index holds.
        fresh = welcome_for(new.index)
        install(current().model_copy(update={"welcome": fresh}))
        write_chainlit_md(fresh, Path(APP_ROOT))

    watcher = IndexWatcher(service, web.reload_seconds, on_swap=on_swap) if web.reload_seconds > 0 else None
    install(AppState(settings=settings, web=web, service=service, welcome=welcome,
                     limiter=RateLimiter.from_settings(web), watcher=watcher, durable=durable))

    _enforce_safe_config(config)
    config.run.host, config.run.port = host, port
    config.run.headless = True  # otherwise Chainlit opens a web browser on start
    write_chainlit_md(welcome, Path(APP_ROOT))

    from chainlit.server import SOCKET_IO_PATH, app, get_html_template, sio

    from .guard import proxy_options
    from .hardening import harden
    from .limits import RequestLimits
    from .logs import route_all_logs

    bounds = RequestLimits()
    wire(app, sio, web, bounds)
    served = harden(app, sio, bounds, SOCKET_IO_PATH, get_html_template(""))
    limits = (f"{web.rate_per_minute:g} question{'' if web.rate_per_minute == 1 else 's'} a minute per client, "
              f"bursts of {web.rate_burst:g}"
              if web.rate_per_minute > 0 else "no rate limit")
    reload = f"looking for a rebuilt index every {web.reload_seconds:g} s" if watcher else "live reload off"
    workers = (f"{web.answer_workers} answer worker processes" if web.answer_workers > 1
               else "answering in the server process")
    # The one start-up line: what is served, where, from what; then one line per answer (service.py).
    log.info("Serving the careers assistant on http://%s:%d (pid %d): %d documents from %s in %s/; database %s; "
             "%s; %s; %s", host, port, os.getpid(), len(assistant.index.documents), ", ".join(welcome.publishers),
             settings.index_dir, _redact(web.database_url), limits, reload, workers)
    # log_config=None: uvicorn's own loggers go through the root handler and its safe formatter; so do
    # engine.io's and socket.io's, made when Chainlit was imported. No Server header: it names the stack.
    route_all_logs(LOG_FORMAT)
    uvicorn.Server(uvicorn.Config(served, host=host, port=port, log_level="warning", loop="asyncio",
                                  log_config=None, server_header=False, **proxy_options(web))).run()
    return 0  # Chainlit's shutdown hook usually exits the process (os._exit) before this


def _redact(url: str) -> str:
    """The database URL without its password, for the log."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        creds, _, host = rest.rpartition("@")
        rest = f"{creds.split(':', 1)[0]}:***@{host}"
    return scheme + sep + rest
