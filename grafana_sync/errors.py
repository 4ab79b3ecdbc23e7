"""Errors a user can cause, each rendered as one line and an exit code (never a traceback)."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILURE = 1  # build failure, differences, lint findings, a failed push
EXIT_USAGE = 2  # usage or configuration error


class SyncError(Exception):
    """Base class: `str(err)` is the one line shown to the user."""

    exit_code = EXIT_FAILURE


class ConfigError(SyncError):
    """The user's input or configuration is wrong (bad module, duplicate uid, bad option)."""

    exit_code = EXIT_USAGE


class BuildError(SyncError):
    """A build failed for a reason other than configuration."""

    exit_code = EXIT_FAILURE


class GrafanaError(SyncError):
    """Grafana answered with an error, or could not be reached."""

    exit_code = EXIT_FAILURE
