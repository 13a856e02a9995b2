"""Allure labels and attachments for a result. The only module that imports allure.

Without ``--alluredir`` allure-pytest registers no listener and every ``allure.dynamic`` call
is a no-op hook call, so `annotate` may be called for every result unconditionally.
"""

# allure-python ships py.typed but leaves allure.dynamic unannotated; this adapter is where that
# stops mattering, so the check is off here and nowhere else.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import allure

from ycsa_conform.result import Result

__all__ = ["annotate", "attach_text", "attach_traffic"]

_SEVERITY = {
    "mandatory": allure.severity_level.CRITICAL,
    "recommended": allure.severity_level.NORMAL,
    "optional": allure.severity_level.MINOR,
}


def annotate(result: Result, *, profile_title: str) -> None:
    """Label the running test with `result`: epic = profile, feature = area, story = requirement."""
    dynamic = allure.dynamic
    title = " / ".join(t for t in (result.title.get("en"), result.title.get("zh")) if t)
    dynamic.title(f"{result.requirement} {title}" if title else result.requirement)
    dynamic.epic(result.profile)
    dynamic.feature(result.area)
    dynamic.story(result.requirement)
    dynamic.severity(_SEVERITY.get(result.level, allure.severity_level.NORMAL))
    dynamic.label("profile", result.profile)
    dynamic.label("target", result.target)
    dynamic.label("verdict", result.verdict.value)
    if result.untested:
        # Allure shows a skipped test; the tag says it applies and still has to be tested.
        dynamic.tag("not tested")
    if result.subsystem:
        dynamic.sub_suite(result.subsystem)
        dynamic.label("subsystem", result.subsystem)
        dynamic.tag(f"subsystem:{result.subsystem}")
    if result.source_profile and result.source_profile != result.profile:
        dynamic.tag(f"from:{result.source_profile}")
    for ref in result.refs:
        if ref.get("url"):
            name = " ".join(str(part) for part in (ref.get("source"), ref.get("clause")) if part)
            dynamic.link(ref["url"], name=name or ref["url"])
    dynamic.description(
        f"{result.reason}\n\n"
        f"Profile: {profile_title} ({result.profile}) · target: {result.target} · "
        f"level: {result.level} · verdict: {result.verdict.value}"
    )
    if result.measurements:
        allure.attach(
            json.dumps([m.as_dict() for m in result.measurements], ensure_ascii=False, indent=2),
            name="measurements",
            attachment_type=allure.attachment_type.JSON,
        )


def attach_text(name: str, text: str) -> None:
    allure.attach(text, name=name, attachment_type=allure.attachment_type.TEXT)


def attach_traffic(lines: Sequence[Mapping[str, Any]]) -> None:
    """The device exchanges a requirement caused or used (`--record`), as JSON lines."""
    if lines:
        text = "\n".join(json.dumps(line, ensure_ascii=False, default=str) for line in lines)
        allure.attach(text, name="device traffic", attachment_type=allure.attachment_type.JSON)
