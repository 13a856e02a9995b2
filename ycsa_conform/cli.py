"""The `ycsa-conform` command: list and show profiles, validate files.

ycsa-conform profiles                     built-in profiles
ycsa-conform profile show NAME|PATH [--json]
ycsa-conform validate FILE...             profiles, sites, device maps; exit 1 on errors
ycsa-conform bench faults [--bench NAME] [--json]   the built-in benches' fault catalogue
ycsa-conform bench NAME [--fault F]... [--poles N] [--site-file PATH]
                                          serve a bench until Ctrl-C / SIGTERM; prints one
                                          JSON line: endpoints per pole and a site file
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from . import __version__
from .devicemap import load_devicemap
from .errors import InputError, Problem
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
                    "not a profile, site or device map: the file must have a 'profile:', "
                    "'site:' or 'devicemap:' key at the top",
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
