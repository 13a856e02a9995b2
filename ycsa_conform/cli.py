"""The `ycsa-conform` command: profiles, validation, design calculators, benches.

ycsa-conform profiles                     built-in profiles
ycsa-conform profile show NAME|PATH [--json]
ycsa-conform validate FILE...             profiles, sites, device maps; exit 1 on errors
ycsa-conform bench faults [--bench NAME] [--json]   the built-in benches' fault catalogue
ycsa-conform bench NAME [--fault F]... [--poles N] [--site-file PATH]
                                          serve a bench until Ctrl-C / SIGTERM; prints one
                                          JSON line: endpoints per pole and a site file
ycsa-conform loads SITE [--pole ID] [--json]           wind loads per pole (GB 50009-2012)
ycsa-conform lighting GRID.csv --road-class II --grade high [--method centre|corners]
                      [--ies FILE --spacing --height --overhang --tilt --road-width] [--json]
                                          a measured illuminance grid against CJJ 45-2015
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from . import __version__
from .design import DESIGN_KEYS
from .devicemap import load_devicemap
from .errors import InputError, Problem
from .evidence import load_evidence
from .profile import Profile, builtin_profiles, load_profile
from .site import load_site
from .source import read_document

__all__ = ["main"]


def _profile_dict(profile: Profile) -> dict[str, Any]:
    return {
        "profile": profile.id,
        "version": profile.version,
        "title": dict(profile.title),
        "status": profile.status,
        "path": str(profile.path),
        "sha256": profile.sha256,
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
                "refs": [ref.as_dict() for ref in r.refs],
            }
            for r in profile.requirements
        ],
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
    data = _profile_dict(profile)
    if args.json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return 0
    print(
        f"{profile.id} {profile.version} ({profile.status}): "
        f"{profile.title['en']} / {profile.title['zh']}"
    )
    print(f"  {profile.path}")
    for r in data["requirements"]:
        refs = "; ".join(
            f"{x['source']}{' ' + x['clause'] if x['clause'] else ''} [{x['confidence']}]"
            for x in r["refs"]
        )
        print(
            f"  {r['id']:<12} {r['area']:<15} {r['level']:<12} {r['check']:<8} "
            f"{r['title']['en']}  ({refs})"
        )
    return 0


_LOADERS: dict[str, Callable[[Path], object]] = {
    # First match wins: an evidence file may name its site with a 'site:' key.
    "evidence": load_evidence,
    "profile": load_profile,
    "site": load_site,
    "devicemap": load_devicemap,
}


def _validate_one(path: Path) -> list[Problem]:
    """Tell the file's kind by its first key, then load it the full way."""
    try:
        doc = read_document(path)
        kind = next((k for k in _LOADERS if isinstance(doc.data, dict) and k in doc.data), None)
        if kind is None:
            return [
                doc.problem(
                    (),
                    "not a profile, site or device map, nor an evidence file: the file must "
                    "have a 'profile:', 'site:', 'devicemap:' or 'evidence:' key at the top",
                )
            ]
        _LOADERS[kind](path)
    except InputError as exc:
        return exc.problems
    return []


def _cmd_validate(args: argparse.Namespace) -> int:
    failed = 0
    for name in args.files:
        problems = _validate_one(Path(name))
        if problems:
            failed += 1
            for problem in problems:
                print(problem, file=sys.stderr)
        else:
            print(f"{name}: ok")
    return 1 if failed else 0


def _cmd_bench_faults(args: argparse.Namespace) -> int:
    from .bench.fault import builtin_faults

    rows = [
        {
            "name": f.name,
            "bench": f.bench,
            "description": f.description,
            "breaks": list(f.breaks),
            "verdict": f.verdict.value,
        }
        for f in builtin_faults().values()
        if args.bench in (None, f.bench)
    ]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        for row in rows:
            breaks = ", ".join(row["breaks"])
            print(
                f"{row['bench']:<16} {row['name']:<26} {row['verdict']:<5} {breaks}: "
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
        return 2
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
    print("bench stopped", file=sys.stderr, flush=True)
    return 0


def _cmd_lighting(args: argparse.Namespace) -> int:
    """Judge a measured GB/T 5700 grid against CJJ 45; optionally predict it from an IES file."""
    from .engineering.lighting import evaluate_grid, judge_grid, road_lighting_class
    from .engineering.photometry import RoadLayout, predicted_grid, read_grid_csv, read_ies
    from .units import UnitError, format_quantity, parse_quantity

    limits = road_lighting_class(args.road_class, args.grade)
    grid = read_grid_csv(args.grid)
    measured = evaluate_grid(grid, args.method)
    checks = judge_grid(measured, limits)
    verdict = "pass" if all(c.verdict.value == "pass" for c in checks) else "fail"

    def stats(s: Any) -> dict[str, Any]:
        return {
            "average_lx": round(float(s.average.magnitude), 3),
            "minimum_lx": round(float(s.minimum.magnitude), 3),
            "maximum_lx": round(float(s.maximum.magnitude), 3),
            "uniformity": round(s.uniformity, 4),
            "points": s.points,
        }

    predicted = None
    layout_text = ""
    if args.ies:
        import pint

        values: dict[str, Any] = {}
        for name, unit in (
            ("spacing", "m"),
            ("height", "m"),
            ("overhang", "m"),
            ("tilt", "degree"),
            ("road_width", "m"),
        ):
            option, text = f"--{name.replace('_', '-')}", getattr(args, name)
            example = "5deg" if unit == "degree" else "35m"
            if text is None:
                print(
                    f"ycsa-conform lighting: --ies needs {option}, like {example}", file=sys.stderr
                )
                return 2
            try:
                values[name] = parse_quantity(text).to(unit)
            except (UnitError, pint.DimensionalityError):
                kind = "an angle" if unit == "degree" else "a length"
                print(
                    f"ycsa-conform lighting: {option} {text!r} is not {kind}; write it like "
                    f"{example}",
                    file=sys.stderr,
                )
                return 2
        photometry = read_ies(args.ies)
        layout = RoadLayout(
            spacing=values["spacing"],
            mounting_height=values["height"],
            overhang=values["overhang"],
            tilt=values["tilt"],
            maintenance_factor=args.maintenance_factor,
        )
        width = float(values["road_width"].to("m").magnitude)
        span = float(values["spacing"].to("m").magnitude)
        if min(grid.y) < 0 or max(grid.y) > width or min(grid.x) < 0 or max(grid.x) > span:
            print(
                f"{args.grid}: the grid reaches beyond the span (0..{span:g} m along) or the "
                f"road (0..{width:g} m across); check --spacing and --road-width",
                file=sys.stderr,
            )
            return 1
        predicted = evaluate_grid(predicted_grid(photometry, layout, grid.x, grid.y), args.method)
        layout_text = (
            f"{Path(args.ies).name}, {format_quantity(values['spacing'])} spacing, "
            f"{format_quantity(values['height'])} high, {format_quantity(values['overhang'])} "
            f"overhang, {format_quantity(values['tilt'])} tilt, MF {args.maintenance_factor:g}"
        )

    if args.json:
        data: dict[str, Any] = {
            "grid": args.grid,
            "method": measured.method.value,
            "road_class": limits.road_class.value,
            "grade": limits.grade.value,
            "measured": stats(measured),
            "checks": [
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
            ],
            "verdict": verdict,
        }
        if predicted is not None:
            data["predicted"] = {**stats(predicted), "ies": args.ies, "layout": layout_text}
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
    print(f"{limits.source}, class {limits.road_class} {limits.grade} grade:")
    for c in checks:
        value = f"{c.value.magnitude:.1f} lx" if c.name == "Eav" else f"{c.value.magnitude:.2f}"
        limit = format_quantity(c.limit) if c.name == "Eav" else f"{c.limit.magnitude:g}"
        print(f"  {c.name:<4} {value:>8} >= {limit} [{c.confidence}]  {c.verdict.value}")
    print(f"verdict: {verdict}")
    return 0


# Design keys the `loads` calculator cannot do without, with an example value for the fix.
_LOADS_KEYS = {
    "height": "10 m",
    "terrain_category": "C",
    "basic_wind_pressure": "0.30 kN/m^2",
    "base_diameter": "219 mm",
    "top_diameter": "114 mm",
    "wall_thickness": "5 mm",
    "steel_grade": "Q355",
}


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
    """Wind loads and structural checks per pole; exit 1 only when design data is missing."""
    from dataclasses import asdict

    import pint

    from .engineering import pole, wind
    from .units import format_quantity

    site = load_site(args.site)
    targets = [t for t in site.targets if args.pole in (None, t.id)]
    if not targets:
        known = ", ".join(t.id for t in site.targets)
        print(f"{site.path}: no target {args.pole!r}; the site has {known}", file=sys.stderr)
        return 1
    errors: list[str] = []
    results: list[dict[str, Any]] = []
    for target in targets:
        design = target.design
        missing = [k for k in _LOADS_KEYS if k not in design]
        for key in missing:
            errors.append(
                f"{target.origin}: design.{key} is missing ({DESIGN_KEYS[key].description}); "
                f"add it to the target's design block, like '{key}: {_LOADS_KEYS[key]}'"
            )
        if missing:
            continue
        attachments = [
            pole.Attachment(
                name=e.name,
                mass=e.mass,
                area=e.area,
                height=e.height,
                # Without a declared μs every attachment kind takes 1.3 (I).
                shape_coefficient=wind.attachment_shape_coefficient(
                    wind.AttachmentKind.BOX, declared=e.shape_coefficient
                ),
            )
            for e in target.equipment
        ]
        # The site loader checked every quantity's dimension against DESIGN_KEYS.
        qs = {k: v for k, v in design.items() if isinstance(v, pint.Quantity)}
        terrain, w0 = str(design["terrain_category"]), qs["basic_wind_pressure"]
        altitude = qs.get("site_altitude")
        try:
            shaft = pole.PoleShaft(
                height=qs["height"],
                base_diameter=qs["base_diameter"],
                top_diameter=qs["top_diameter"],
                wall_thickness=qs["wall_thickness"],
                steel_grade=pole.SteelGrade(str(design["steel_grade"])),
                shape=wind.SectionShape(str(design.get("section_shape", "circular"))),
            )
            loads = pole.analyse_pole(
                shaft,
                attachments,
                terrain=terrain,
                w0=w0,
                first_frequency=qs.get("first_frequency"),
                air_density=wind.air_density(altitude) if altitude is not None else None,
            )
            budget = pole.equipment_budget(
                attachments,
                terrain=terrain,
                w0=w0,
                rated_mass=qs.get("rated_equipment_mass"),
                rated_moment=qs.get("rated_attachment_moment"),
                rated_area=qs.get("rated_equipment_area"),
            )
        except ValueError as exc:
            errors.append(f"{target.origin}: {exc}")
            continue
        checks = [*loads.checks, *budget]
        results.append(
            {
                "pole": target.id,
                "shaft": asdict(shaft),
                "terrain": terrain,
                "w0": loads.w0,
                "first_frequency": loads.first_frequency,
                "frequency_estimated": loads.frequency_estimated,
                "segments": [asdict(x) for x in loads.segments],
                "attachments": [asdict(x) for x in loads.attachments],
                "base_shear": loads.base_shear,
                "base_moment": loads.base_moment,
                "base_axial": loads.base_axial,
                "top_deflection": loads.top_deflection,
                "top_wind_speed": loads.top_wind_speed,
                "reynolds": loads.reynolds,
                "checks": [asdict(c) for c in checks],
                "passed": all(c.verdict is not pole.Verdict.FAIL for c in checks),
            }
        )
    if errors:
        for line in errors:
            print(line, file=sys.stderr)
        return 1
    if args.json:
        print(
            json.dumps(
                _loads_json({"site": site.id, "poles": results}), ensure_ascii=False, indent=2
            )
        )
        return 0

    def q(value: Any, unit: str, digits: int = 3) -> str:
        return f"{value.to(unit).magnitude:.{digits}f}"

    for r in results:
        shaft = r["shaft"]
        origin = "estimated, Rayleigh" if r["frequency_estimated"] else "design"
        print(
            f"{r['pole']}: {format_quantity(shaft['height'])} {shaft['steel_grade']} "
            f"{shaft['shape']} tube Ø{q(shaft['base_diameter'], 'mm', 0)}→"
            f"{q(shaft['top_diameter'], 'mm', 0)}×{q(shaft['wall_thickness'], 'mm', 1)} mm, "
            f"terrain {r['terrain']}, w0 {format_quantity(r['w0'])}, "
            f"f1 {q(r['first_frequency'], 'Hz', 2)} Hz ({origin})"
        )
        print("  segment (m)   z (m)  d (mm)   μz     μs     βz   wk (kN/m²)  F (kN)")
        for s in r["segments"]:
            print(
                f"  {q(s['bottom'], 'm', 1):>5}–{q(s['top'], 'm', 1):<6} {q(s['z'], 'm', 2):>6}"
                f" {q(s['diameter'], 'mm', 1):>7} {s['mu_z']:6.3f} {s['mu_s']:6.3f}"
                f" {s['beta_z']:6.3f} {q(s['pressure'], 'kN/m^2'):>11} {q(s['force'], 'kN'):>7}"
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
            f"top deflection {q(r['top_deflection'], 'mm', 1)} mm"
        )
        print("  check               value           limit           util  verdict  basis")
        for c in r["checks"]:
            util = f"{c['utilisation']:.2f}" if c["utilisation"] is not None else "—"
            print(
                f"  {c['name']:<19} {format_quantity(c['value']):<15} "
                f"{format_quantity(c['limit']):<15} {util:>5}  {c['verdict']:<8} {c['basis']}"
            )
        print(f"  {r['pole']}: {'pass' if r['passed'] else 'FAIL'}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
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
    show.set_defaults(func=_cmd_profile_show)

    p = sub.add_parser("validate", help="validate profiles, sites and device maps")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser("loads", help="wind loads and structural checks of a site's poles")
    p.add_argument("site", metavar="SITE", help="site file with the poles' design data")
    p.add_argument("--pole", metavar="ID", help="only this target")
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

    p = sub.add_parser("lighting", help="judge a measured lighting grid against CJJ 45-2015")
    p.add_argument("grid", metavar="GRID.csv", help="measured lux grid (docs/engineering)")
    p.add_argument("--road-class", required=True, choices=["I", "II", "III"])
    p.add_argument("--grade", required=True, choices=["low", "high"])
    p.add_argument("--method", choices=["centre", "corners"], default="centre")
    p.add_argument("--json", action="store_true")
    p.add_argument("--ies", metavar="FILE", help="IES LM-63 file: add the predicted grid")
    p.add_argument("--spacing", help="pole spacing, like 35m (with --ies)")
    p.add_argument("--height", help="mounting height (with --ies)")
    p.add_argument("--overhang", help="arm overhang over the road (with --ies)")
    p.add_argument("--tilt", help="upward tilt of the arm (with --ies)")
    p.add_argument("--road-width", help="carriageway width (with --ies)")
    p.add_argument("--maintenance-factor", type=float, default=1.0, help="(with --ies)")
    p.set_defaults(func=_cmd_lighting)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except InputError as exc:
        print(exc, file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
