"""Command-line options. `--profile` is registered defensively: pytest-profiling (and many
conftest.py files) also define it, so `--ycsa-profile` always exists as an alias."""

from __future__ import annotations

import pytest

__all__ = ["PROFILE_TAKEN", "add_options"]

GROUP = "ycsa-conform"
PROFILE_TAKEN = pytest.StashKey[bool]()


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup(GROUP, "ycsa-conform acceptance testing")
    group.addoption(
        "--ycsa-profile",
        action="append",
        dest="ycsa_profiles",
        default=[],
        metavar="NAME|PATH",
        help="profile to run: a built-in name (smart-pole) or a YAML file; repeatable. "
        "Same as --profile.",
    )
    group.addoption(
        "--site",
        dest="ycsa_site",
        metavar="PATH",
        help="site file describing the targets and their devices (default: the built-in bench)",
    )
    group.addoption(
        "--param",
        action="append",
        dest="ycsa_params",
        default=[],
        metavar="KEY=VALUE",
        help="set a profile parameter for every target, e.g. --param city=Dali",
    )
    group.addoption(
        "--bench-fault",
        action="append",
        dest="ycsa_bench_faults",
        default=[],
        metavar="NAME",
        help="inject a named fault into the built-in bench; repeatable "
        "(list them with `ycsa-conform bench faults`)",
    )
    group.addoption(
        "--bench-poles",
        type=int,
        dest="ycsa_bench_poles",
        default=1,
        metavar="N",
        help="simulate N poles on the built-in bench, each with its own devices (default 1)",
    )
    group.addoption(
        "--allow-actuation",
        action="store_true",
        dest="ycsa_allow_actuation",
        help="let actuate checks command field devices (dimming, switching); the prior state "
        "is restored afterwards. The built-in bench is always commanded; without this option "
        "actuate checks on a field site are not applicable",
    )
    group.addoption(
        "--dry-run",
        action="store_true",
        dest="ycsa_dry_run",
        help="print the points each selected requirement would read and write on each device, "
        "and whether the writes would be sent; open no device, run no check, write no report",
    )
    group.addoption(
        "--evidence",
        dest="ycsa_evidence",
        metavar="PATH",
        help="operator evidence file (YAML, schemas/evidence.schema.json): the verdict, who, "
        "when and which documents, certificates or photos, per evidence item and target; "
        "evidence checks without an entry stay pending",
    )
    group.addoption(
        "--report-dir",
        dest="ycsa_report_dir",
        default="ycsa-report",
        metavar="DIR",
        help="where the reports go (default: ycsa-report): each run in its own folder "
        "DIR/runs/TIME/ (journal.jsonl, report.json, report.html), DIR/latest and DIR/LATEST "
        "naming the latest, and a copy of its report.json and report.html in DIR",
    )
    group.addoption(
        "--resume",
        action="store_true",
        dest="ycsa_resume",
        help="continue the latest run in --report-dir (one interrupted or killed): its "
        "journalled results are kept and reported as they were, without contacting the devices "
        "again; only the requirements it did not decide are run, and the report is rewritten "
        "in that run's folder",
    )
    group.addoption(
        "--report-lang",
        dest="ycsa_report_lang",
        default="both",
        choices=("both", "zh", "en"),
        help="language of report.html: both (English with Chinese beside it, the default), "
        "zh or en",
    )
    group.addoption(
        "--operator",
        dest="ycsa_operator",
        default="",
        metavar="NAME",
        help="who runs the acceptance: on report.html's cover and first sign-off line",
    )
    group.addoption(
        "--record",
        dest="ycsa_record",
        metavar="DIR",
        help="write every device exchange (time, device, raw bytes or topic/payload, decoded "
        "value) to DIR as JSON lines, to replay later with --replay DIR",
    )
    group.addoption(
        "--replay",
        dest="ycsa_replay",
        metavar="DIR",
        help="answer every device request from the recording in DIR (made with --record): "
        "no bench, no devices",
    )
    group.addoption(
        "--concurrency",
        type=int,
        dest="ycsa_concurrency",
        default=None,
        metavar="N",
        help="decide up to N requirements at the same time, so that their observation windows "
        "overlap, and keep up to N targets' devices open (default 16, 64 on a --bench-poles "
        "fleet; 1 decides them one after another). A requirement that writes to a device runs "
        "alone on its target",
    )
    group.addoption(
        "--strict-acceptance",
        action="store_true",
        dest="ycsa_strict",
        help="treat pending requirements (evidence not yet supplied) as failures",
    )


@pytest.hookimpl(trylast=True)
def pytest_load_initial_conftests(
    early_config: pytest.Config, parser: pytest.Parser, args: list[str]
) -> None:
    """Claim `--profile` late, after other plugins and the initial conftests had their turn;
    then settle pytest's rootdir as if our options had been known from the start.

    Registered here rather than in pytest_addoption so that whichever plugin also wants
    `--profile` (pytest-profiling) keeps it and pytest still starts; we then use the alias.
    """
    if _taken(parser, "--profile"):
        early_config.stash[PROFILE_TAKEN] = True
    else:
        try:
            parser.getgroup(GROUP).addoption(
                "--profile",
                action="append",
                dest="ycsa_profiles",
                default=[],
                metavar="NAME|PATH",
                help="same as --ycsa-profile",
            )
        except ValueError:
            early_config.stash[PROFILE_TAKEN] = True
    _settle_rootdir(early_config, parser, args)


def _settle_rootdir(early_config: pytest.Config, parser: pytest.Parser, args: list[str]) -> None:
    """pytest picks its rootdir and ini file before it loads plugins, so the value of
    `--site /elsewhere/site.yaml` (or --replay, --evidence …) passes for a test path: the
    rootdir became a common ancestor of the site and the current folder, the current folder's
    pytest.ini was ignored, and node ids were shown as `../../smart-pole::SP-PWR-008[P001]`.
    Now that our options are known, pick them again as pytest would have.

    This sets pytest's private `_rootpath`, `_inipath`, `_inicfg` (pytest 9, pinned in
    pyproject) before pytest's own hook of this name uses them to find the initial conftests
    (ours runs first: both are trylast, and later registrations run first). Nothing is changed
    when --rootdir, -c or a path among the arguments chose them, or the attributes are gone.
    """
    import copy

    from _pytest.config.findpaths import determine_setup

    if not all(hasattr(early_config, a) for a in ("_rootpath", "_inipath", "_inicfg")):
        return
    ns = parser.parse_known_args(args, namespace=copy.copy(early_config.option))
    if (
        ns.rootdir
        or ns.inifilename
        or ns.file_or_dir == early_config.known_args_namespace.file_or_dir
    ):
        return
    rootpath, inipath, inicfg, ignored = determine_setup(
        inifile=None,
        override_ini=ns.override_ini,
        args=ns.file_or_dir,
        rootdir_cmd_arg=None,
        invocation_dir=early_config.invocation_params.dir,
    )
    early_config.known_args_namespace.file_or_dir = ns.file_or_dir
    if (rootpath, inipath) == (early_config.rootpath, early_config.inipath):
        return
    derived = early_config.known_args_namespace.confcutdir
    applied = early_config.inipath  # its addopts are in `args` already
    early_config._rootpath = rootpath
    early_config._inipath = inipath
    early_config._inicfg = inicfg
    early_config._ignored_config_files = ignored
    early_config._inicache.clear()
    parser.extra_info["rootdir"] = str(rootpath)
    parser.extra_info["inifile"] = str(inipath)
    if ns.confcutdir is None and derived is not None:  # pytest derived it from the old root
        early_config.known_args_namespace.confcutdir = str(
            inipath.parent if inipath is not None else rootpath
        )
    # The ini file found now had its addopts not applied yet: pytest's final parse of `args`
    # takes them (plugins they name with -p are not loaded this late).
    if inipath is not None and inipath != applied:
        addopts = early_config.getini("addopts")
        if addopts:
            args[:] = [*early_config._validate_args(addopts, "via addopts config"), *args]


def _taken(parser: pytest.Parser, name: str) -> bool:
    # pytest checks option-name conflicts only within one group and argparse fails later with
    # a traceback, so look through every group. `_groups`/`_anonymous` are private pytest API.
    groups = [*getattr(parser, "_groups", []), getattr(parser, "_anonymous", None)]
    return any(
        name in option.names()
        for group in groups
        if group is not None
        for option in getattr(group, "options", [])
    )
