"""The plugin's boundary with pytest while a session is set up: loading the user's files,
starting the bench, collecting and planning the requirement items.

What crosses it is one line, never an INTERNALERROR traceback:
- a bad input (InputError, or a path that cannot be opened) is pytest's usage error (exit 4):
  `ERROR: FILE:LINE: $.path: problem — fix`;
- anything else is a bug: one line naming the stage, the place in our code and the inputs of
  the run (exit 3, pytest's internal error). The exception's own text is left out: it may hold
  a value read from a file or a device, such as a credential.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from ycsa_conform.errors import InputError

__all__ = ["guarded", "pytest_collection"]

# The options that name what a run reads, in the order a user would check them.
_INPUTS = (
    ("--profile", "ycsa_profiles"),
    ("--site", "ycsa_site"),
    ("--evidence", "ycsa_evidence"),
    ("--replay", "ycsa_replay"),
    ("--param", "ycsa_params"),
    ("--bench-fault", "ycsa_bench_faults"),
)


@contextmanager
def guarded(config: pytest.Config, stage: str) -> Iterator[None]:
    """Turn what escapes `stage` into one line: a usage error, or an internal error."""
    try:
        yield
    except InputError as exc:
        raise pytest.UsageError(str(exc)) from None
    except OSError as exc:
        if exc.filename is None:
            pytest.exit(
                internal_error(config, stage, exc), returncode=pytest.ExitCode.INTERNAL_ERROR
            )
        raise pytest.UsageError(
            f"{exc.filename}: {exc.strerror or type(exc).__name__}; check the path"
        ) from None
    except (pytest.UsageError, pytest.fail.Exception, pytest.skip.Exception):
        raise
    except Exception as exc:
        pytest.exit(internal_error(config, stage, exc), returncode=pytest.ExitCode.INTERNAL_ERROR)


def internal_error(config: pytest.Config, stage: str, exc: BaseException) -> str:
    ours = [f for f in traceback.extract_tb(exc.__traceback__) if "ycsa_conform" in f.filename]
    place = f" at {Path(ours[-1].filename).name}:{ours[-1].lineno}" if ours else ""
    given = []
    for option, dest in _INPUTS:
        value = config.getoption(dest, None)
        for item in value if isinstance(value, list) else [value]:
            if item:
                given.append(f"{option} {item}")
    inputs = f" with {', '.join(given)}" if given else ""
    return (
        f"ycsa-conform: internal error ({type(exc).__name__}{place}) while {stage}{inputs}; "
        "this is a bug in ycsa-conform, not in the input: report it with the command line "
        "and the files"
    )


@pytest.hookimpl(wrapper=True)
def pytest_collection(session: pytest.Session) -> object:
    """Collecting the requirement items and planning the run: one line for what escapes."""
    if not session.config.getoption("ycsa_profiles"):
        return (yield)
    with guarded(session.config, "collecting and planning the requirements"):
        return (yield)
