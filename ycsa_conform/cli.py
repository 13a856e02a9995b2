"""The `ycsa-conform` command: profiles, validation, design calculators, benches.

ycsa-conform profiles                     built-in profiles
ycsa-conform profile show NAME|PATH [--json] [--site SITE [--pole ID]] [--param K=V]...
ycsa-conform validate [--profile NAME]... [--param K=V]... FILE...
                                          profiles, sites, device maps, evidence files, bench
                                          definitions and site templates, the fault catalogue;
                                          a site against the profiles (docs/contract.md); exit
                                          4 when a file cannot be loaded, 1 when the contract
                                          finds errors
ycsa-conform points [--json|--markdown]   device roles, logical points, who uses each
ycsa-conform bench faults [--bench NAME] [--json]   the built-in benches' fault catalogue
ycsa-conform bench NAME [--fault F]... [--poles N] [--site-file PATH]
                                          serve a bench until Ctrl-C / SIGTERM; prints one
                                          JSON line: endpoints per pole and a site file
ycsa-conform loads SITE [--pole ID] [--json]           wind loads per pole (GB 50009-2012)
ycsa-conform lighting GRID.csv --road-class II --grade high [--method centre|corners]
                      [--ies FILE --spacing --height --overhang --tilt --road-width] [--json]
                                          a measured illuminance grid against CJJ 45-2015
ycsa-conform site init FILE [--poles POLES.csv] [--pole ID]... [--device ROLE=URI]...
                      [--interactive] [--force]
                                          a commented site file, valid as written
                                          (siteinit.py, docs/site-init.md)
ycsa-conform doctor [SITE] [--json]       is the laptop ready: ports, devices, broker,
                                          clocks, certificates, tools, CJK font; exit 1 when
                                          not (doctor.py, docs/doctor.md)

Exit status of every verb: 0 ok; 1 something checked does not conform; 3 an internal error
(one line naming the inputs, no traceback); 4 a usage error: a file that cannot be read or
loaded, or a wrong argument (FILE:LINE: $.path: problem — fix), as pytest's usage error.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import sys
import traceback
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

from . import __version__
from .contract import Finding, Severity, catalogue, catalogue_markdown, describe, overlaps
from .contract import problems as contract_problems
from .design_range import heights_beyond_tables
from .devicemap import DeviceMap, load_devicemap
from .doctor import add_parser as add_doctor_parser
from .errors import InputError, Problem
from .evidence import load_evidence
from .profile import Profile, builtin_profiles, load_profile
from .scan import add_parser as add_scan_parser
from .site import Site, Target, load_site, security_notes
from .siteinit import add_parser as add_site_parser
from .source import read_document

__all__ = ["INTERNAL", "USAGE", "main"]

INTERNAL = 3  # an exception nobody expected: pytest's INTERNAL_ERROR
USAGE = 4  # a bad input file or argument: pytest's USAGE_ERROR


def _profile_dict(
    profile: Profile, parameters: Mapping[str, Any] | None = None, resolved_with: str = "defaults"
) -> dict[str, Any]:
    """The profile as `profile show --json` gives it; each requirement with what it asks of a
    site (`contract.describe`), its limits resolved with `parameters` (default: the profile's
    defaults)."""
    if parameters is None:
        parameters = {name: p.default for name, p in profile.parameters.items()}
    return {
        "profile": profile.id,
        "version": profile.version,
        "title": dict(profile.title),
        "status": profile.status,
        "path": str(profile.path),
        "sha256": profile.sha256,
        "targets": list(profile.target_kinds),
        "extends": [
            {
                "id": e.id,
                "version": e.version,
                "sha256": e.sha256,
                "requirements": sum(r.profile == e.id for r in profile.requirements),
            }
            for e in profile.extends
        ],
        "parameters": {
            name: {
                "type": p.type.value,
                "default": p.show(p.default),
                "source": p.source,
                "confidence": p.confidence.value if p.confidence else None,
            }
            for name, p in profile.parameters.items()
        },
        "requirements": [
            {
                "id": r.id,
                "title": dict(r.title),
                "area": r.area.value,
                "level": r.level.value,
                "check": r.check.kind,
                "profile": r.profile,
                "targets": list(r.target_kinds),
                "subsystem": r.subsystem,
                "refs": [ref.as_dict() for ref in r.refs],
                **describe(r, parameters),
            }
            for r in profile.requirements
        ],
        "resolved_with": resolved_with,
    }


def _cmd_profiles(args: argparse.Namespace) -> int:
    rows: list[dict[str, Any]] = []
    for name, path in builtin_profiles().items():
        profile = load_profile(path)
        rows.append(
            {
                "profile": name,
                "version": profile.version,
                "requirements": len(profile.requirements),
                "title": dict(profile.title),
            }
        )
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        for row in rows:
            title = row["title"]
            print(
                f"{row['profile']:<18} {row['version']:<8} {row['requirements']:>3} requirements  "
                f"{title['en']} / {title['zh']}"
            )
    return 0


def _cmd_profile_show(args: argparse.Namespace) -> int:
    profile = load_profile(args.profile)
    parameters, resolved_with = _show_parameters(profile, args)
    if parameters is None:
        return USAGE
    data = _profile_dict(profile, parameters, resolved_with)
    if args.json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return 0
    print(
        f"{profile.id} {profile.version} ({profile.status}): "
        f"{profile.title['en']} / {profile.title['zh']}"
    )
    print(f"  {profile.path}")
    own = sum(r.profile == profile.id for r in profile.requirements)
    for e in data["extends"]:
        print(f"  extends {e['id']} {e['version']}: {e['requirements']} requirements")
    if profile.extends:
        print(f"  own requirements: {own} of {len(profile.requirements)}")
    for r in data["requirements"]:
        refs = "; ".join(
            f"{x['source']}{' ' + x['clause'] if x['clause'] else ''} [{x['confidence']}]"
            for x in r["refs"]
        )
        origin = f" [from {r['profile']}]" if r["profile"] != profile.id else ""
        print(
            f"  {r['id']:<12} {r['area']:<15} {r['level']:<12} {r['check']:<8} "
            f"{r['title']['en']}  ({refs}){origin}"
        )
    return 0


def _show_parameters(
    profile: Profile, args: argparse.Namespace
) -> tuple[Mapping[str, Any] | None, str]:
    """The parameters `profile show` resolves limits with: the defaults, or a run's with --site
    (and --param, --pole); None (the error said) when a pole is not in the site."""
    from .run import AcceptanceRun, parse_param_option

    overrides = dict(parse_param_option(text) for text in args.param)
    if args.site is None:
        if args.pole is not None:
            print("ycsa-conform profile show: --pole goes with --site", file=sys.stderr)
            return None, ""
        if not overrides:
            return {name: p.default for name, p in profile.parameters.items()}, "defaults"
        site_text = "--param " + ", ".join(args.param)
        run = AcceptanceRun(profiles=[profile], site=_empty_site(), overrides=overrides)
        return run.parameters(profile, run.site.targets[0]), f"defaults, {site_text}"
    site = load_site(args.site)
    targets = _chosen_targets(site, args.pole)
    if not targets:
        return None, ""
    run = AcceptanceRun(profiles=[profile], site=site, overrides=overrides)
    with_param = f", --param {', '.join(args.param)}" if args.param else ""
    return run.parameters(profile, targets[0]), f"{site.path}, target {targets[0].id}{with_param}"


def _empty_site() -> Site:
    """A site without devices or parameters: --param alone resolves over the defaults."""
    from types import MappingProxyType

    target = Target(
        id="-",
        kind="-",
        title=MappingProxyType({}),
        parameters=MappingProxyType({}),
        design=MappingProxyType({}),
        equipment=(),
        devices=MappingProxyType({}),
        origin="--param",
    )
    return Site(
        id="-",
        kind="field",
        title=MappingProxyType({}),
        parameters=MappingProxyType({}),
        targets=(target,),
        path=Path("--param"),
    )


def _load_bench(path: Path) -> object:
    from .bench.definition import load_bench

    return load_bench(path)


def _load_faults(path: Path) -> object:
    from .bench.fault import load_faults

    return load_faults(path)


_LOADERS: dict[str, Callable[[Path], object]] = {
    "evidence": load_evidence,
    "profile": load_profile,
    "site": load_site,
    "devicemap": load_devicemap,
    "bench": _load_bench,
    "faults": _load_faults,
}
_KINDS = "a profile, site, device map, evidence file, bench definition or fault catalogue"

# A bench's site template (benches/NAME.site.yaml, `kind: bench`) names the endpoints the
# running bench fills in (ycsa_conform/bench/__init__.py). `validate` holds it to the site
# schema and the profiles with stand-ins of the same form, each on the placeholder's own line,
# so a problem keeps its line number.
_TEMPLATE_STAND_INS = {
    "modbus_tcp": "127.0.0.1:502",
    "modbus_rtu": "/dev/ttyUSB0",
    "dlt645": "/dev/ttyUSB1",
    "mqtt": "127.0.0.1:1883",
    "meter_address": "202611250001",
    "prefix": "ycsa/bench/P001",
}
_PLACEHOLDER = re.compile(r"\{(" + "|".join([*_TEMPLATE_STAND_INS, "pole"]) + r")\}")


def _template_text(data: dict[str, Any], text: str) -> str | None:
    """A bench site template with its placeholders filled in by stand-ins; None for any other
    site (a field site's braces are its own mistake, said by the schema)."""
    if data.get("kind") != "bench" or not _PLACEHOLDER.search(text):
        return None
    targets = data.get("targets")
    first = targets[0] if isinstance(targets, list) and targets else {}
    community = isinstance(first, dict) and first.get("kind") == "community"
    values = {**_TEMPLATE_STAND_INS, "pole": "C001" if community else "P001"}
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], text)


def _kind_of(data: object) -> str | None:
    """Which loader a document is for. An evidence file may name its site ('site:') and a site
    its evidence file ('evidence:'): a site has targets, an evidence file a list of entries; a
    bench definition names its site template ('bench:' and 'site:')."""
    if not isinstance(data, dict):
        return None
    for kind in ("profile", "devicemap", "bench"):
        if kind in data:
            return kind
    if "faults" in data and "site" not in data:
        return "faults"
    if "site" in data and not isinstance(data.get("evidence"), list):
        return "site"
    return next((k for k in _LOADERS if k in data), None)


def _validate_one(path: Path) -> tuple[list[Problem], object | None]:
    """Tell the file's kind by its first key, then load it the full way: the problems, or
    none and what was loaded."""
    try:
        doc = read_document(path)
        kind = _kind_of(doc.data)
        if doc.data is None:
            return [
                doc.problem(
                    (),
                    f"the file is empty; write {_KINDS} in it, or name another file",
                )
            ], None
        if kind is None:
            return [
                doc.problem(
                    (),
                    f"not {_KINDS}: the file must have a 'profile:', 'site:', 'devicemap:', "
                    "'evidence:', 'bench:' or 'faults:' key at the top",
                )
            ], None
        template = _template_text(doc.data, doc.text) if kind == "site" else None
        if template is not None:
            loaded: object = load_site(path, text=template)
        else:
            loaded = _LOADERS[kind](path)
    except InputError as exc:
        return exc.problems, None
    if kind == "site":
        beyond = heights_beyond_tables(doc)  # `loads` would refuse these poles
        if beyond:
            return beyond, None
    return [], loaded


def _profiles_for(site: Site, names: Sequence[str]) -> list[Profile]:
    """The profiles `validate` holds a site to: --profile, else every built-in profile with
    requirements for one of the site's target kinds."""
    if names:
        return [load_profile(name) for name in names]
    kinds = {t.kind for t in site.targets}
    profiles = [load_profile(path) for path in builtin_profiles().values()]
    return [p for p in profiles if kinds & {k for r in p.requirements for k in r.target_kinds}]


def _findings(loaded: object, args: argparse.Namespace) -> tuple[list[Finding], str]:
    """What the contract finds in a loaded site or device map, and against what."""
    from .run import parse_param_option

    if isinstance(loaded, DeviceMap):
        return [
            Finding(severity=Severity.ERROR, origin=_where(p), message=p.message)
            for p in overlaps(loaded)
        ], ""
    if not isinstance(loaded, Site):
        return [], ""
    profiles = _profiles_for(loaded, args.profile)
    try:
        overrides = dict(parse_param_option(text) for text in args.param)
    except ValueError as exc:
        raise _Usage(f"ycsa-conform validate: {exc}") from None
    against = ", ".join(f"{p.id} {p.version}" for p in profiles)
    if not profiles:
        kinds = ", ".join(sorted({t.kind for t in loaded.targets}))
        return [
            Finding(
                severity=Severity.WARNING,
                origin=str(loaded.path),
                message=f"no built-in profile has requirements for targets of kind {kinds}; "
                "name one with --profile",
            )
        ], ""
    # How devices are reached, where the run's report will say so too (TLS verification off,
    # a login over plain MQTT, a secret file open to others).
    security = [
        Finding(severity=Severity.WARNING, origin=str(loaded.path), message=note)
        for note in security_notes(loaded)
    ]
    findings = contract_problems(profiles, loaded, overrides=overrides)
    return [*security, *findings], f" (against {against})"


def _where(problem: Problem) -> str:
    where = f"{problem.file}:{problem.line}" if problem.line is not None else str(problem.file)
    return f"{where}: {problem.path}" if problem.path else where


def _chosen_targets(site: Site, pole: str | None) -> list[Target]:
    """The site's poles, or only `pole` (--pole); none, with the error said, if it has none.

    Community targets have no shaft or luminaire of their own: the calculators skip them.
    """
    poles = [t for t in site.targets if t.kind == "pole"]
    targets = [t for t in poles if pole in (None, t.id)]
    if not targets:
        known = ", ".join(t.id for t in poles) or "no pole target"
        others = [t.id for t in site.targets if t.kind != "pole" and pole in (None, t.id)]
        said = f"target {pole!r}" if pole else "pole"
        why = f" ({', '.join(others)} is a community target)" if others else ""
        print(f"{site.path}: no {said} to analyse{why}; the site has {known}", file=sys.stderr)
    return targets


def _cmd_validate(args: argparse.Namespace) -> int:
    """Exit USAGE when a file cannot be loaded, 1 when a loaded one has errors (the contract's
    findings), 0 otherwise."""
    failed = refused = 0
    for name in args.files:
        problems, loaded = _validate_one(Path(name))
        if problems:
            refused += 1
            for problem in problems:
                print(problem, file=sys.stderr)
            continue
        findings, against = _findings(loaded, args)
        for finding in findings:
            print(finding, file=sys.stderr)
        errors = sum(f.severity is Severity.ERROR for f in findings)
        warnings = len(findings) - errors
        if any(f.severity is Severity.ERROR and f.origin.startswith("--param") for f in findings):
            refused += 1  # the command line's mistake, not the file's
        elif errors:
            failed += 1
            print(f"{name}: {errors} error(s), {warnings} warning(s){against}")
        elif warnings:
            print(f"{name}: ok, {warnings} warning(s){against}")
        else:
            print(f"{name}: ok{against}")
    return USAGE if refused else 1 if failed else 0


def _cmd_points(args: argparse.Namespace) -> int:
    profiles = [load_profile(path) for path in builtin_profiles().values()]
    data = catalogue(profiles)
    if args.markdown:
        print(catalogue_markdown(data), end="")
        return 0
    if args.json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return 0
    print("roles:")
    for role in data["roles"]:
        print(f"  {role['role']:<12} {role['description']}")
        print(f"  {'':<12} requirements: {', '.join(role['requirements'])}")
    print("points:")
    for point in data["points"]:
        unit = point["unit"] or "-"
        uses = "; ".join(
            f"{role} {how} {', '.join(ids)}"
            for role, kinds in point["used_by"].items()
            for how, ids in kinds.items()
        )
        print(
            f"  {point['point']:<26} {unit:<7} {point['meaning']}" + (f"  [{uses}]" if uses else "")
        )
    return 0


def _cmd_bench_faults(args: argparse.Namespace) -> int:
    from .bench.fault import builtin_faults

    rows = [
        {
            "name": f.name,
            "bench": f.bench,
            "description": f.description,
            "breaks": list(f.breaks),
            "verdict": f.verdict.value,
            "errors": list(f.errors),
            "untested": list(f.untested),
        }
        for f in builtin_faults().values()
        if args.bench in (None, f.bench)
    ]
    if not rows:
        benches = ", ".join(sorted({f.bench for f in builtin_faults().values()}))
        print(
            f"ycsa-conform bench faults: --bench {args.bench!r} has no faults; the benches "
            f"are {benches}",
            file=sys.stderr,
        )
        return USAGE
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        width = max((len(row["verdict"]) for row in rows), default=0)
        for row in rows:
            breaks = ", ".join(row["breaks"])
            if row["errors"]:
                breaks += f" (and error: {', '.join(row['errors'])})"
            if row["untested"]:
                breaks += f" (and untested: {', '.join(row['untested'])})"
            print(
                f"{row['bench']:<16} {row['name']:<26} {row['verdict']:<{width}} {breaks}: "
                f"{row['description']}"
            )
    return 0


def _cmd_bench_serve(args: argparse.Namespace) -> int:
    """Serve a bench for the vendor's own tools; one JSON line on stdout says where it is."""
    import signal
    import tempfile
    import threading

    from .bench import Bench

    stop = threading.Event()

    def request_stop(signum: int, frame: object) -> None:
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, request_stop)
    try:
        bench = Bench.start(args.bench, faults=args.fault, poles=args.poles)
    except ValueError as exc:
        print(f"ycsa-conform bench: {exc}", file=sys.stderr)
        return USAGE
    # The fleet lives as long as the process: kept out of the cycle collector's full passes,
    # which otherwise stop every simulated device for a time that grows with the fleet.
    gc.freeze()
    with bench, tempfile.TemporaryDirectory(prefix="ycsa-bench-site-") as folder:
        site = Path(args.site_file) if args.site_file else Path(folder) / "site.yaml"
        bench.write_site(site.resolve())
        ready = {
            "bench": bench.name,
            "faults": list(bench.faults),
            "site": str(site.resolve()),
            "endpoints": bench.endpoints,
            "poles": bench.poles,
            "run": f"pytest --profile {bench.name} --site {site.resolve()}",
        }
        print(json.dumps(ready, ensure_ascii=False), flush=True)
        print(
            f"bench {bench.name} with {len(bench.poles)} pole(s) is serving; "
            "stop it with Ctrl-C or SIGTERM",
            file=sys.stderr,
            flush=True,
        )
        stop.wait()
        # The write requests the devices received, for a test that a field run wrote nothing.
        print(json.dumps({"stopped": bench.name, "writes": bench.writes()}), flush=True)
    print("bench stopped", file=sys.stderr, flush=True)
    return 0


def _grid_stats(s: Any) -> dict[str, Any]:
    return {
        "average_lx": round(float(s.average.to("lx").magnitude), 3),
        "minimum_lx": round(float(s.minimum.to("lx").magnitude), 3),
        "maximum_lx": round(float(s.maximum.to("lx").magnitude), 3),
        "uniformity": round(s.uniformity, 4),
        "points": s.points,
    }


def _luminance_json(result: Any, limits: Any, pedestrian: Any) -> dict[str, Any]:
    """Aggregates, their CJJ 45 limits and the per-point grid each observer sees."""
    ul = limits.longitudinal_uniformity
    checks = [
        ("L_av", result.average, float(limits.average_luminance.to("cd/m^2").magnitude), ">="),
        ("U0", result.overall_uniformity, limits.overall_uniformity, ">="),
        ("UL", result.longitudinal_uniformity, ul, ">="),
        (
            "TI",
            result.threshold_increment,
            float(limits.threshold_increment_max.to("percent").magnitude),
            "<=",
        ),
        ("SR", result.surround_ratio, limits.surround_ratio_min, ">="),
    ]
    return {
        "surface": {"table": result.table.name, "confidence": result.table.confidence},
        "average_cd_m2": round(result.average, 4),
        "minimum_cd_m2": round(result.minimum, 4),
        "overall_uniformity": round(result.overall_uniformity, 4),
        "longitudinal_uniformity": round(result.longitudinal_uniformity, 4),
        "threshold_increment_percent": round(result.threshold_increment, 3),
        "surround_ratio": round(result.surround_ratio, 4),
        "edge_illuminance_ratio": round(result.edge_illuminance_ratio, 4),
        "checks": [
            {
                "name": name,
                "value": round(value, 4),
                "limit": limit,
                "verdict": "n/a"
                if limit is None
                else ("pass" if (value >= limit if op == ">=" else value <= limit) else "fail"),
                "source": limits.source,
                "confidence": limits.confidence,
            }
            for name, value, limit, op in checks
        ],
        "method": "CIE 140 / EN 13201-3 (M): observer 60 m before the field at 1.5 m eye height",
        "grid": {
            "x_m": [round(v, 3) for v in result.x],
            "y_m": [round(v, 3) for v in result.y],
            "observers": [
                {
                    "x_m": o[0],
                    "y_m": round(o[1], 3),
                    "cd_m2": [[round(v, 4) for v in row] for row in grid],
                }
                for o, grid in zip(result.observers, result.grids, strict=True)
            ],
        },
        "pedestrian": {
            "horizontal_average_lx": round(pedestrian.horizontal_average, 3),
            "horizontal_minimum_lx": round(pedestrian.horizontal_minimum, 3),
            "vertical_minimum_lx": round(pedestrian.vertical_minimum, 3),
            "semicylindrical_minimum_lx": round(pedestrian.semicylindrical_minimum, 3),
            "height_m": 1.5,
        },
    }


def _print_luminance(data: dict[str, Any]) -> None:
    checks = "  ".join(
        f"{c['name']} {c['value']:.3g} {c['verdict']}" for c in data["checks"] if c["limit"]
    )
    print(
        f"  luminance  L_av {data['average_cd_m2']:.2f} cd/m²  U0 {data['overall_uniformity']:.2f}"
        f"  UL {data['longitudinal_uniformity']:.2f}  TI {data['threshold_increment_percent']:.1f}"
        f" %  SR {data['surround_ratio']:.2f}  EIR {data['edge_illuminance_ratio']:.2f}  "
        f"(surface {data['surface']['table']} [{data['surface']['confidence']}])"
    )
    print(f"             {checks}")
    ped = data["pedestrian"]
    print(
        f"  at 1.5 m   E_v,min {ped['vertical_minimum_lx']:.1f} lx  E_sc,min "
        f"{ped['semicylindrical_minimum_lx']:.1f} lx (pedestrian classes, CJJ 45 U)"
    )


def _grid_points(grid: Any) -> dict[str, Any]:
    return {
        "x_m": [round(v, 3) for v in grid.x],
        "y_m": [round(v, 3) for v in grid.y],
        "lux": [[round(v, 3) for v in row] for row in grid.lux],
    }


def _grid_checks(checks: Sequence[Any]) -> list[dict[str, Any]]:
    return [
        {
            "name": c.name,
            "value": round(float(c.value.magnitude), 4),
            "limit": float(c.limit.magnitude),
            "unit": "lx" if c.name == "Eav" else "",
            "verdict": c.verdict.value,
            "source": c.source,
            "confidence": c.confidence,
        }
        for c in checks
    ]


def _cmd_lighting_site(args: argparse.Namespace) -> int:
    """The lighting design of each pole of a site (or the bench): the shared analysis."""
    from . import analysis
    from .engineering.lighting import GridMethod, evaluate_grid, judge_grid

    for option in ("road_class", "grade", "ies"):
        if getattr(args, option) is not None:
            flag = "--" + option.replace("_", "-")
            print(
                f"ycsa-conform lighting: {flag} goes with GRID.csv; with a site the design "
                "block gives it",
                file=sys.stderr,
            )
            return USAGE
    try:
        site = _site_for(args, "lighting")
    except _Usage as exc:
        print(exc, file=sys.stderr)
        return USAGE
    targets = _chosen_targets(site, args.pole)
    if not targets:
        return USAGE
    method = GridMethod(args.method)
    errors: list[str] = []
    poles: list[dict[str, Any]] = []
    for target in targets:
        try:
            design = analysis.lighting(target)
            figures = analysis.photometric_figures(target)
            entry: dict[str, Any] = {
                "pole": target.id,
                "road_class": design.limits.road_class.value,
                "grade": design.limits.grade.value,
                "limits": {
                    "average_lx": float(design.limits.average_illuminance.to("lx").magnitude),
                    "uniformity": design.limits.illuminance_uniformity,
                    "source": design.limits.source,
                    "confidence": design.limits.confidence,
                },
                "predicted": {
                    **_grid_stats(design.maintained),
                    "layout": design.description,
                    "checks": _grid_checks(judge_grid(design.maintained, design.limits)),
                    "grid": _grid_points(design.field_grid),
                },
                "cutoff": {
                    "at_80_cd_per_klm": round(float(figures.glare.at_80.magnitude), 3),
                    "at_90_cd_per_klm": round(float(figures.glare.at_90.magnitude), 3),
                    "at_90_cd": round(float(figures.glare.at_90_absolute.magnitude), 3),
                    "class": figures.cutoff.value,
                },
                "upward_light_ratio_percent": round(100 * figures.upward_light_ratio, 4),
            }
            found = analysis.luminance(target)
            entry["luminance"] = _luminance_json(found.result, design.limits, found.pedestrian)
            if "lighting_grid" in target.records:
                grid = analysis.measured_grid(target)
                measured = evaluate_grid(grid, method)
                initial = analysis.predicted_at(design, grid, method)
                entry["grid"] = str(target.records["lighting_grid"])
                entry["method"] = method.value
                entry["measured"] = _grid_stats(measured)
                entry["checks"] = _grid_checks(judge_grid(measured, design.limits))
                entry["predicted_initial_at_survey"] = _grid_stats(initial)
                entry["measured_to_predicted"] = round(
                    float((measured.average / initial.average).to("").magnitude), 4
                )
        except (analysis.MissingDesignData, ValueError) as exc:
            errors.append(str(exc))
            continue
        poles.append(entry)
    if errors:
        for line in errors:
            print(line, file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({"site": site.id, "poles": poles}, ensure_ascii=False, indent=2))
        return 0
    for e in poles:
        p, lim = e["predicted"], e["limits"]
        print(
            f"{e['pole']}: CJJ 45 class {e['road_class']} {e['grade']} grade "
            f"(Eav >= {lim['average_lx']:g} lx, UE >= {lim['uniformity']:g} [{lim['confidence']}])"
        )
        print(f"  luminaire  {p['layout']}")
        print(
            f"  predicted  Eav {p['average_lx']:.1f} lx  Emin {p['minimum_lx']:.1f} lx  "
            f"UE {p['uniformity']:.2f}  (maintained, {p['points']} points)  "
            + "  ".join(f"{c['name']} {c['verdict']}" for c in p["checks"])
        )
        if "measured" in e:
            m, i = e["measured"], e["predicted_initial_at_survey"]
            print(
                f"  measured   Eav {m['average_lx']:.1f} lx  Emin {m['minimum_lx']:.1f} lx  "
                f"UE {m['uniformity']:.2f}  ({m['points']} points)  "
                + "  ".join(f"{c['name']} {c['verdict']}" for c in e["checks"])
            )
            print(
                f"  survey / initial prediction  {m['average_lx']:.1f} / "
                f"{i['average_lx']:.1f} lx = {e['measured_to_predicted']:.3f}"
            )
        _print_luminance(e["luminance"])
        c = e["cutoff"]
        print(
            f"  cut-off    {c['at_80_cd_per_klm']:.1f} cd/klm at 80°, {c['at_90_cd_per_klm']:.1f} "
            f"cd/klm at 90°, {c['at_90_cd']:.0f} cd at 90°: {c['class']} [S]"
        )
        print(f"  ULR        {e['upward_light_ratio_percent']:.2f} % (installed)")
    return 0


def _cmd_lighting(args: argparse.Namespace) -> int:
    """Judge a measured GB/T 5700 grid against CJJ 45; optionally predict it from an IES file."""
    from .engineering import luminance as lum
    from .engineering.lighting import evaluate_grid, judge_grid, road_lighting_class
    from .engineering.photometry import read_grid_csv, read_photometry
    from .units import UnitError, format_quantity, parse_quantity

    if args.grid is not None and Path(args.grid).suffix.lower() in (".yaml", ".yml"):
        # A site given as `loads` takes it (lighting SITE.yaml = lighting --site SITE.yaml).
        if args.site is not None:
            print("ycsa-conform lighting: give SITE or --site SITE, not both", file=sys.stderr)
            return USAGE
        args.site, args.grid = args.grid, None
    if args.grid is None:
        return _cmd_lighting_site(args)
    if args.site is not None or args.bench is not None:
        print(
            "ycsa-conform lighting: give GRID.csv or a site (--site, --bench), not both",
            file=sys.stderr,
        )
        return USAGE
    for option in ("road_class", "grade"):
        if getattr(args, option) is None:
            flag = "--" + option.replace("_", "-")
            print(f"ycsa-conform lighting: GRID.csv needs {flag}", file=sys.stderr)
            return USAGE
    limits = road_lighting_class(args.road_class, args.grade)
    grid = read_grid_csv(args.grid)
    measured = evaluate_grid(grid, args.method)
    checks = judge_grid(measured, limits)
    verdict = "pass" if all(c.verdict.value == "pass" for c in checks) else "fail"

    predicted = None
    predicted_points = None
    luminance: dict[str, Any] | None = None
    layout_text = ""
    if args.ies:
        import pint

        values: dict[str, Any] = {}
        # The plausible values of each (our choice): a road's layout, not a slip of the hand
        # (0 m divided by zero, 1e300 m overflowed, 95° pointed the luminaire at the sky).
        for name, unit, low, high in (
            ("spacing", "m", 1.0, 200.0),
            ("height", "m", 2.0, 60.0),
            ("overhang", "m", -20.0, 20.0),
            ("tilt", "degree", -45.0, 45.0),
            ("road_width", "m", 1.0, 100.0),
        ):
            option, text = f"--{name.replace('_', '-')}", getattr(args, name)
            example = "5deg" if unit == "degree" else "35m"
            if text is None:
                print(
                    f"ycsa-conform lighting: --ies needs {option}, like {example}", file=sys.stderr
                )
                return USAGE
            try:
                quantity = parse_quantity(text)
                if quantity.unitless:
                    # pint takes a bare number as radians: '--tilt 5' would be 286°.
                    raise UnitError(f"{text!r} has no unit")
                values[name] = quantity.to(unit)
            except (UnitError, pint.DimensionalityError):
                kind = "an angle" if unit == "degree" else "a length"
                print(
                    f"ycsa-conform lighting: {option} {text!r} is not {kind}; write it like "
                    f"{example}",
                    file=sys.stderr,
                )
                return USAGE
            if not low <= values[name].magnitude <= high:
                print(
                    f"ycsa-conform lighting: {option} {text!r} is not a plausible {name} "
                    f"(within {low:g} .. {high:g} {'°' if unit == 'degree' else unit})",
                    file=sys.stderr,
                )
                return USAGE
        for option, number, low, high in (
            ("--maintenance-factor", args.maintenance_factor, 0.0, 1.0),
            ("--q0", 0.05 if args.q0 is None else args.q0, 0.0, 1.0),
            ("--lanes", 1 if args.lanes is None else args.lanes, 0.0, 20.0),
        ):
            if not low < number <= high:  # NaN too
                print(
                    f"ycsa-conform lighting: {option} {number:g} must lie above {low:g} and at "
                    f"most {high:g}",
                    file=sys.stderr,
                )
                return USAGE
        photometry = read_photometry(args.ies)
        geometry = lum.RoadGeometry(
            width=float(values["road_width"].to("m").magnitude),
            lanes=args.lanes or 1,
            spacing=float(values["spacing"].to("m").magnitude),
            mounting_height=float(values["height"].to("m").magnitude),
            overhang=float(values["overhang"].to("m").magnitude),
            tilt=float(values["tilt"].to("degree").magnitude),
            layout=lum.Layout(args.layout),
            maintenance_factor=args.maintenance_factor,
        )
        width = geometry.width
        span = float(values["spacing"].to("m").magnitude)
        if min(grid.y) < 0 or max(grid.y) > width or min(grid.x) < 0 or max(grid.x) > span:
            print(
                f"{args.grid}: the grid reaches beyond the span (0..{span:g} m along) or the "
                f"road (0..{width:g} m across); check --spacing and --road-width",
                file=sys.stderr,
            )
            return 1
        predicted_points = lum.layout_grid(photometry, geometry, grid.x, grid.y)
        predicted = evaluate_grid(predicted_points, args.method)
        if args.lanes is not None:
            table = lum.diffuse_r_table(args.surface, q0=args.q0)
            luminance = _luminance_json(
                lum.luminance_result(photometry, geometry, table),
                limits,
                lum.pedestrian_illuminance(photometry, geometry),
            )
        layout_text = (
            f"{Path(args.ies).name}, "
            + ("" if args.layout == "one-sided" else f"{args.layout}, ")
            + f"{format_quantity(values['spacing'])} spacing, "
            f"{format_quantity(values['height'])} high, {format_quantity(values['overhang'])} "
            f"overhang, {format_quantity(values['tilt'])} tilt, MF {args.maintenance_factor:g}"
        )

    if args.json:
        data: dict[str, Any] = {
            "grid": args.grid,
            "method": measured.method.value,
            "road_class": limits.road_class.value,
            "grade": limits.grade.value,
            "measured": _grid_stats(measured),
            "checks": _grid_checks(checks),
            "verdict": verdict,
        }
        if predicted is not None and predicted_points is not None:
            data["predicted"] = {
                **_grid_stats(predicted),
                "ies": args.ies,
                "layout": layout_text,
                "grid": _grid_points(predicted_points),
            }
        if luminance is not None:
            data["luminance"] = luminance
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return 0

    def line(label: str, s: Any) -> str:
        return (
            f"{label:<10} Eav {s.average.magnitude:.1f} lx  Emin {s.minimum.magnitude:.1f} lx  "
            f"Emax {s.maximum.magnitude:.1f} lx  UE {s.uniformity:.2f}"
        )

    method = "centre-point" if measured.method.value == "centre" else "four-corner"
    print(f"{args.grid}: {measured.points} points, {method} method (GB/T 5700)")
    print(line("measured", measured))
    if predicted is not None:
        print(line("predicted", predicted) + f"  ({layout_text})")
    if luminance is not None:
        _print_luminance(luminance)
    print(f"{limits.source}, class {limits.road_class} {limits.grade} grade:")
    for c in checks:
        value = f"{c.value.magnitude:.1f} lx" if c.name == "Eav" else f"{c.value.magnitude:.2f}"
        limit = format_quantity(c.limit) if c.name == "Eav" else f"{c.limit.magnitude:g}"
        print(f"  {c.name:<4} {value:>8} >= {limit} [{c.confidence}]  {c.verdict.value}")
    print(f"verdict: {verdict}")
    return 0


# The built-in bench's site template names endpoints the running bench fills in. `loads` and
# `lighting` read design data only and open no device, so inert stand-ins do (documentation
# addresses, /dev/null).
_BENCH_STAND_INS = {
    "modbus_tcp": "192.0.2.1:502",
    "modbus_rtu": "/dev/null",
    "dlt645": "/dev/null",
    "mqtt": "192.0.2.1:1883",
    "meter_address": "000000000001",
    "prefix": "bench/P001",
    "pole": "P001",
}


def _site_for(args: argparse.Namespace, command: str) -> Any:
    """The site of `args.site`, or with none the built-in bench `args.bench` (its design data)."""
    import re

    from .bench.definition import bench_path, load_bench

    if args.site is not None:
        if args.bench is not None:
            raise _Usage(f"ycsa-conform {command}: give SITE or --bench, not both")
        return load_site(args.site)
    try:
        definition = load_bench(bench_path(args.bench or "smart-pole"))
    except ValueError as exc:
        raise _Usage(f"ycsa-conform {command}: --bench: {exc}") from None
    if definition.simulation == "community":
        # The community and the poles it includes, as the running bench's site has them (the
        # included poles fitted as the community bench fits them); addresses are stand-ins.
        from .bench import community_site_text

        community = {**_BENCH_STAND_INS, "pole": "C001"}
        members = [(load_bench(bench_path(n)), _BENCH_STAND_INS) for n in definition.includes]
        text = community_site_text(definition, community, members)
    else:
        template = definition.site_path.read_text(encoding="utf-8")
        text = re.sub(r"\{([a-z0-9_]+)\}", lambda m: _BENCH_STAND_INS.get(m[1], m[0]), template)
    return load_site(definition.site_path, text=text)


class _Usage(Exception):
    """A command-line mistake: the message is printed and the exit code is USAGE."""


def _loads_json(value: Any) -> Any:
    import pint

    if isinstance(value, pint.Quantity):
        return {"value": float(value.magnitude), "unit": f"{value.units:~P}"}
    if isinstance(value, dict):
        return {k: _loads_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_loads_json(v) for v in value]
    return value


def _cmd_loads(args: argparse.Namespace) -> int:
    """Wind loads and structural checks per pole; exit 1 when a pole fails a check or its
    design data is missing."""
    from dataclasses import asdict

    from . import analysis
    from .engineering import pole

    if args.site_option is not None:
        if args.site is not None:
            print("ycsa-conform loads: give SITE or --site SITE, not both", file=sys.stderr)
            return USAGE
        args.site = args.site_option
    try:
        site = _site_for(args, "loads")
    except _Usage as exc:
        print(exc, file=sys.stderr)
        return USAGE
    ratio = args.max_top_deflection_ratio
    if not 0 < ratio < 1:
        print(
            f"ycsa-conform loads: --max-top-deflection-ratio {ratio:g} must be between 0 and 1, "
            "like 0.0133 for H/75",
            file=sys.stderr,
        )
        return USAGE
    targets = _chosen_targets(site, args.pole)
    if not targets:
        return USAGE
    errors: list[str] = []
    results: list[dict[str, Any]] = []

    def below(
        rows: tuple[pole.Check, ...] | None, prefixes: tuple[str, ...]
    ) -> list[dict[str, Any]] | None:
        if rows is None:
            return None
        return [asdict(c) for c in rows if c.name.startswith(prefixes)]

    for target in targets:
        try:
            result = analysis.structure(target, deflection_limit_ratio=ratio)
        except analysis.MissingDesignData as exc:
            errors.append(str(exc))
            continue
        loads, shaft = result.loads, result.shaft
        # A declared damper or strakes answers a failed vortex check (GB 50009 8.5.3), as the
        # profile's vortex_shedding formula does (its verdict 'mitigated'); the device's test
        # report is for the reviewer.
        mitigation = str(target.design.get("vortex_mitigation", "none"))
        checks = [asdict(c) for c in (*loads.checks, *result.budget)]
        for c in checks:
            if c["name"] == "vortex v_cr" and c["verdict"] == "fail" and mitigation != "none":
                c["verdict"] = "mitigated"
        section_checks = [asdict(c) for c in loads.section_checks]
        under = (*(result.base_connection or ()), *(result.foundation or ()))
        # Fatigue is a recommended check (SP-LOAD-017): said apart, not the pole's verdict.
        fatigue_failed = [c.name for c in result.fatigue if c.verdict is pole.Verdict.FAIL]
        failed = [c["name"] for c in (*checks, *section_checks) if c["verdict"] == "fail"]
        failed += [c.name for c in under if c.verdict is pole.Verdict.FAIL]
        door = loads.door_section
        results.append(
            {
                "pole": target.id,
                "shaft": asdict(shaft),
                "terrain": loads.terrain,
                "w0": loads.w0,
                "first_frequency": loads.first_frequency,
                "frequency_estimated": loads.frequency_estimated,
                "top_wind_vibration_factor": result.top_wind_vibration_factor,
                "segments": [asdict(x) for x in loads.segments],
                "attachments": [asdict(x) for x in loads.attachments],
                "base_shear": loads.base_shear,
                "base_moment": loads.base_moment,
                "base_axial": loads.base_axial,
                "base_section": asdict(loads.base_section),
                "base_stress": loads.base_stress,
                "top_deflection": loads.top_deflection,
                "critical_wind_speed": loads.critical_wind_speed,
                "top_wind_speed": loads.top_wind_speed,
                "reynolds": loads.reynolds,
                "checks": checks,
                # The whole pole (issue 15): every section, every combination.
                "importance_factor": loads.importance_factor,
                "taper": {
                    "rule": str(loads.taper_rule),
                    "top_to_base_width": loads.taper_ratio,
                    "theta_v": loads.theta_v,
                    "basis": "GB 50009-2012 8.4.6, θv table from memory (U)",
                    "base_moment_without": loads.base_moment,
                    "base_moment_with": loads.base_moment_tapered,
                    "base_moment_used": loads.base_moment_design,
                },
                "seismic": asdict(loads.seismic) if loads.seismic is not None else None,
                "door_section": asdict(door) if door is not None else None,
                "section_checks": section_checks,
                "section_forces": [asdict(f) for f in loads.section_forces],
                "base_actions": [asdict(a) for a in loads.base_actions],
                "brackets": [asdict(b) for b in loads.brackets],
                "top_deflection_second_order": loads.top_deflection_second_order,
                # Below the shaft (docs/engineering/base.md, fatigue.md): null where the design
                # declares no base connection or foundation; fatigue takes its defaults.
                "base_plate": below(result.base_connection, ("base plate", "base weld")),
                "anchor_bolts": below(result.base_connection, ("anchor bolt",)),
                "foundation": below(result.foundation, ("",)),
                "fatigue": [asdict(c) for c in result.fatigue],
                "vortex_mitigation": mitigation,
                "passed": not failed,
                "recommended_failed": fatigue_failed,
            }
        )
    if errors:
        for line in errors:
            print(line, file=sys.stderr)
        return 1
    # A pole that fails a mandatory check exits 1, as a run that does not conform does; a
    # recommended check not met (fatigue) is said, not counted.
    verdict = 0 if all(r["passed"] for r in results) else 1
    if args.json:
        print(
            json.dumps(
                _loads_json({"site": site.id, "poles": results}), ensure_ascii=False, indent=2
            )
        )
        return verdict

    for r in results:
        _print_loads(r)
    return verdict


def _print_loads(r: dict[str, Any]) -> None:
    """One pole of `ycsa-conform loads` as text."""
    from .units import format_quantity

    def q(value: Any, unit: str, digits: int = 3) -> str:
        return f"{value.to(unit).magnitude:.{digits}f}"

    shaft = r["shaft"]
    # Rayleigh's quotient is an upper bound on f1 (about 1 % high for these poles).
    origin = (
        "estimated, Rayleigh: an upper bound, ~1 % high" if r["frequency_estimated"] else "design"
    )
    # A polygon's sizes are across flats; its forces use the across-corners width b.
    polygon = shaft["sides"] is not None
    kind = f"{shaft['sides']}-sided tube " if polygon else f"{shaft['shape']} tube Ø"
    print(
        f"{r['pole']}: {format_quantity(shaft['height'])} {shaft['steel_grade']} "
        f"{kind}{q(shaft['base_diameter'], 'mm', 0)}→{q(shaft['top_diameter'], 'mm', 0)}"
        f"×{q(shaft['wall_thickness'], 'mm', 1)} mm{' across flats' if polygon else ''}, "
        f"terrain {r['terrain']}, w0 {format_quantity(r['w0'])}, "
        f"f1 {q(r['first_frequency'], 'Hz', 2)} Hz ({origin}), "
        f"βz at the top {r['top_wind_vibration_factor']:.3f}"
    )
    if len(shaft["segments"]) > 1:
        parts = ", ".join(
            f"from {q(g['bottom'], 'm', 1)} m {q(g['base_diameter'], 'mm', 0)}→"
            f"{q(g['top_diameter'], 'mm', 0)}×{q(g['wall_thickness'], 'mm', 1)}"
            for g in shaft["segments"]
        )
        print(f"  segments: {parts} mm")
    if shaft["door"] is not None:
        d = shaft["door"]
        print(
            f"  door: {q(d['width'], 'mm', 0)} mm wide, {q(d['height'], 'm', 2)} m high, "
            f"from {q(d['bottom'], 'm', 2)} m"
        )
    width = "b (mm)" if polygon else "d (mm)"
    print(f"  segment (m)   z (m)  {width}   μz     μs     βz  βz·θ   wk (kN/m²)  F (kN)")
    for s in r["segments"]:
        print(
            f"  {q(s['bottom'], 'm', 1):>5}–{q(s['top'], 'm', 1):<6} {q(s['z'], 'm', 2):>6}"
            f" {q(s['width'], 'mm', 1):>7} {s['mu_z']:6.3f} {s['mu_s']:6.3f}"
            f" {s['beta_z']:6.3f} {s['beta_z_tapered']:5.3f}"
            f" {q(s['pressure'], 'kN/m^2'):>11} {q(s['force'], 'kN'):>7}"
        )
    print("  attachment            z (m)  A (m²)   μs     βz   wk (kN/m²)  F (kN)  M (kN·m)")
    for a in r["attachments"]:
        print(
            f"  {a['name']:<20} {q(a['z'], 'm', 2):>6} {q(a['area'], 'm^2'):>7}"
            f" {a['mu_s']:6.3f} {a['beta_z']:6.3f} {q(a['pressure'], 'kN/m^2'):>11}"
            f" {q(a['force'], 'kN'):>7} {q(a['moment'], 'kN*m'):>9}"
        )
    print(
        f"  base shear {q(r['base_shear'], 'kN')} kN, base moment "
        f"{q(r['base_moment'], 'kN*m')} kN·m, dead load {q(r['base_axial'], 'kN')} kN, "
        f"top deflection {q(r['top_deflection'], 'mm', 1)} mm (first order, βz without θB·θv)"
    )
    print("  check               value           limit           util  verdict    basis")
    for c in r["checks"]:
        util = f"{c['utilisation']:.2f}" if c["utilisation"] is not None else "—"
        print(
            f"  {c['name']:<19} {format_quantity(c['value']):<15} "
            f"{format_quantity(c['limit']):<15} {util:>5}  {c['verdict']:<10} {c['basis']}"
        )
    taper = r["taper"]
    print(
        f"  whole pole: γ0 {r['importance_factor']:g}; taper B(H)/B(0) "
        f"{taper['top_to_base_width']:.3f}, θv {taper['theta_v']:.3f} (U); characteristic "
        f"wind base moment {q(taper['base_moment_without'], 'kN*m')} kN·m without θB·θv, "
        f"{q(taper['base_moment_with'], 'kN*m')} with, {q(taper['base_moment_used'], 'kN*m')} "
        f"used ({taper['rule']}: the larger βz at each height)"
    )
    e = r["seismic"]
    if e is not None:
        print(
            f"  seismic: intensity {e['intensity']} ({e['acceleration'].magnitude:g} g), "
            f"α_max {e['alpha_max']:g}, Tg {q(e['characteristic_period'], 's', 2)} s, "
            f"ζ {e['damping_ratio']:g}, T1 {q(e['period'], 's', 3)} s, α1 {e['alpha']:.4f}, "
            f"γ1 {e['participation']:.3f}, F_Ek {q(e['base_shear'], 'kN')} kN "
            f"(on the plateau: {q(e['plateau_base_shear'], 'kN')} kN); {e['basis']}"
        )
    print(
        "  section                 z (m)  combination               N (kN)  M1 (kN·m)  P-Δ η"
        "   M (kN·m)  σ (N/mm²)  util  verdict"
    )
    rows = {(c["name"], c["combination"]): c for c in r["section_checks"]}
    for f in r["section_forces"]:
        where = f["location"] + (f" ({f['side']})" if f["side"] else "")
        z = f["z"].to("m").magnitude
        name = "stress, base" if f["location"] == "base" else f"stress, {f['location']} {z:g} m"
        check = rows.get((name, f["combination"]))
        util = f"{check['utilisation']:.2f}" if check is not None else "—"
        verdict = check["verdict"] if check is not None else "—"
        sigma = q(f["stress"], "N/mm^2", 1) if check is not None else "—"
        print(
            f"  {where:<23} {z:5.2f}  {f['combination']:<24} {q(f['axial'], 'kN'):>7}"
            f" {q(f['first_order_moment'], 'kN*m'):>9} {f['amplification']:7.4f}"
            f" {q(f['moment'], 'kN*m'):>9} {sigma:>9}  {util:>5}  {verdict}"
        )
    if r["top_deflection_second_order"] is not None:
        print(
            "  top deflection, G + W with θB·θv and P-Δ: "
            f"{q(r['top_deflection_second_order'], 'mm', 1)} mm"
        )
    print(
        "  bracket (βgz)         z (m)   βgz   wk (kN/m²)  F_k (kN)  F_d (kN)  V_d (kN)  arm (m)"
        "  M_d (kN·m)"
    )
    for b in r["brackets"]:
        arm = q(b["arm"], "m", 2) + ("" if b["arm_declared"] else "*")
        print(
            f"  {b['name']:<20} {q(b['z'], 'm', 2):>6} {b['beta_gz']:5.2f}"
            f" {q(b['pressure'], 'kN/m^2'):>11} {q(b['force'], 'kN'):>9}"
            f" {q(b['design_force'], 'kN'):>9} {q(b['design_weight'], 'kN'):>9} {arm:>8}"
            f" {q(b['design_moment'], 'kN*m'):>10}"
        )
    if any(not b["arm_declared"] for b in r["brackets"]):
        print("  * arm not declared: √A/2, the device flat against the shaft (I)")
    print(
        "  brackets: F_d = γ0·1.5·βgz·μs·μz·w0·A (GB 50009 eq. 8.1.1-2), V_d = γ0·1.3·m·g, "
        "M_d = √(F_d² + V_d²)·arm; the base actions carry βz"
    )
    print("  base actions             N (kN)  V (kN)  M (kN·m)  (P-Δ included)")
    for a in r["base_actions"]:
        print(
            f"  {a['combination']:<24} {q(a['axial'], 'kN'):>6} {q(a['shear'], 'kN'):>7}"
            f" {q(a['moment'], 'kN*m'):>9}  {a['limit']}"
        )
    for title, key in (
        ("base plate and weld", "base_plate"),
        ("anchor bolts", "anchor_bolts"),
        ("foundation", "foundation"),
        ("fatigue (recommended)", "fatigue"),
    ):
        if r[key] is None:
            print(f"  {title}: not declared in the design (docs/engineering/base.md)")
            continue
        print(f"  {title:<32} combination            value           limit           util  verdict")
        for c in r[key]:
            util = f"{c['utilisation']:.2f}" if c["utilisation"] is not None else "—"
            print(
                f"  {c['name']:<32} {c['combination'] or '—':<22} "
                f"{format_quantity(c['value']):<15} {format_quantity(c['limit']):<15} {util:>5}  "
                f"{c['verdict']:<8} {c['basis']}"
            )
    note = ""
    vortex = next(c for c in r["checks"] if c["name"] == "vortex v_cr")
    if vortex["verdict"] == "mitigated":
        note = (
            f" (vortex: {r['vortex_mitigation']} declared against v_cr "
            f"{format_quantity(vortex['value'])}; check its test report)"
        )
    if r["recommended_failed"]:
        note += f"; recommended, not met: {', '.join(r['recommended_failed'])}"
    print(f"  {r['pole']}: {'pass' if r['passed'] else 'FAIL'}{note}")


def _cmd_report_merge(args: argparse.Namespace) -> int:
    from ycsa_conform.report.merge import merge_reports

    paths = merge_reports(
        [Path(f) for f in args.folders], Path(args.out), site_id=args.site_id, title=args.title
    )
    report = json.loads(paths.json.read_text(encoding="utf-8"))
    summary = report["summary"]
    counts = ", ".join(f"{summary[k]} {k}" for k in summary if k != "total" and summary[k])
    print(f"{summary['total']} results from {len(args.folders)} runs: {counts}")
    conclusion = report["conclusion"]
    print(f"{conclusion['en']} / {conclusion['zh']}")
    print(f"report: {paths.json}\n        {paths.html}")
    return 0 if conclusion["status"] in ("conforms", "pending") else 1


def _cmd_report_render(args: argparse.Namespace) -> int:
    from ycsa_conform.report.rebuild import rebuild_report

    rebuilt = rebuild_report(Path(args.folder))
    report = json.loads(rebuilt.paths.json.read_text(encoding="utf-8"))
    summary, conclusion = report["summary"], report["conclusion"]
    counts = ", ".join(f"{summary[k]} {k}" for k in summary if k != "total" and summary[k])
    cut = " (the journal ends before the run did)" if rebuilt.cut_short else ""
    print(f"{summary['total']} results from the journal of {rebuilt.folder}{cut}: {counts}")
    print(f"{conclusion['en']} / {conclusion['zh']}")
    print(f"report: {rebuilt.paths.json}\n        {rebuilt.paths.html}")
    return 0 if conclusion["status"] in ("conforms", "pending") else 1


def _cmd_report_pdf(args: argparse.Namespace) -> int:
    from ycsa_conform.report.pdf import PdfUnavailable, render_pdf

    folder = Path(args.folder)
    source = folder / "report.json"
    try:
        report = json.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        print(f"{source}: no report.json here; give a run's --report-dir", file=sys.stderr)
        return USAGE
    except json.JSONDecodeError as exc:
        print(f"{source}:{exc.lineno}: not JSON ({exc.msg})", file=sys.stderr)
        return USAGE
    out = Path(args.out) if args.out else folder / "report.pdf"
    try:
        render_pdf(report, out, lang=args.lang)
    except PdfUnavailable as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"report: {out}")
    return 0


def _cmd_report_bundle(args: argparse.Namespace) -> int:
    from ycsa_conform.report.bundle import BundleError, bundle

    folder = Path(args.folder)
    try:
        done = bundle(folder, Path(args.out) if args.out else folder / "bundle.zip")
    except BundleError as exc:
        print(exc, file=sys.stderr)
        return USAGE
    for gap in done.missing:
        where = f" {gap['source']}" if gap["source"] else ""
        print(f"not in the bundle: {gap['role']}{where}: {gap['reason']}", file=sys.stderr)
    print(f"bundle: {done.path} ({done.files} files)")
    print(f"MANIFEST.json sha256 {done.manifest_sha256} (write it in the handover documents)")
    return 0


def _cmd_report_verify(args: argparse.Namespace) -> int:
    from ycsa_conform.report.bundle import BundleError, verify

    try:
        problems = verify(Path(args.bundle))
    except BundleError as exc:
        print(exc, file=sys.stderr)
        return USAGE
    for problem in problems:
        print(f"{args.bundle}: {problem}")
    if not problems:
        print(f"{args.bundle}: every file matches MANIFEST.json")
    return 1 if problems else 0


def _cmd_restore(args: argparse.Namespace) -> int:
    """Put back what an interrupted field run left changed (REPORT_DIR/restore.jsonl)."""
    from ycsa_conform.actuation import JOURNAL_NAME, RestoreJournal, put_back_journal
    from ycsa_conform.site import load_site

    folder = Path(args.report_dir)
    pending = RestoreJournal.read(folder)
    if not pending:
        print(f"{folder}: nothing to restore (no point pending in {folder / JOURNAL_NAME})")
        (folder / JOURNAL_NAME).unlink(missing_ok=True)
        return 0
    sites = sorted({p.site for p in pending})
    if args.site is None and len(sites) > 1:
        print(
            f"{folder / JOURNAL_NAME}: points of {len(sites)} sites are pending "
            f"({', '.join(sites)}); give the one to restore with --site",
            file=sys.stderr,
        )
        return USAGE
    site = load_site(Path(args.site) if args.site else Path(sites[0]))
    put_back_journal(folder, site, only_site=None if args.site else sites[0])
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="ycsa-conform",
        description="Conformance profiles for smart poles and smart communities. "
        "Run them with: pytest --profile smart-pole",
    )
    parser.add_argument("--version", action="version", version=f"ycsa-conform {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("profiles", help="list the built-in profiles")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_profiles)

    p = sub.add_parser("profile", help="inspect a profile")
    profile_sub = p.add_subparsers(dest="action", required=True)
    show = profile_sub.add_parser("show", help="show a loaded profile")
    show.add_argument("profile", metavar="NAME|PATH")
    show.add_argument("--json", action="store_true")
    show.add_argument(
        "--site", metavar="SITE", help="resolve limits and windows with this site's parameters"
    )
    show.add_argument("--pole", metavar="ID", help="with --site: this target's parameters")
    show.add_argument(
        "--param", action="append", default=[], metavar="KEY=VALUE", help="as in a run"
    )
    show.set_defaults(func=_cmd_profile_show)

    p = sub.add_parser(
        "validate",
        help="validate profiles, sites and device maps",
        description="Load each file the full way and report every problem as FILE:LINE: "
        "$.path: message. A site is also held to the profiles (--profile, else the built-in "
        "profiles for its target kinds): parameters, device roles, and every point, topic "
        "and command each requirement's check uses of a role's device map, as a run would "
        "meet them; and its Modbus maps for overlapping registers. Exit 4 when a file cannot be "
        "loaded, 1 when the contract finds errors; warnings alone exit 0 (docs/contract.md).",
    )
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument(
        "--profile",
        action="append",
        default=[],
        metavar="NAME|PATH",
        help="hold sites to this profile (repeatable; default: the built-in profiles whose "
        "targets the site has)",
    )
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE", help="as in a run")
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser(
        "points",
        help="device roles, logical points and the requirements that use each",
        description="The vendor's side of the contract: the device roles the built-in "
        "profiles check, the logical points a device map binds (unit, dimension, meaning) "
        "and which requirements read or write each. docs/points.md is its --markdown output.",
    )
    output = p.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true")
    output.add_argument("--markdown", action="store_true", help="the docs/points.md page")
    p.set_defaults(func=_cmd_points)

    p = sub.add_parser(
        "loads",
        help="wind loads and structural checks of a site's poles",
        description="Wind loads (GB 50009-2012) and structural checks of each pole, from the "
        "design data of a site file; without SITE, of the built-in bench's pole (the same "
        "numbers `pytest --profile smart-pole` reports for its SP-LOAD requirements).",
    )
    p.add_argument(
        "site",
        metavar="SITE",
        nargs="?",
        help="site file with the poles' design data (default: the built-in bench, see --bench)",
    )
    p.add_argument(
        "--site",
        metavar="SITE",
        dest="site_option",
        help="the same as SITE, spelt as `lighting --site` and pytest spell it",
    )
    p.add_argument(
        "--bench",
        metavar="NAME",
        help="analyse the poles of the built-in bench NAME (default smart-pole when no SITE)",
    )
    p.add_argument("--pole", metavar="ID", help="only this target")
    p.add_argument(
        "--max-top-deflection-ratio",
        type=float,
        default=1 / 75,
        metavar="R",
        help="top deflection limit as a fraction of the height (default 1/75, like the "
        "profile parameter max_top_deflection_ratio)",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_loads)

    p = sub.add_parser("bench", help="the built-in simulated bench")
    bench_sub = p.add_subparsers(dest="action", required=True)
    faults = bench_sub.add_parser("faults", help="list the fault catalogue")
    faults.add_argument("--json", action="store_true")
    faults.add_argument("--bench", metavar="NAME", help="only the faults of this bench")
    faults.set_defaults(func=_cmd_bench_faults)
    from .bench.definition import list_benches

    for name in list_benches():
        serve = bench_sub.add_parser(name, help=f"serve the {name} bench until interrupted")
        serve.add_argument("--fault", action="append", default=[], metavar="NAME")
        serve.add_argument("--poles", type=int, default=1, metavar="N")
        serve.add_argument(
            "--site-file", metavar="PATH", help="where to write the site file (default: temp)"
        )
        serve.set_defaults(func=_cmd_bench_serve, bench=name)

    p = sub.add_parser("report", help="work with the reports of runs")
    report_sub = p.add_subparsers(dest="action", required=True)
    merge = report_sub.add_parser(
        "merge",
        help="one report from the report folders of several runs (a district run road by road, "
        "or split over machines)",
        description="Read each folder's journal.jsonl and write one report.json and "
        "report.html: the runs must use the same profiles, and no requirement may be decided "
        "on one target twice.",
    )
    merge.add_argument("folders", nargs="+", metavar="DIR", help="a run's --report-dir")
    merge.add_argument("--out", required=True, metavar="DIR", help="where the report goes")
    merge.add_argument("--site-id", help="the merged site's id (default: the runs' ids joined)")
    merge.add_argument("--title", help="the merged site's title")
    merge.set_defaults(func=_cmd_report_merge)
    render = report_sub.add_parser(
        "render",
        help="rebuild a run's report.json and report.html from its journal alone",
        description="Read DIR's journal.jsonl (DIR is a run's folder, or a --report-dir for "
        "its latest run) and write report.json and report.html beside it: after a run was "
        "killed before writing them, or to write them again.",
    )
    render.add_argument("folder", metavar="DIR", help="a run's folder or a --report-dir")
    render.set_defaults(func=_cmd_report_render)
    pdf = report_sub.add_parser(
        "pdf",
        help="the report of a run as PDF (A4, page numbers, Chinese included); needs "
        "ycsa-conform[pdf]",
        description="Read DIR/report.json and write DIR/report.pdf: the same sections as "
        "report.html (plots excepted), drawn with reportlab.",
    )
    pdf.add_argument("folder", metavar="DIR", help="a run's --report-dir")
    pdf.add_argument("--out", metavar="FILE", help="where the PDF goes (default DIR/report.pdf)")
    pdf.add_argument(
        "--lang",
        choices=("both", "zh", "en"),
        default="both",
        help="language: both (the default), zh or en",
    )
    pdf.set_defaults(func=_cmd_report_pdf)
    bundle = report_sub.add_parser(
        "bundle",
        help="one zip with a run's reports, the files its verdicts read and their SHA-256",
        description="Zip report.json, report.html, the journal, the recording, the evidence "
        "and records, the site file, the profiles and the device maps of a run, with a "
        "MANIFEST.json of their SHA-256 (docs/report.md).",
    )
    bundle.add_argument("folder", metavar="DIR", help="the run's --report-dir")
    bundle.add_argument("--out", metavar="FILE", help="the zip to write (default DIR/bundle.zip)")
    bundle.set_defaults(func=_cmd_report_bundle)
    verify = report_sub.add_parser(
        "verify",
        help="check a bundle against its MANIFEST.json: exit 1 if a file was altered, added "
        "or removed",
    )
    verify.add_argument("bundle", metavar="BUNDLE", help="a zip written by `report bundle`")
    verify.set_defaults(func=_cmd_report_verify)

    p = sub.add_parser(
        "lighting",
        help="judge a measured lighting grid against CJJ 45-2015, or a site's lighting design",
        description="With GRID.csv: judge that measured grid against CJJ 45-2015 for "
        "--road-class and --grade (and predict it with --ies). Without: the lighting design "
        "of each pole of --site SITE, or of the built-in bench (--bench, default smart-pole): "
        "the predicted maintained grid, the pole's lighting_grid record against it, cut-off "
        "class and upward light ratio; the numbers the SP-LUM requirements report.",
    )
    p.add_argument(
        "grid",
        metavar="GRID.csv",
        nargs="?",
        help="measured lux grid (docs/engineering); a .yaml file here is taken as --site",
    )
    p.add_argument("--site", metavar="SITE", help="site file: analyse its poles' design")
    p.add_argument("--bench", metavar="NAME", help="analyse the built-in bench NAME's poles")
    p.add_argument("--pole", metavar="ID", help="only this target (with a site)")
    p.add_argument("--road-class", choices=["I", "II", "III"], help="(with GRID.csv)")
    p.add_argument("--grade", choices=["low", "high"], help="(with GRID.csv)")
    p.add_argument("--method", choices=["centre", "corners"], default="centre")
    p.add_argument("--json", action="store_true")
    p.add_argument(
        "--ies", metavar="FILE", help="IES LM-63 or EULUMDAT (.ldt) file: add the predicted grid"
    )
    p.add_argument("--spacing", help="pole spacing, like 35m (with --ies)")
    p.add_argument("--height", help="mounting height (with --ies)")
    p.add_argument("--overhang", help="arm overhang over the road (with --ies)")
    p.add_argument("--tilt", help="upward tilt of the arm (with --ies)")
    p.add_argument("--road-width", help="carriageway width (with --ies)")
    p.add_argument("--maintenance-factor", type=float, default=1.0, help="(with --ies)")
    p.add_argument(
        "--layout",
        choices=["one-sided", "opposite", "staggered", "twin-central"],
        default="one-sided",
        help="arrangement of the poles (with --ies)",
    )
    p.add_argument(
        "--lanes", type=int, help="lanes of the carriageway: adds the luminance (with --ies)"
    )
    p.add_argument(
        "--surface",
        choices=["R1", "R2", "R3", "R4", "C1", "C2"],
        default="R3",
        help="CIE road surface class for the luminance (diffuse stand-in, tag I)",
    )
    p.add_argument("--q0", type=float, help="measured Q0 of the road surface (with --lanes)")
    p.set_defaults(func=_cmd_lighting)

    p = sub.add_parser(
        "restore",
        help="put back the device points an interrupted field run left changed",
        description="Apply REPORT_DIR/restore.jsonl, the journal a field run with "
        "--allow-actuation writes before each write: every point still changed goes back to the "
        "value it had. The next pytest run on the site does the same first.",
    )
    p.add_argument("report_dir", metavar="REPORT_DIR", help="the run's --report-dir")
    p.add_argument(
        "--site", help="the site file to reach the devices by (default: the one the run used)"
    )
    p.set_defaults(func=_cmd_restore)
    add_site_parser(sub)
    add_scan_parser(sub)
    add_doctor_parser(sub)
    return parser


class _Parser(argparse.ArgumentParser):
    """argparse's parser, with a usage mistake exiting USAGE as pytest's does (argparse: 2)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(USAGE, f"{self.prog}: error: {message}\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Run one verb. Exit status: 0 ok, 1 a check or file found not conforming, 3 an internal
    error (a bug: one line, no traceback), 4 a usage error (a bad input file or argument)."""
    args = _parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except (InputError, _Usage) as exc:
        print(exc, file=sys.stderr)
        return USAGE
    except BrokenPipeError:  # `ycsa-conform points | head`: the reader stopped reading
        # Python would flush stdout again at exit and print a second traceback: point it at
        # /dev/null (the recipe in the signal module's documentation).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as exc:
        if exc.filename is None:
            print(_internal_error(args, exc), file=sys.stderr)
            return INTERNAL
        # A path the verb was given that is missing, a directory, or not allowed: the input's.
        reason = exc.strerror or type(exc).__name__
        print(f"{exc.filename}: {reason}; check the path", file=sys.stderr)
        return USAGE
    except Exception as exc:
        print(_internal_error(args, exc), file=sys.stderr)
        return INTERNAL
    return code


def _internal_error(args: argparse.Namespace, exc: Exception) -> str:
    """One line for an exception nobody expected: where it arose and the inputs it came from.

    The exception's own text is left out: it may hold a value read from a file or a device,
    such as a credential (issue 16), and the type and place are what a bug report needs."""
    ours = [f for f in traceback.extract_tb(exc.__traceback__) if "ycsa_conform" in f.filename]
    frame = ours[-1] if ours else None
    place = f" at {Path(frame.filename).name}:{frame.lineno}" if frame is not None else ""
    inputs = [
        str(value)
        for value in _values(vars(args))
        if isinstance(value, str) and value and Path(value).exists()
    ]
    given = f" with {', '.join(inputs)}" if inputs else ""
    verb = " ".join(
        str(v) for v in (getattr(args, "command", None), getattr(args, "action", None)) if v
    )
    return (
        f"ycsa-conform {verb}: internal error ({type(exc).__name__}{place}){given}; this is a "
        "bug in ycsa-conform, not in the input: report it with the command line and the files"
    )


def _values(options: Mapping[str, object]) -> list[object]:
    found: list[object] = []
    for value in options.values():
        found.extend(value if isinstance(value, list) else [value])
    return found


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
