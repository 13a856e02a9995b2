"""`ycsa-conform site init`: scaffold a commented site file that validates as written.

    ycsa-conform site init FILE [--profile smart-pole|smart-community] [--kind pole|community]
        [--poles POLES.csv] [--pole ID ...] [--device ROLE=URI ...] [--map ROLE=FILE ...]
        [--site-id ID] [--title TEXT] [--interactive] [--force]

One target per `--pole` and per row of POLES.csv (header `id,address,<design key>...,<role>...`:
`address` is where the pole stands, the report's title of the target; a design-key column
holds that key's value as the site file would, like `10 m`; a role column holds the device's
URI for that pole). `--device ROLE=URI` gives every target's device of that role, with `{pole}`
standing for the target's id.

Placeholders, a decision (docs/site-init.md): `validate` holds a site to its profiles, and a
target without the devices of a role the profile checks is an error there (a run could not
decide those requirements). So where no URI is given, the device is written with a placeholder
URI on the documentation network 192.0.2.0/24 (RFC 5737, never routed), a comment saying what to
put there, and the built-in bench's device map for the role. The file validates; a run against
it reports `error` for those devices (unreachable), never a verdict; and `ycsa-conform doctor`
names every placeholder still in the file as not ready.

Before anything is written, the text is loaded the full way (schema, units, device maps) and
held to the profiles exactly as `ycsa-conform validate` does; a problem stops it with
FILE:LINE: column: problem — fix, and no file is written. An existing file is replaced only
with --force.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import difflib
import os
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import yaml

from . import __version__
from .contract import Finding, Severity, problems, roles_used
from .design import DESIGN_KEYS
from .design_range import heights_beyond_tables
from .errors import InputError, Problem
from .point import ROLES
from .profile import Profile, builtin_profiles, load_profile
from .resources import data_dir
from .site import load_site
from .source import load_document
from .transport.address import parse_device_uri

__all__ = ["PLACEHOLDER_NETWORK", "add_parser", "cmd_site_init", "schema_uri"]

USAGE = 4
# RFC 5737 TEST-NET-1: documentation addresses, never routed. A device here is a placeholder.
PLACEHOLDER_NETWORK = "192.0.2.0/24"
_PLACEHOLDER_HOST = "192.0.2.1"
_ID_PATTERN = "^[A-Za-z0-9][A-Za-z0-9_.-]*$"

# The built-in bench's device map for each role (benches/devicemaps/): a starting point that a
# vendor's own map replaces (docs/devicemaps.md).
_POLE_MAPS = {
    "lamp": "lamp-controller.yaml",
    "meter": "meter-dlt645.yaml",
    "tilt": "tilt-sensor.yaml",
    "environment": "environment-sensor.yaml",
    "gateway": "gateway.yaml",
}
# A placeholder for each pole role, in the protocol of the bench's map, and the form a field
# device usually takes (what the comment tells the engineer to write).
_POLE_PLACEHOLDERS = {
    "lamp": (
        f"modbus-tcp://{_PLACEHOLDER_HOST}:502?unit=1",
        "on the RS-485 line through a USB adapter: "
        "modbus-rtu:///dev/ttyUSB0?baud=9600&parity=N&stopbits=1&unit=1",
    ),
    "meter": (
        f"dlt645-tcp://{_PLACEHOLDER_HOST}:4002?address=000000000001",
        "dlt645:///dev/ttyUSB1?baud=2400&address=<12 digits from the nameplate>",
    ),
    "tilt": (
        f"modbus-tcp://{_PLACEHOLDER_HOST}:502?unit=4",
        "behind the pole gateway's Modbus TCP port: modbus-tcp://<gateway IP>:502?unit=<id>",
    ),
    "environment": (
        f"modbus-tcp://{_PLACEHOLDER_HOST}:502?unit=3",
        "behind the pole gateway's Modbus TCP port: modbus-tcp://<gateway IP>:502?unit=<id>",
    ),
    "gateway": (
        f"mqtt://{_PLACEHOLDER_HOST}:1883/city/{{pole}}",
        "the platform's broker and the pole's topic prefix: mqtts://<broker>:8883/<prefix>",
    ),
}
_LIST_KEYS = ("equipment", "shaft_segments")


def schema_uri(name: str = "site") -> str:
    """The file URI of the installed JSON Schema `name`, for the editor header."""
    return (Path(__file__).resolve().parent / "schemas" / f"{name}.schema.json").as_uri()


@dataclass(slots=True, kw_only=True)
class _Device:
    uri: str
    map: str
    placeholder: bool
    own_map: bool = False  # given with --map, not the built-in bench's
    hint: str = ""


@dataclass(slots=True, kw_only=True)
class _Target:
    id: str
    address: str = ""
    design: dict[str, Any] = field(default_factory=dict)
    uris: dict[str, str] = field(default_factory=dict)  # role -> URI from the CSV
    origin: str = ""  # "POLES.csv:3" or "--pole"


@dataclass(slots=True, kw_only=True)
class _Plan:
    out: Path
    profiles: list[Profile]
    kind: str
    site_id: str
    title: str
    targets: list[_Target]
    devices: dict[str, str]  # role -> URI template ({pole}) from --device
    maps: dict[str, str]  # role -> map file from --map


class _Usage(Exception):
    """A wrong argument or answer: one line, exit USAGE."""


def add_parser(sub: Any) -> None:
    """Register `site` (with its action `init`) on the CLI's subparsers."""
    p = sub.add_parser("site", help="scaffold a site file (site init)")
    actions = p.add_subparsers(dest="action", required=True)
    init = actions.add_parser(
        "init",
        help="write a commented site file that validates as written",
        description="Write a site file for one pole, a road of poles (--poles POLES.csv) or a "
        "community, commented key by key, that `ycsa-conform validate` accepts as written. "
        "Devices not given with --device or a CSV column get a placeholder address on the "
        "documentation network 192.0.2.0/24 that `ycsa-conform doctor` reports until it is "
        "replaced. docs/site-init.md.",
    )
    init.add_argument("file", metavar="FILE", help="the site file to write")
    init.add_argument("--profile", default=None, metavar="NAME", help="default smart-pole")
    init.add_argument(
        "--kind",
        choices=["pole", "community"],
        help="kind of the targets (default: community for smart-community, else pole)",
    )
    init.add_argument(
        "--poles",
        metavar="POLES.csv",
        help="one target per row; header id,address,<design key>...,<device role>...",
    )
    init.add_argument("--pole", action="append", default=[], metavar="ID", help="a target id")
    init.add_argument(
        "--device",
        action="append",
        default=[],
        metavar="ROLE=URI",
        help="every target's device of ROLE; {pole} stands for the target id",
    )
    init.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="ROLE=FILE",
        help="the device map of ROLE (default: the built-in bench's map for the role)",
    )
    init.add_argument("--site-id", metavar="ID", help="the site's id (default: FILE's name)")
    init.add_argument("--title", metavar="TEXT", help="the site's title on the report")
    init.add_argument(
        "--interactive", action="store_true", help="ask for each value on stdin (prompts on stderr)"
    )
    init.add_argument("--force", action="store_true", help="replace FILE if it exists")
    init.set_defaults(func=cmd_site_init)


def cmd_site_init(args: argparse.Namespace) -> int:
    try:
        if args.interactive:
            _ask(args, sys.stdin, sys.stderr)
        plan = _plan(args)
        text = render(plan)
        _check(plan, text)
    except _Usage as exc:
        print(exc, file=sys.stderr)
        return USAGE
    try:
        # "x": a file that appeared since the check above is not replaced either.
        with plan.out.open("w" if args.force else "x", encoding="utf-8") as file:
            file.write(text)
    except FileExistsError:
        print(f"{plan.out}: the file exists; give another FILE, or --force", file=sys.stderr)
        return USAGE
    placeholders = [
        f"{t.id} {role}"
        for t in plan.targets
        for role, device in _devices(plan, t).items()
        if device.placeholder
    ]
    print(f"{plan.out}: written, {len(plan.targets)} target(s), valid as written")
    if placeholders:
        print(
            f"{plan.out}: {len(placeholders)} device(s) still have a placeholder address "
            f"({', '.join(placeholders[:6])}{', ...' if len(placeholders) > 6 else ''}); put in "
            f"the real ones, then check them with: ycsa-conform doctor {plan.out}"
        )
    profile = plan.profiles[0].id
    print(f"run it with: pytest --profile {profile} --site {plan.out}")
    return 0


# -- what to write ------------------------------------------------------------------------------


def _plan(args: argparse.Namespace) -> _Plan:
    out = Path(args.file)
    if out.exists() and not args.force:
        raise _Usage(
            f"{out}: the file exists; give another FILE, or --force to replace it "
            "(site init never overwrites a file without --force)"
        )
    if not out.parent.is_dir():
        raise _Usage(f"{out}: the folder {out.parent} does not exist; create it first")
    name = args.profile or "smart-pole"
    try:
        profile = load_profile(name)
    except InputError as exc:
        raise _Usage(str(exc)) from None
    except (FileNotFoundError, ValueError) as exc:
        known = ", ".join(builtin_profiles())
        raise _Usage(f"--profile {name}: {exc}; the built-in profiles are {known}") from None
    kind = args.kind or ("community" if profile.id == "smart-community" else "pole")
    # validate holds a site to every built-in profile with requirements for its target kinds;
    # so does this, so that the file validates both with and without --profile.
    profiles = [profile] + [
        p
        for p in (load_profile(path) for path in builtin_profiles().values())
        if p.id != profile.id and any(kind in r.target_kinds for r in p.requirements)
    ]
    roles = _roles(profiles, kind)
    if not roles:
        raise _Usage(
            f"--kind {kind}: profile {profile.id} has no requirements for {kind} targets; "
            "choose the other --kind or --profile"
        )
    devices = _assignments(args.device, "--device", "URI", roles)
    for role, uri in devices.items():
        _check_uri(uri.replace("{pole}", "P001"), f"--device {role}")
    maps = _assignments(args.map, "--map", "FILE", roles)
    for role, file in maps.items():
        if not Path(file).is_file():
            raise _Usage(f"--map {role}={file}: no such file; give the device map's path")
    targets: list[_Target] = []
    if args.poles:
        targets += read_poles(Path(args.poles), out=out, roles=roles)
    for pole in args.pole:
        if not _valid_id(pole):
            raise _Usage(
                f"--pole {pole!r}: not a target id; use letters, digits, '-', '_' and '.', "
                "like P001"
            )
        targets.append(_Target(id=pole, origin="--pole"))
    if not targets:
        targets.append(_Target(id="C001" if kind == "community" else "P001", origin="default"))
    seen: dict[str, str] = {}
    for target in targets:
        if target.id in seen:
            raise _Usage(
                f"{target.origin}: target id {target.id!r} is already given at "
                f"{seen[target.id]}; give each target its own id"
            )
        seen[target.id] = target.origin
    site_id = args.site_id or _slug(out.stem)
    if not _valid_id(site_id):
        raise _Usage(
            f"--site-id {site_id!r}: not a site id; use letters, digits, '-', '_' and '.', "
            "like kunming-dianchi-road"
        )
    return _Plan(
        out=out,
        profiles=profiles,
        kind=kind,
        site_id=site_id,
        title=args.title or site_id,
        targets=targets,
        devices=devices,
        maps=maps,
    )


def _roles(profiles: Sequence[Profile], kind: str) -> list[str]:
    used = roles_used(profiles, kind)
    order = list(ROLES)
    return sorted(used, key=lambda r: (order.index(r) if r in order else len(order), r))


def _assignments(items: Iterable[str], option: str, what: str, roles: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for item in items:
        role, sep, value = item.partition("=")
        role = role.strip()
        if not sep or not value.strip():
            raise _Usage(f"{option} {item!r}: write it as ROLE={what}, like lamp=...")
        if role not in roles:
            close = difflib.get_close_matches(role, roles, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise _Usage(
                f"{option} {item!r}: no device role {role!r} here; {hint}"
                f"the roles are {', '.join(roles)} (ycsa-conform points)"
            )
        found[role] = value.strip()
    return found


def _check_uri(uri: str, where: str) -> None:
    try:
        parse_device_uri(uri)
    except ValueError as exc:
        raise _Usage(f"{where}: {exc}") from None


def _valid_id(text: str) -> bool:
    return re.fullmatch(_ID_PATTERN, text) is not None


def _slug(text: str) -> str:
    slug = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "-" for c in text)
    return slug.strip("-_.") or "site"


# -- POLES.csv ------------------------------------------------------------------------------------


def read_poles(path: Path, *, out: Path, roles: Sequence[str]) -> list[_Target]:
    """The targets of a poles CSV. Every mistake is one Problem FILE:LINE: column: text — fix;
    all of them raise together as an InputError (exit 4 through the CLI)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise _Usage(f"{path}: {exc.strerror or exc}; check the path") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Excel on a Chinese Windows saves "CSV" in GBK (GB 18030 is its superset).
        try:
            text = raw.decode("gb18030")
        except UnicodeDecodeError:
            raise _Usage(
                f"{path}:1: the file is neither UTF-8 nor GB 18030 text; save it as CSV UTF-8"
            ) from None
    reader = csv.reader(text.splitlines())
    found: list[Problem] = []

    def problem(line: int, column: str, message: str) -> None:
        found.append(Problem(file=path, line=line, path=column, message=message))

    header = next(reader, None)
    if header is None or not any(h.strip() for h in header):
        raise InputError(
            [
                Problem(
                    file=path,
                    line=1,
                    path="",
                    message="no header; the first line names the columns: id,address,"
                    "<design key>...,<device role>...",
                )
            ]
        )
    columns = [h.strip() for h in header]
    known = ["id", "address", *(k for k in DESIGN_KEYS if k not in _LIST_KEYS), *roles]
    for column in columns:
        if column in known:
            continue
        if column in _LIST_KEYS:
            problem(1, column, f"a list of entries, not one value; write {column} in the site file")
            continue
        close = difflib.get_close_matches(column, known, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        problem(
            1,
            column or "(empty)",
            f"unknown column; {hint}a column is id, address, a design key of the site schema "
            f"or a device role ({', '.join(roles)}); rename or remove it",
        )
    if "id" not in columns:
        problem(1, "id", "no 'id' column; add one with each pole's id, like P001")
    for column in {c for c in columns if columns.count(c) > 1}:
        problem(1, column, "the column appears twice; keep one")
    if found:
        raise InputError(found)
    targets: list[_Target] = []
    lines: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(columns):
            problem(
                line,
                "",
                f"{len(row)} cells, the header has {len(columns)} columns; give one cell per "
                "column (an empty cell for no value)",
            )
            continue
        cells = {c: v.strip() for c, v in zip(columns, row, strict=True)}
        pole = cells["id"]
        if not _valid_id(pole):
            problem(
                line,
                "id",
                f"{pole!r} is not a target id; use letters, digits, '-', '_' and '.', like P001",
            )
            continue
        if pole in lines:
            problem(line, "id", f"{pole!r} is already on line {lines[pole]}; give each pole once")
            continue
        lines[pole] = line
        target = _Target(id=pole, address=cells.get("address", ""), origin=f"{path}:{line}")
        for column, cell in cells.items():
            if not cell or column in ("id", "address"):
                continue
            if column in roles:
                try:
                    parse_device_uri(cell.replace("{pole}", pole))
                except ValueError as exc:
                    problem(line, column, str(exc))
                else:
                    target.uris[column] = cell.replace("{pole}", pole)
                continue
            target.design[column] = _cell_value(cell)
        for column, message in _design_problems(target.design, out):
            problem(line, column, message)
        targets.append(target)
    if found:
        raise InputError(found)
    if not targets:
        raise _Usage(f"{path}:2: no poles; give one row per pole under the header")
    return targets


def _cell_value(cell: str) -> Any:
    """A cell as YAML would read it in the site file: '8' a number, '10 m' text."""
    try:
        value = yaml.safe_load(cell)
    except yaml.YAMLError:
        return cell
    return value if isinstance(value, int | float | str) and not isinstance(value, bool) else cell


def _design_problems(design: dict[str, Any], out: Path) -> list[tuple[str, str]]:
    """Each design value held to the site loader (schema, unit, plausible range, file), as
    (column, message)."""
    if not design:
        return []
    body = yaml.safe_dump(
        {"site": "x", "kind": "field", "targets": [{"id": "x", "kind": "pole", "design": design}]},
        allow_unicode=True,
    )
    try:
        load_site(out, text=body)
    except InputError as exc:
        found = []
        for p in exc.problems:
            column = (
                p.path.split(".design.", 1)[1].split("[")[0].split(".")[0]
                if ".design." in p.path
                else ""
            )
            found.append((column, p.message))
        return found
    return []


# -- interactive --------------------------------------------------------------------------------


def _ask(args: argparse.Namespace, answers: TextIO, prompts: TextIO) -> None:
    """Fill args from answers to questions; a blank answer keeps the default shown in []."""

    def question(text: str, default: str, check: Callable[[str], str | None]) -> str:
        for _ in range(3):
            prompts.write(f"{text} [{default}]: " if default else f"{text}: ")
            prompts.flush()
            line = answers.readline()
            if not answers.isatty():
                prompts.write("\n")  # answers from a file or pipe are not echoed
            if not line:
                raise _Usage(f"site init --interactive: the input ended at the question {text!r}")
            answer = line.strip() or default
            problem = check(answer)
            if problem is None:
                return answer
            prompts.write(f"  {problem}\n")
        raise _Usage(f"site init --interactive: no usable answer to {text!r}; {problem}")

    names = list(builtin_profiles())
    args.profile = question(
        f"profile ({', '.join(names)})",
        args.profile or "smart-pole",
        lambda a: None if a in names or Path(a).is_file() else f"choose one of {', '.join(names)}",
    )
    args.site_id = question(
        "site id (letters, digits, - _ .)",
        args.site_id or _slug(Path(args.file).stem),
        lambda a: None if _valid_id(a) else "use letters, digits, '-', '_' and '.'",
    )
    args.title = question("title of the site on the report", args.title or args.site_id, _any)
    args.poles = (
        question(
            "poles CSV (id,address,<design key>...; blank for none)",
            args.poles or "",
            lambda a: None if not a or Path(a).is_file() else f"no file {a}; give its path",
        )
        or None
    )
    if not args.poles:
        kind = args.kind or ("community" if args.profile == "smart-community" else "pole")
        default = " ".join(args.pole) or ("C001" if kind == "community" else "P001")
        ids = question(
            "target ids, separated by spaces",
            default,
            lambda a: next(
                (f"{i!r} is not an id" for i in a.replace(",", " ").split() if not _valid_id(i)),
                None,
            ),
        )
        args.pole = ids.replace(",", " ").split()
    try:
        profile = load_profile(args.profile)
    except (InputError, FileNotFoundError, ValueError) as exc:
        raise _Usage(f"--profile {args.profile}: {exc}") from None
    kind = args.kind or ("community" if profile.id == "smart-community" else "pole")
    given = dict(item.partition("=")[::2] for item in args.device)
    for role in _roles([profile], kind):
        description = ROLES[role].description if role in ROLES else role
        uri = question(
            f"{role} ({description}) URI, {{pole}} for the target id; blank for a placeholder",
            given.get(role, ""),
            lambda a: None if not a else _uri_problem(a.replace("{pole}", "P001")),
        )
        if uri:
            given[role] = uri
    args.device = [f"{role}={uri}" for role, uri in given.items() if uri]


def _any(answer: str) -> str | None:
    return None if answer else "give some text"


def _uri_problem(uri: str) -> str | None:
    try:
        parse_device_uri(uri)
    except ValueError as exc:
        return str(exc)
    return None


# -- rendering ----------------------------------------------------------------------------------


def _scalar(value: Any) -> str:
    """One YAML scalar as the site file writes it (quoted only where YAML needs it)."""
    dumped: str = yaml.safe_dump([value], default_flow_style=True, allow_unicode=True, width=1000)
    return dumped.strip()[1:-1]


def _map_path(plan: _Plan, role: str) -> str:
    """The device map's path as the file writes it: one given with --map relative to the site
    file; a built-in one absolute (it lives wherever ycsa-conform is installed)."""
    base = plan.out.resolve().parent
    if role in plan.maps:
        chosen = Path(plan.maps[role]).resolve()
        try:
            return os.path.relpath(chosen, base)
        except ValueError:  # another drive (Windows)
            return str(chosen)
    name = _POLE_MAPS.get(role) if plan.kind == "pole" else f"community-{role}.yaml"
    chosen = data_dir("benches") / "devicemaps" / (name or f"{role}.yaml")
    if not chosen.is_file():
        raise _Usage(f"no built-in device map for role {role!r}; give one with --map {role}=FILE")
    return str(chosen)


def _devices(plan: _Plan, target: _Target) -> dict[str, _Device]:
    devices: dict[str, _Device] = {}
    for role in _roles(plan.profiles, plan.kind):
        map_path = _map_path(plan, role)
        uri = target.uris.get(role) or plan.devices.get(role, "").replace("{pole}", target.id)
        if uri:
            devices[role] = _Device(
                uri=uri, map=map_path, placeholder=False, own_map=role in plan.maps
            )
            continue
        if plan.kind == "pole" and role in _POLE_PLACEHOLDERS:
            placeholder, hint = _POLE_PLACEHOLDERS[role]
        else:
            placeholder = f"mqtt://{_PLACEHOLDER_HOST}:1883/community/{{pole}}/{role}"
            hint = (
                "the platform's broker and the subsystem's prefix: mqtts://<broker>:8883/<prefix>"
            )
        devices[role] = _Device(
            uri=placeholder.replace("{pole}", target.id),
            map=map_path,
            placeholder=True,
            hint=hint,
            own_map=role in plan.maps,
        )
    return devices


def render(plan: _Plan) -> str:
    """The site file's text, comments included."""
    profile = plan.profiles[0]
    today = datetime.datetime.now(datetime.UTC).date().isoformat()
    out: list[str] = [
        f"# yaml-language-server: $schema={schema_uri()}",
        "#",
        f"# Site file written by `ycsa-conform site init` ({__version__}, {today}) for the "
        f"{profile.id} profile ({profile.version}).",
        "# A site says what is accepted: its targets, each with design data from the drawings and",
        "# certificates, and the devices a run reads (docs/site-init.md; every key: the schema",
        "# above, which editors with the YAML language server use to complete and check keys).",
        f"#   check the file:              ycsa-conform validate {plan.out.name}",
        f"#   check laptop and devices:    ycsa-conform doctor {plan.out.name}",
        f"#   run the acceptance:          pytest --profile {profile.id} --site {plan.out.name}",
        "# Paths in this file (device maps, records, evidence) are relative to this file.",
        f"site: {_scalar(plan.site_id)}   # the site's id on the report: letters, digits, - _ .",
        "kind: field   # field: real devices, read-only unless pytest --allow-actuation",
        f"title: {{en: {_scalar(plan.title)}}}   # the report's title; add zh: for the Chinese one",
        "# Parameters of the profiles for the whole site (a target may set its own). Absent ones",
        f"# keep the profile's defaults; list them with: ycsa-conform profile show {profile.id}",
        "# parameters:",
        "#   heartbeat_window: 130 s",
        "# Operator-supplied proof (certificates, drawings, nameplates) that evidence",
        "# requirements need; without it they are reported pending (docs/contract.md):",
        "# evidence: evidence.yaml",
        "targets:",
    ]
    for index, target in enumerate(plan.targets):
        out += _render_target(plan, target, first=index == 0)
    return "\n".join(out) + "\n"


def _render_target(plan: _Plan, target: _Target, *, first: bool) -> list[str]:
    title = target.address or target.id
    title_text = (
        f"{{en: {_scalar(title)}, zh: {_scalar(title)}}}"
        if not title.isascii()
        else (f"{{en: {_scalar(title)}}}")
    )
    origin = f"  # from {target.origin}" if target.origin not in ("default", "--pole") else ""
    out = [
        f"  - id: {_scalar(target.id)}{origin}",
        f"    kind: {plan.kind}",
        f"    title: {title_text}",
    ]
    out += _render_design(target, first=first)
    if plan.kind == "pole":
        out += [
            "    # Instrument records from site (docs/records.md), paths relative to this file:",
            "    # records:",
            f"    #   lighting_grid: records/{target.id}-lighting-grid.csv",
        ]
    devices = _devices(plan, target)
    used = roles_used(plan.profiles, plan.kind)
    if plan.kind == "community":
        out += [
            "    # One subsystem per device role; `inventory` declares the devices each has, like",
            "    # {camera: 'CAM-001..CAM-048'} (docs/contract.md).",
            "    subsystems:",
        ]
        for role, device in devices.items():
            out += [f"      {role}:", "        devices:"]
            out += _render_device(role, device, used.get(role, []), indent=10)
            out += [f"        # inventory: {{{role}: [ID-01]}}"]
        return out
    out.append("    devices:   # by role; URIs: docs/devicemaps.md, ycsa-conform points")
    for role, device in devices.items():
        out += _render_device(role, device, used.get(role, []), indent=6)
    return out


def _render_device(
    role: str, device: _Device, requirements: list[str], *, indent: int
) -> list[str]:
    pad = " " * indent
    description = ROLES[role].description if role in ROLES else role
    shown = ", ".join(requirements[:8]) + (", ..." if len(requirements) > 8 else "")
    out = [f"{pad}# {role}: {description}", f"{pad}#   read for {shown}"]
    if device.placeholder:
        out += [
            f"{pad}# FILL IN: placeholder address (192.0.2.x, the documentation network, never",
            f"{pad}#   reached): put in the device's URI, {device.hint}.",
        ]
    out += [
        f"{pad}{role}:",
        f"{pad}  uri: {_scalar(device.uri)}",
        f"{pad}  map: {_scalar(device.map)}"
        + (
            "" if device.own_map else "   # the bench's map: give the vendor's (docs/devicemaps.md)"
        ),
    ]
    scheme = device.uri.split("://", 1)[0]
    if scheme in ("mqtt", "mqtts"):
        out += [
            f"{pad}  timeout: 60 s   # telemetry may take a reporting period to arrive",
            f"{pad}  # A login is named by reference, never written here (env:VAR or file:PATH);",
            f"{pad}  # over mqtts:// with the CA that signed the broker's certificate:",
            f"{pad}  # username: env:YCSA_MQTT_USER",
            f"{pad}  # password: env:YCSA_MQTT_PASSWORD",
            f"{pad}  # tls: {{ca: certs/ca.pem}}",
        ]
    else:
        out += [
            f"{pad}  timeout: 1 s   # the wait for one answer",
            f"{pad}  retries: 1   # a read not answered in time is asked once more (a busy",
            f"{pad}  #   moment is not a silent device)",
        ]
    return out


def _render_design(target: _Target, *, first: bool) -> list[str]:
    out = []
    prefix = "    " if target.design else "    # "
    out.append(
        f"{prefix}design:   # from the drawings and certificates; a value is a number and a unit"
    )
    for key, value in target.design.items():
        out.append(f"      {key}: {_scalar(value)}")
    if not first:
        out.append("      # more design keys: see the first target's list")
        return out if target.design else [*out[:1], "    #   height: 10 m"]
    out.append("      # The design keys the profiles use (uncomment and fill in what applies):")
    for key, spec in DESIGN_KEYS.items():
        if key in target.design or key in _LIST_KEYS:
            continue
        if spec.values:
            what = f"one of {', '.join(spec.values)}"
        elif spec.unit in ("", "text"):
            what = "a number" if spec.unit == "" else "text"
        elif spec.unit == "file":
            what = "a file relative to this one"
        else:
            what = f"in {spec.unit}"
        out.append(f"      #   {key}:   # {spec.description} ({what})")
    out.append(
        "      #   equipment:   # mounted equipment: - {name: camera, mass: 5 kg, area: 0.05 m^2, "
        "height: 6 m}"
    )
    return out


# -- valid as written ---------------------------------------------------------------------------


def _check(plan: _Plan, text: str) -> None:
    """Load `text` as the site file it will be and hold it to the profiles, as validate does."""
    try:
        doc = load_document(plan.out, schema="site", text=text)
        site = load_site(plan.out, text=text)
    except InputError as exc:
        raise _Usage(_from_options(exc.problems)) from None
    beyond = heights_beyond_tables(doc)
    if beyond:
        raise _Usage(_from_options(beyond))
    errors = [f for f in problems(plan.profiles, site) if f.severity is Severity.ERROR]
    if errors:
        raise _Usage(_findings_text(errors))


def _from_options(found: Sequence[Problem]) -> str:
    return "\n".join(
        f"{p.message} (in the file it would write, at {p.path}; fix the option or CSV cell "
        "that gave it)"
        for p in found
    )


def _findings_text(found: Sequence[Finding]) -> str:
    return "\n".join(
        f"{f.message} (fix the --device, --map or CSV cell that gave it)" for f in found
    )
