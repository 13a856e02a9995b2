"""The CI templates' commands run as written (issue 17, item 6: vendor CI).

ci-templates/github-actions.yml is parsed, and each job's `run:` scripts are run in order with
`bash -e`, in an empty folder of their own, as the runner would run them after checkout. Two
kinds of line are not run, and the test says so: the install lines (`python -m pip install
"ycsa-conform[pdf]"`: the suite's own environment, `pip install -e '.[test]'`, stands in for
it; `npm install -g allure@3.18.0`: the Allure 3 CLI already on PATH, or YCSA_ALLURE, stands in
for it). Without an Allure 3 CLI the render step is not run (under CI=true that fails, as
tests/plugin/test_allure_render.py does). `uses:` steps (checkout, setup, upload, JUnit
publishing) belong to GitHub and are not run; the test holds them to a known list.

ci-templates/gitlab-ci.yml runs the same commands: a test holds each GitLab job's script
lines (with the `allure` job's) equal to the GitHub job's `run:` lines of the same name, so the
GitHub jobs' run covers both.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from doc_commands import ROOT, environment

TEMPLATES = ROOT / "ci-templates"
GITHUB = TEMPLATES / "github-actions.yml"
GITLAB = TEMPLATES / "gitlab-ci.yml"
KNOWN_ACTIONS = {
    "actions/checkout",
    "actions/setup-python",
    "actions/setup-node",
    "actions/upload-artifact",
    "mikepenz/action-junit-report",
}
_GITLAB_KEYWORDS = {"stages", "variables", "default", "workflow", "include", "image"}


def _install(line: str) -> bool:
    return line.startswith(("python -m pip install", "pip install", "npm install -g allure"))


def _github_jobs() -> dict[str, list[dict[str, Any]]]:
    data = yaml.safe_load(GITHUB.read_text(encoding="utf-8"))
    return {name: job["steps"] for name, job in data["jobs"].items()}


def _github_lines(steps: list[dict[str, Any]]) -> list[str]:
    return [
        line.strip()
        for step in steps
        if "run" in step
        for line in step["run"].splitlines()
        if line.strip() and not _install(line.strip())
    ]


def _gitlab_lines(job: str) -> list[str]:
    data = yaml.safe_load(GITLAB.read_text(encoding="utf-8"))

    def resolved(name: str) -> dict[str, Any]:
        entry = dict(data[name])
        base = entry.pop("extends", None)
        return {**resolved(base), **entry} if base else entry

    entry = resolved(job)
    lines = [
        *entry.get("before_script", []),
        *entry["script"],
        *entry.get("after_script", []),
        *resolved("allure")["script"],  # the report stage renders this job's results
    ]
    return [str(line).strip() for line in lines if not _install(str(line).strip())]


def _allure() -> str | None:
    return os.environ.get("YCSA_ALLURE") or shutil.which("allure")


def test_the_gitlab_jobs_run_the_github_jobs_commands() -> None:
    data = yaml.safe_load(GITLAB.read_text(encoding="utf-8"))
    jobs = [k for k in data if not k.startswith(".") and k not in _GITLAB_KEYWORDS]
    assert sorted(jobs) == sorted([*_github_jobs(), "allure"])
    for name, steps in _github_jobs().items():
        assert _gitlab_lines(name) == _github_lines(steps), name


def test_the_github_steps_are_known() -> None:
    for name, steps in _github_jobs().items():
        for step in steps:
            assert ("uses" in step) != ("run" in step), f"{name}: {step}"
            if "uses" in step:
                assert step["uses"].split("@")[0] in KNOWN_ACTIONS, f"{name}: {step['uses']}"


@pytest.mark.parametrize("job", list(_github_jobs()))
def test_a_github_job_runs(job: str, tmp_path: Path) -> None:
    allure = _allure()
    if allure is None and os.environ.get("CI") == "true":
        pytest.fail("no Allure 3 CLI: npm install -g allure@3.18.0, or set YCSA_ALLURE")
    env = environment()
    if allure is not None:
        env["PATH"] = f"{Path(allure).parent}{os.pathsep}{env['PATH']}"
    groups: list[int] = []
    not_run: list[str] = []
    try:
        for step in _github_jobs()[job]:
            if "run" not in step:
                continue
            lines = [line for line in step["run"].splitlines() if line.strip()]
            script = "\n".join(line for line in lines if not _install(line.strip()))
            not_run += [line for line in lines if _install(line.strip())]
            if script.lstrip().startswith("ALLURE_NO_ANALYTICS") and allure is None:
                not_run.append(script)  # no Allure 3 CLI here (said above)
                continue
            if not script:
                continue
            process = subprocess.Popen(
                ["bash", "-e", "-c", script],
                cwd=tmp_path,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,
            )
            groups.append(process.pid)
            output, _ = process.communicate(timeout=600)  # "does not hang", not a timing
            assert process.returncode == 0, f"{job}: {step.get('name', script)}\n{output[-6000:]}"
    finally:
        for group in groups:  # a background simulator the template failed to stop
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGTERM)
    print(f"not run ({sys.executable}'s environment stands in):", *not_run, sep="\n  ")
    assert (tmp_path / "junit.xml").is_file()
    assert (tmp_path / "ycsa-report" / "report.json").is_file()
    assert (tmp_path / "allure-results").is_dir()
    if allure is not None:
        assert (tmp_path / "allure-report" / "index.html").is_file()
