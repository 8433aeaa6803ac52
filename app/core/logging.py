"""Log levels for our own code, set once per process (each Serve replica is a process).

Ray Serve already routes the standard ``logging`` records of a replica into its log files with request ids,
so no handler is added here: only the level of the project's loggers, from ``Settings.log_level``.
"""

from __future__ import annotations

import logging

PROJECT_LOGGERS = ("app", "models", "deployments")


def configure_logging(level: str) -> None:
    for name in PROJECT_LOGGERS:
        logging.getLogger(name).setLevel(level.upper())
