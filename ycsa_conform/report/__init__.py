"""Outputs of a run: the crash-safe journal, report.json and report.html, Allure annotations.

`ycsa_conform.report.allure` is not imported here, so using the journal or the native report
does not import allure.
"""

from ycsa_conform.report.journal import Journal, read_journal
from ycsa_conform.report.native import (
    Conclusion,
    ReportError,
    ReportPaths,
    build_report,
    conclude,
    summarize,
    write_reports,
)

__all__ = [
    "Conclusion",
    "Journal",
    "ReportError",
    "ReportPaths",
    "build_report",
    "conclude",
    "read_journal",
    "summarize",
    "write_reports",
]
