"""Every log line through one safe formatter, whichever library writes it.

The root handler's SafeLogFormatter is not enough on its own: a library may give its logger a
handler of its own, which formats records its own way. python-engineio and python-socketio do
exactly that when their server is made (a bare StreamHandler on `engineio.server`, `socketio.server`),
so `GET /ws/socket.io/?sid=abc%0A2026-01-01 ERROR FORGED` wrote the sid, newline and all, as a
second, forged log line. Python warnings go to stderr unformatted unless captured into logging.
"""

from __future__ import annotations

import logging
import sys

from ..privacy import SafeLogFormatter


def route_all_logs(log_format: str) -> list[str]:
    """Send every existing logger's records through the root handlers (and so SafeLogFormatter):
    console handlers of library loggers are removed and the loggers propagate; any other handler
    (a file, say) gets a SafeLogFormatter of its own. Python warnings are logged too. Returns the
    names of the loggers changed, for the test. Call once every library is imported (serve does)."""
    logging.captureWarnings(True)  # warnings.warn(...) -> the "py.warnings" logger -> root
    changed: list[str] = []
    loggers = [logging.getLogger(name) for name in list(logging.Logger.manager.loggerDict)]
    for logger in loggers:
        if not isinstance(logger, logging.Logger) or not (logger.handlers or not logger.propagate):
            continue
        for handler in list(logger.handlers):
            if isinstance(handler, logging.StreamHandler) and getattr(handler, "stream", None) in (
                    sys.stderr, sys.stdout, sys.__stderr__, sys.__stdout__):
                logger.removeHandler(handler)  # the root handler writes the same stream, safely
            else:
                handler.setFormatter(SafeLogFormatter(log_format))
        if not logger.handlers:
            logger.propagate = True  # else its records would go nowhere, or to Python's bare last resort
        changed.append(logger.name)
    return changed
