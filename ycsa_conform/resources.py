"""Where the built-in data lives: profiles/, benches/, fixtures/.

In a source checkout (and an editable install) they sit at the top of the repository; a wheel
carries them inside the package as `ycsa_conform/_data/<name>` (see pyproject.toml).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["data_dir"]

_PACKAGE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """The folder of built-in data `name` ('profiles', 'benches', 'fixtures')."""
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        f"built-in data folder {name!r} is missing from the installation at {_PACKAGE}; "
        "reinstall ycsa-conform"
    )
