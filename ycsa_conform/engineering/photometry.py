"""Measured grids and luminaire photometry: the files, and the illuminance they predict.

Grid CSV (one file per span, documented in docs/engineering/lighting.md)::

    # comment lines start with '#'; blank lines are skipped
    y\\x (m),1.75,5.25,8.75      <- header: a label, then x positions (in the label's unit,
    0.625,28.1,19.4,12.0             metres without one); each row: y position, one lux
    1.875,27.0,18.8,11.7             reading per x

A grid, an IES or a EULUMDAT file that no instrument or luminaire gives (binary, a NUL, lux
above 200 klx, a multiplier of 0 or 1e308, intensities above 10 Mcd) is refused at its line.

IES LM-63-2002 photometry: Type C only (photometric type 1), TILT=NONE only. EULUMDAT (.ldt,
the public format description, tag M): the same `Photometry`, from the file's cd/klm table times
the lamp flux; symmetry indicators Isym 0–4 are unfolded into the IES C ranges (0–360,
one plane, 0–180, 90–270, 0–90). C 0° along the road and C 90° toward the street side in both.

Predicted illuminance, point by point (inverse-square cosine law)::

    E(P) = Σ_luminaires I(C, γ) · cos θ / d²,   cos θ = h / d

d is the distance from the luminaire to road point P, θ the angle of incidence on the level road,
and (C, γ) the direction of P in the luminaire's own frame: γ from its downward axis, C = 0°
along the road (+x) and C = 90° toward the street side (+y), the IES roadway convention. Poles
stand in one row at the kerb y = 0, one luminaire each at x = k·spacing, y = overhang, at the
mounting height; tilt turns the downward axis toward the street side (an upcast arm).
"""

from __future__ import annotations

import bisect
import csv
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pint

from ycsa_conform.errors import InputError, Problem
from ycsa_conform.source import read_text
from ycsa_conform.units import Quantity, UnitError, parse_unit

from .lighting import IlluminanceGrid

__all__ = [
    "GlareIntensities",
    "Photometry",
    "RoadLayout",
    "glare_intensities",
    "predicted_grid",
    "read_grid_csv",
    "read_ies",
    "read_ldt",
    "read_photometry",
    "upward_light_ratio",
]

_GRID_HEADER_HINT = "the first row must be a label, then the x positions in metres"


def _fail(path: Path, line: int | None, message: str) -> InputError:
    return InputError([Problem(file=str(path), line=line, path="", message=message)])


def _csv_text(path: Path) -> str:
    """A CSV file's text: UTF-8 (a BOM is dropped); missing, a directory, binary or in another
    encoding is refused at its line."""
    try:
        text = read_text(path)
    except InputError as exc:
        raise InputError([replace(p, path="") for p in exc.problems]) from None
    return text.removeprefix("\ufeff")


def _latin1_lines(path: Path, what: str) -> list[str]:
    """The lines of an IES or EULUMDAT file. Both are 8-bit text (Latin-1 or the exporting
    machine's code page); the numbers are ASCII, so any byte decodes, but a NUL is binary."""
    try:
        data = path.read_bytes()
    except IsADirectoryError:
        raise _fail(path, None, f"is a directory, not {what}; name the file inside it") from None
    except OSError as exc:
        raise _fail(path, None, f"cannot read the photometric file: {exc.strerror}") from exc
    if b"\x00" in data:
        raise _fail(
            path,
            data.count(b"\n", 0, data.index(b"\x00")) + 1,
            f"holds a NUL byte: not {what} (a binary file?); export the photometry as text",
        )
    return data.decode("latin-1").splitlines()


# Readings and positions beyond these are typing or export slips, not light on a road (our
# choice): full sunlight is about 100 000 lx, and one grid covers one span of a street.
_LUX_MAX = 200_000.0
_POSITION_MAX_M = 1_000.0
# No road or area luminaire is brighter than 10 Mcd (a searchlight's class), and none is
# lit by more than 1 MW: beyond them the multiplier, conversion factor or flux is wrong.
_INTENSITY_MAX_CD = 1.0e7
_WATTS_MAX = 1.0e6


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def read_grid_csv(path: Path | str) -> IlluminanceGrid:
    """Read a measured grid: header of x positions, then rows of y position and lux readings.

    The first header cell may name the positions' unit, like 'y\\x (m)' or 'y\\x (mm)';
    positions in another length unit are converted to metres, a unit that is no length is
    refused. Without a unit they are metres."""
    path = Path(path)
    text = _csv_text(path)
    reader = csv.reader(text.splitlines())
    rows: list[tuple[int, list[str]]] = []
    start = 1
    for cells in reader:
        if cells and any(c.strip() for c in cells) and not cells[0].lstrip().startswith("#"):
            rows.append((start, cells))
        start = reader.line_num + 1
    if not rows:
        raise _fail(path, 1, f"no grid in the file; {_GRID_HEADER_HINT}")
    header_line, header = rows[0]
    to_metres = _position_unit(path, header_line, header[0])

    def position(cell: str, line: int, what: str) -> float | None:
        value = _number(cell)
        if value is None:
            return None
        metres = value * to_metres
        if abs(metres) > _POSITION_MAX_M:
            raise _fail(
                path,
                line,
                f"{what} {cell.strip()!r} is {metres:g} m from the pole, beyond "
                f"{_POSITION_MAX_M:g} m; a grid covers one span: check the unit in the first "
                "header cell, like 'y\\x (m)'",
            )
        return metres

    x: list[float] = []
    for column, cell in enumerate(header[1:], start=2):
        value = position(cell, header_line, "x position")
        if value is None:
            raise _fail(
                path,
                header_line,
                f"column {column} header {cell.strip()!r} is not a number; {_GRID_HEADER_HINT}",
            )
        if x and value <= x[-1]:
            raise _fail(
                path,
                header_line,
                f"x position {value:g} m does not increase after {x[-1]:g} m; "
                "list the x positions in increasing order",
            )
        x.append(value)
    if not x:
        raise _fail(path, header_line, f"the header has no x positions; {_GRID_HEADER_HINT}")
    y: list[float] = []
    lux: list[tuple[float, ...]] = []
    for line, cells in rows[1:]:
        at = position(cells[0], line, "y position")
        if at is None:
            raise _fail(
                path,
                line,
                f"y position {cells[0].strip()!r} is not a number; start each row with its "
                "y position in metres",
            )
        if y and at <= y[-1]:
            raise _fail(
                path,
                line,
                f"y position {at:g} m does not increase after {y[-1]:g} m; "
                "list the rows in increasing y",
            )
        readings = cells[1:]
        if len(readings) != len(x):
            raise _fail(
                path,
                line,
                f"row has {len(readings)} lux readings, the header has {len(x)} x positions; "
                "give one reading per x position",
            )
        values: list[float] = []
        for column, cell in enumerate(readings, start=2):
            value = _number(cell)
            if value is None or value < 0:
                raise _fail(
                    path,
                    line,
                    f"column {column} reading {cell.strip()!r} is not a lux value; "
                    "write a number ≥ 0 without a unit, like '21.4'",
                )
            if value > _LUX_MAX:
                raise _fail(
                    path,
                    line,
                    f"column {column} reading {cell.strip()!r} lx is not a plausible road "
                    f"illuminance (above {_LUX_MAX:g} lx, brighter than sunlight); write the "
                    "lux meter's reading in lx",
                )
            values.append(value)
        y.append(at)
        lux.append(tuple(values))
    if not y:
        raise _fail(path, header_line, "the grid has no rows of readings; add a row per y position")
    return IlluminanceGrid(x=tuple(x), y=tuple(y), lux=tuple(lux))


def _position_unit(path: Path, line: int, label: str) -> float:
    """Metres per unit of the grid's positions, from the first header cell 'y\\x (UNIT)'."""
    cell = label.strip()
    if not cell.endswith(")") or "(" not in cell:
        return 1.0
    written = cell[cell.rindex("(") + 1 : -1].strip()
    try:
        unit = parse_unit(written)
        factor = float(Quantity(1.0, unit).to("m").magnitude)
    except (UnitError, pint.DimensionalityError):
        raise _fail(
            path,
            line,
            f"column 1 header '{cell}' gives the positions in {written!r}, which is not a "
            "length; write the unit of the x and y positions, like 'y\\x (m)'",
        ) from None
    return factor


@dataclass(frozen=True, slots=True, kw_only=True)
class Photometry:
    """An IES LM-63 Type C photometric file.

    `candela[h][v]` is the intensity at horizontal angle `horizontal_angles[h]` and vertical
    angle `vertical_angles[v]`, already multiplied by the file's multiplier and ballast factor.
    """

    path: str
    keywords: dict[str, str]
    lamps: int
    lumens_per_lamp: float  # -1: absolute photometry
    input_power: pint.Quantity[Any]
    vertical_angles: tuple[float, ...]
    horizontal_angles: tuple[float, ...]
    candela: tuple[tuple[float, ...], ...]

    def intensity(self, c: float, gamma: float) -> float:
        """Candela toward (C, γ) in degrees, bilinear in the table, using the file's symmetry."""
        v_angles = self.vertical_angles
        if gamma < v_angles[0] or gamma > v_angles[-1]:
            return 0.0
        h = self._fold(c % 360.0)
        h_angles = self.horizontal_angles
        if len(h_angles) == 1:
            return _interpolate(v_angles, self.candela[0], gamma)
        k = min(max(bisect.bisect_right(h_angles, h) - 1, 0), len(h_angles) - 2)
        h0, h1 = h_angles[k], h_angles[k + 1]
        t = (h - h0) / (h1 - h0)
        below = _interpolate(v_angles, self.candela[k], gamma)
        above = _interpolate(v_angles, self.candela[k + 1], gamma)
        return below + t * (above - below)

    def _fold(self, c: float) -> float:
        """Map any C in [0, 360) into the range the file covers (LM-63-2002 symmetries)."""
        first, last = self.horizontal_angles[0], self.horizontal_angles[-1]
        if first == 90:  # 90..270: symmetric about the 90-270 plane
            return c if 90 <= c <= 270 else (180.0 - c) % 360.0
        if last == 90:  # quadrant symmetry
            c = c if c <= 180 else 360.0 - c
            return c if c <= 90 else 180.0 - c
        if last == 180:  # symmetric about the 0-180 plane
            return c if c <= 180 else 360.0 - c
        return c  # 0..360, or a single plane (rotational symmetry, handled by the caller)

    def luminous_flux(self) -> pint.Quantity[Any]:
        """Total flux by integrating the table over the sphere (1° steps), in lumens."""
        total = 0.0
        step = math.radians(1.0)
        for gamma_deg in range(180):
            g = gamma_deg + 0.5
            band = 0.0
            for c_deg in range(360):
                band += self.intensity(c_deg + 0.5, g)
            total += band * math.sin(math.radians(g)) * step * step
        return Quantity(total, "lm")


def _interpolate(angles: Sequence[float], values: Sequence[float], at: float) -> float:
    if len(angles) == 1:
        return values[0]
    k = min(max(bisect.bisect_right(angles, at) - 1, 0), len(angles) - 2)
    a0, a1 = angles[k], angles[k + 1]
    t = (at - a0) / (a1 - a0)
    return values[k] + t * (values[k + 1] - values[k])


def _tokens(lines: Sequence[str], start: int) -> Iterator[tuple[int, str]]:
    for number in range(start, len(lines)):
        for token in lines[number].replace(",", " ").split():
            yield number + 1, token


def read_ies(path: Path | str) -> Photometry:
    """Read an IES LM-63-2002 file (also -1995/-1991 headers); Type C and TILT=NONE only."""
    path = Path(path)
    lines = _latin1_lines(path, "an IES file")
    if not lines or not lines[0].strip().upper().startswith("IESNA"):
        raise _fail(path, 1, "not an IES LM-63 file: the first line must be 'IESNA:LM-63-2002'")
    keywords: dict[str, str] = {}
    tilt_line = None
    for number, raw in enumerate(lines[1:], start=2):
        text = raw.strip()
        if text.upper().startswith("TILT="):
            tilt_line = number
            if text[5:].strip().upper() != "NONE":
                raise _fail(
                    path,
                    number,
                    f"{text!r} is not supported; export the file with TILT=NONE",
                )
            break
        if text.startswith("[") and "]" in text:
            key, _, keyword_value = text[1:].partition("]")
            keywords[key.strip().upper()] = keyword_value.strip()
    if tilt_line is None:
        raise _fail(path, len(lines), "no TILT= line; an LM-63 file needs 'TILT=NONE'")

    tokens = list(_tokens(lines, tilt_line))
    last_line = len(lines)

    def number_at(index: int, what: str) -> float:
        if index >= len(tokens):
            raise _fail(path, last_line, f"the file ends before {what}; the table is cut short")
        line, token = tokens[index]
        value = _number(token)
        if value is None:
            raise _fail(path, line, f"{what} {token!r} is not a number")
        return value

    names = (
        "the number of lamps",
        "the lumens per lamp",
        "the candela multiplier",
        "the number of vertical angles",
        "the number of horizontal angles",
        "the photometric type",
        "the units type",
        "the luminous width",
        "the luminous length",
        "the luminous height",
        "the ballast factor",
        "the future-use field",
        "the input watts",
    )
    head = [number_at(i, name) for i, name in enumerate(names)]
    lamps, lumens, multiplier, n_v, n_h, kind = head[:6]
    ballast, watts = head[10], head[12]
    # Each must be above zero and below a bound no real file reaches (a multiplier of 1e308
    # overflowed the table to infinity, and a zero one gave a dark luminaire that still met).
    for index, value, rule in (
        (0, lamps, "a whole number ≥ 1"),
        (2, multiplier, "a number above 0 (usually 1)"),
        (10, ballast, "a number above 0 (usually 1)"),
        (12, watts, f"a power above 0 W and at most {_WATTS_MAX:g} W"),
    ):
        if not 0 < value <= _WATTS_MAX or (index == 0 and value != int(value)):
            raise _fail(
                path, tokens[index][0], f"{names[index]} is {tokens[index][1]!r}; it must be {rule}"
            )
    if lumens != -1 and not 0 < lumens <= _WATTS_MAX * 1000:
        raise _fail(
            path,
            tokens[1][0],
            f"the lumens per lamp is {tokens[1][1]!r}; give the lamp's flux in lm, or -1 for "
            "absolute photometry",
        )
    if kind != 1:
        raise _fail(
            path,
            tokens[5][0],
            f"photometric type {kind:g} is not read; only Type C (1), used for road luminaires",
        )
    if n_v < 1 or n_h < 1 or n_v != int(n_v) or n_h != int(n_h):
        raise _fail(path, tokens[3][0], "the angle counts must be whole numbers ≥ 1")
    n_vert, n_horiz = int(n_v), int(n_h)
    at = len(names)
    vertical = [number_at(at + k, f"vertical angle {k + 1}") for k in range(n_vert)]
    at += n_vert
    horizontal = [number_at(at + k, f"horizontal angle {k + 1}") for k in range(n_horiz)]
    at += n_horiz
    for name, angles, start in (
        ("vertical", vertical, len(names)),
        ("horizontal", horizontal, len(names) + n_vert),
    ):
        for k in range(1, len(angles)):
            if angles[k] <= angles[k - 1]:
                raise _fail(
                    path,
                    tokens[start + k][0],
                    f"{name} angle {angles[k]:g}° does not increase after {angles[k - 1]:g}°",
                )
    if vertical[0] < 0 or vertical[-1] > 180:
        raise _fail(path, tokens[len(names)][0], "vertical angles must lie within 0°..180°")
    if (horizontal[0], horizontal[-1]) not in ((0, 0), (0, 90), (0, 180), (0, 360), (90, 270)):
        raise _fail(
            path,
            tokens[len(names) + n_vert][0],
            f"horizontal angles {horizontal[0]:g}°..{horizontal[-1]:g}° are not an LM-63 "
            "Type C range; use 0, 0-90, 0-180, 0-360 or 90-270",
        )
    scale = multiplier * ballast
    table: list[tuple[float, ...]] = []
    for h in range(n_horiz):
        row = []
        for v in range(n_vert):
            value = number_at(at, f"candela value {v + 1} at horizontal angle {horizontal[h]:g}°")
            if value < 0:
                raise _fail(path, tokens[at][0], f"candela value {value:g} is negative")
            _plausible_intensity(path, tokens[at][0], value * scale, "the candela multiplier")
            row.append(value * scale)
            at += 1
        table.append(tuple(row))
    if at < len(tokens):
        line, token = tokens[at]
        raise _fail(
            path,
            line,
            f"unexpected {token!r} after the candela table; the header promises "
            f"{n_vert} × {n_horiz} values",
        )
    return Photometry(
        path=str(path),
        keywords=keywords,
        lamps=int(lamps),
        lumens_per_lamp=lumens,
        input_power=Quantity(watts, "W"),
        vertical_angles=tuple(vertical),
        horizontal_angles=tuple(horizontal),
        candela=tuple(table),
    )


def _plausible_intensity(path: Path, line: int, candela: float, suspect: str) -> None:
    if not candela <= _INTENSITY_MAX_CD:  # also NaN and inf: a multiplier of 1e308 overflows
        raise _fail(
            path,
            line,
            f"this intensity scales to {candela:g} cd, more than any road luminaire gives "
            f"({_INTENSITY_MAX_CD:g} cd); check {suspect}",
        )


def read_photometry(path: Path | str) -> Photometry:
    """An IES file, or an EULUMDAT file when its name ends in .ldt (any case)."""
    return read_ldt(path) if str(path).lower().endswith(".ldt") else read_ies(path)


# EULUMDAT symmetry indicator → (C range the stored planes cover, which of the Mc planes are
# stored: first index and count as functions of Mc). Public EULUMDAT description (M).
_ISYM_PLANES = {
    0: "all planes C 0°..360° − Dc",
    1: "one plane (rotational symmetry about the vertical axis)",
    2: "C 0°..180° (symmetric about the C0–C180 plane)",
    3: "C 90°..270° (symmetric about the C90–C270 plane)",
    4: "C 0°..90° (symmetric about both planes)",
}


def read_ldt(path: Path | str) -> Photometry:
    """Read an EULUMDAT (.ldt) file: 26 header lines + lamp sets + 10 direct ratios, angles,
    then the intensities in cd/klm of lamp flux for the planes the symmetry indicator keeps."""
    path = Path(path)
    lines = [line.strip() for line in _latin1_lines(path, "an EULUMDAT file")]

    def text(line: int, what: str) -> str:
        if line > len(lines):
            raise _fail(
                path,
                len(lines),
                f"the file ends before line {line} ({what}); "
                "an EULUMDAT file has 26 header lines, lamp sets, 10 direct ratios, "
                "the angles and the intensities",
            )
        return lines[line - 1]

    def number(line: int, what: str) -> float:
        raw = text(line, what)
        value = _number(raw.replace(",", "."))
        if value is None:
            raise _fail(path, line, f"{what} {raw!r} is not a number — write it as a number")
        return value

    def count(line: int, what: str, low: int = 0) -> int:
        value = number(line, what)
        if value != int(value) or value < low:
            raise _fail(path, line, f"{what} {value:g} must be a whole number ≥ {low}")
        return int(value)

    isym = count(3, "the symmetry indicator Isym")
    if isym not in _ISYM_PLANES:
        raise _fail(
            path,
            3,
            f"symmetry indicator {isym} is not 0..4 — use 0 (none), 1 "
            "(vertical axis), 2 (C0-C180), 3 (C90-C270) or 4 (both planes)",
        )
    mc = count(4, "the number of C planes Mc", 1)
    number(5, "the C-plane step Dc")  # the C angles are listed; Dc is only checked
    ng = count(6, "the number of γ angles Ng", 1)
    conversion = number(24, "the intensity conversion factor")
    if conversion <= 0:
        raise _fail(
            path, 24, f"the intensity conversion factor {conversion:g} must be above 0 (usually 1)"
        )
    sets = count(26, "the number of lamp sets n", 1)
    lamps = 0
    flux = 0.0
    watts = 0.0
    for k in range(sets):
        lamps += abs(count(27 + k, f"lamp set {k + 1}: number of lamps"))
        flux += number(27 + 2 * sets + k, f"lamp set {k + 1}: total lamp flux (lm)")
        watts += number(27 + 5 * sets + k, f"lamp set {k + 1}: wattage with ballast (W)")
    if not 0 < flux <= _WATTS_MAX * 1000:
        raise _fail(
            path,
            27 + 2 * sets,
            f"total lamp flux {flux:g} lm must be above zero and plausible — give the lamp "
            "set's flux in lumens",
        )
    if not 0 <= watts <= _WATTS_MAX:
        raise _fail(
            path,
            27 + 5 * sets,
            f"total wattage {watts:g} W must lie within 0..{_WATTS_MAX:g} W — give the lamp "
            "set's wattage with its ballast",
        )
    at = 27 + 6 * sets + 10  # after the 10 direct ratios
    c_angles = [number(at + k, f"C angle {k + 1}") for k in range(mc)]
    at += mc
    gammas = [number(at + k, f"γ angle {k + 1}") for k in range(ng)]
    at += ng
    if isym == 1:
        first, stored = 0, 1
    elif isym == 0:
        first, stored = 0, mc
    elif isym == 4:
        first, stored = 0, mc // 4 + 1
    else:
        first, stored = (0 if isym == 2 else mc // 4), mc // 2 + 1
    if isym in (2, 3, 4) and mc % (4 if isym != 2 else 2):
        raise _fail(
            path,
            4,
            f"Mc = {mc} planes cannot be halved for symmetry {isym} — the "
            "file's Mc or Isym is wrong",
        )
    planes = c_angles[first : first + stored]
    scale = conversion * flux / 1000.0
    table: list[tuple[float, ...]] = []
    for p, c in enumerate(planes):
        row: list[float] = []
        for g in range(ng):
            line = at + p * ng + g
            value = number(line, f"intensity at C {c:g}° γ {gammas[g]:g}°")
            if value < 0:
                raise _fail(
                    path, line, f"intensity {value:g} cd/klm is negative — intensities are ≥ 0"
                )
            _plausible_intensity(
                path, line, value * scale, "the conversion factor (line 24) or the lamp flux"
            )
            row.append(value * scale)
        table.append(tuple(row))
    end = at + stored * ng
    extra = [n for n in range(end, len(lines) + 1) if lines[n - 1]]
    if extra:
        raise _fail(
            path,
            extra[0],
            f"unexpected {lines[extra[0] - 1]!r} after the intensity "
            f"table — Isym {isym} with Mc {mc}, Ng {ng} promises {stored} × {ng} values",
        )
    for name, angles in (("C", planes), ("γ", gammas)):
        for k in range(1, len(angles)):
            if angles[k] <= angles[k - 1]:
                raise _fail(
                    path,
                    None,
                    f"{name} angle {angles[k]:g}° does not increase after "
                    f"{angles[k - 1]:g}° — list the angles in increasing order",
                )
    if isym == 0:  # close the circle for interpolation between the last plane and C 360°
        planes = [*planes, 360.0]
        table.append(table[0])
    elif isym == 1:
        planes = [0.0]
    expected = {2: (0.0, 180.0), 3: (90.0, 270.0), 4: (0.0, 90.0)}.get(isym)
    if expected is not None and (planes[0], planes[-1]) != expected:
        raise _fail(
            path,
            27 + 6 * sets + 10,
            f"the stored planes run C {planes[0]:g}°.."
            f"{planes[-1]:g}°; symmetry {isym} stores {_ISYM_PLANES[isym]}",
        )
    return Photometry(
        path=str(path),
        keywords={
            "MANUFAC": lines[0],
            "LUMINAIRE": text(9, "the luminaire name"),
            "LUMCAT": text(10, "the luminaire number"),
            "FORMAT": "EULUMDAT",
        },
        lamps=max(lamps, 1),
        lumens_per_lamp=flux / max(lamps, 1),
        input_power=Quantity(watts, "W"),
        vertical_angles=tuple(gammas),
        horizontal_angles=tuple(planes),
        candela=tuple(table),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class RoadLayout:
    """One row of poles at the kerb (y = 0), one luminaire each; see the module docstring."""

    spacing: pint.Quantity[Any]
    mounting_height: pint.Quantity[Any]
    overhang: pint.Quantity[Any]
    tilt: pint.Quantity[Any]
    maintenance_factor: float = 1.0

    def __post_init__(self) -> None:
        if self.spacing.to("m").magnitude <= 0 or self.mounting_height.to("m").magnitude <= 0:
            raise ValueError("pole spacing and mounting height must be above zero")
        if not 0 < self.maintenance_factor <= 1:
            raise ValueError(f"maintenance factor {self.maintenance_factor} must be in (0, 1]")


# Our choice, not a standard's: luminaires within 5 mounting heights of the grid either way.
# Beyond that a road luminaire lights the grid at γ > 78°, a few percent at most.
_REACH_IN_HEIGHTS = 5.0


def predicted_grid(
    photometry: Photometry,
    layout: RoadLayout,
    x: Sequence[float],
    y: Sequence[float],
) -> IlluminanceGrid:
    """Horizontal illuminance at the road points (x[i], y[j]) in metres, point by point."""
    s = float(layout.spacing.to("m").magnitude)
    h = float(layout.mounting_height.to("m").magnitude)
    y_lum = float(layout.overhang.to("m").magnitude)
    tilt = float(layout.tilt.to("radian").magnitude)
    cos_t, sin_t = math.cos(tilt), math.sin(tilt)
    reach = _REACH_IN_HEIGHTS * h
    first = math.floor((min(x) - reach) / s)
    last = math.ceil((max(x) + reach) / s)
    poles = [k * s for k in range(first, last + 1)]
    rows: list[tuple[float, ...]] = []
    for py in y:
        row: list[float] = []
        for px in x:
            total = 0.0
            for pole_x in poles:
                dx, dy, dz = px - pole_x, py - y_lum, -h
                d2 = dx * dx + dy * dy + dz * dz
                d = math.sqrt(d2)
                c, gamma = _luminaire_angles(dx, dy, dz, cos_t, sin_t)
                total += photometry.intensity(c, gamma) * (h / d) / d2
            row.append(total * layout.maintenance_factor)
        rows.append(tuple(row))
    return IlluminanceGrid(x=tuple(x), y=tuple(y), lux=tuple(rows))


def _luminaire_angles(
    dx: float, dy: float, dz: float, cos_t: float, sin_t: float
) -> tuple[float, float]:
    """(C, γ) in degrees of the world direction (dx, dy, dz) for a luminaire tilted by t."""
    d = math.sqrt(dx * dx + dy * dy + dz * dz)
    # into the luminaire frame: undo the tilt, a rotation about the road (x) axis
    ly = dy * cos_t + dz * sin_t
    lz = -dy * sin_t + dz * cos_t
    gamma = math.degrees(math.acos(max(-1.0, min(1.0, -lz / d))))
    c = math.degrees(math.atan2(ly, dx)) if (dx or ly) else 0.0
    return c, gamma


def _installed_intensity(
    photometry: Photometry, elevation: float, azimuth: float, cos_t: float, sin_t: float
) -> float:
    """Candela toward the world direction at `elevation` degrees from the downward vertical and
    `azimuth` degrees from the road axis (+x) toward the street side (+y)."""
    e, a = math.radians(elevation), math.radians(azimuth)
    dx, dy, dz = math.sin(e) * math.cos(a), math.sin(e) * math.sin(a), -math.cos(e)
    c, gamma = _luminaire_angles(dx, dy, dz, cos_t, sin_t)
    return photometry.intensity(c, gamma)


def _rated_flux(photometry: Photometry) -> pint.Quantity[Any]:
    """Lamp flux for relative photometry; the luminaire's own flux for absolute photometry."""
    if photometry.lumens_per_lamp > 0:
        return Quantity(photometry.lamps * photometry.lumens_per_lamp, "lm")
    return photometry.luminous_flux()


@dataclass(frozen=True, slots=True, kw_only=True)
class GlareIntensities:
    """The highest intensity of the installed luminaire at 80° and 90° from the downward
    vertical (any azimuth), absolute and per 1000 lm (the CJJ 45 cut-off figures)."""

    at_80: pint.Quantity[Any]  # cd/klm
    at_90: pint.Quantity[Any]  # cd/klm
    at_90_absolute: pint.Quantity[Any]  # cd
    flux: pint.Quantity[Any]  # lm the per-klm figures are relative to


def glare_intensities(
    photometry: Photometry, *, tilt: pint.Quantity[Any] | None = None
) -> GlareIntensities:
    """Highest intensity at 80° and 90° in the installed attitude, over azimuths in 1° steps.

    Our choice (I): the luminaire is judged as mounted, with its tilt, since an upcast arm
    raises the light toward the horizon; with no tilt this is the file's own C/γ grid.
    Relative photometry is scaled by the rated lamp flux, absolute photometry by the luminaire
    flux integrated from the file.
    """
    t = float(tilt.to("radian").magnitude) if tilt is not None else 0.0
    cos_t, sin_t = math.cos(t), math.sin(t)
    flux = _rated_flux(photometry)
    klm = float(flux.to("lm").magnitude) / 1000
    if klm <= 0:
        raise ValueError(f"{photometry.path}: the file gives no luminous flux to scale by")

    def highest(elevation: float) -> float:
        return max(
            _installed_intensity(photometry, elevation, a + 0.5, cos_t, sin_t) for a in range(360)
        )

    i80, i90 = highest(80.0), highest(90.0)
    return GlareIntensities(
        at_80=Quantity(i80 / klm, "cd/klm"),
        at_90=Quantity(i90 / klm, "cd/klm"),
        at_90_absolute=Quantity(i90, "cd"),
        flux=flux,
    )


def upward_light_ratio(photometry: Photometry, *, tilt: pint.Quantity[Any] | None = None) -> float:
    """ULR: the share of the luminaire's flux emitted above the horizontal, as installed.

    Integrated over the sphere in 1° steps in world directions (CIE 150 takes the luminaire in
    its installed position), so an upcast tilt raises it.
    """
    t = float(tilt.to("radian").magnitude) if tilt is not None else 0.0
    cos_t, sin_t = math.cos(t), math.sin(t)
    step = math.radians(1.0)
    up = down = 0.0
    for elevation_deg in range(180):
        e = elevation_deg + 0.5
        band = sum(_installed_intensity(photometry, e, a + 0.5, cos_t, sin_t) for a in range(360))
        flux = band * math.sin(math.radians(e)) * step * step
        if e > 90:
            up += flux
        else:
            down += flux
    total = up + down
    if total <= 0:
        raise ValueError(f"{photometry.path}: the candela table is all zero")
    return up / total
