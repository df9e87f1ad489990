"""Process exit codes of `mycfa-engine`, documented in the README for ops and schedulers."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Distinct codes so a scheduler can tell a partial run from a broken configuration."""

    OK = 0  # every planned item succeeded
    PARTIAL_FAILURE = 1  # the run finished but some items failed (recorded with reasons)
    USAGE = 2  # bad command line (argparse's own code)
    CONFIG = 3  # a missing or malformed setting
    AUTH = 4  # FMP rejected the API key: nothing can succeed until it is fixed
    LOCKED = 5  # another run holds the lock
    INTERRUPTED = 6  # stopped by SIGTERM/SIGINT; the run is resumable
    DATABASE = 7  # the database could not be reached or migrated
    QUOTA = 8  # the FMP plan's requests for the day are spent; the run resumes on the next day
