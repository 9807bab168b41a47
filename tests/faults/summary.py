"""The fault tallies in the terminal summary, whether the tests ran in this process or in xdist workers.

Each scenario puts its lines in its report's user_properties (which xdist sends to the controller);
this plugin gathers them and prints them at the end, even without -s. tests/faults/conftest.py
registers it; a run whose controller never loads that conftest (`pytest -n 2` over all of tests/)
needs it named at start-up: `-p tests.faults.summary`.
"""

from __future__ import annotations

KEY = "fault tally"
_lines: list[str] = []


def pytest_runtest_logreport(report) -> None:
    if report.when == "call":
        _lines.extend(value for name, value in report.user_properties if name == KEY)


def pytest_terminal_summary(terminalreporter) -> None:
    if _lines:
        terminalreporter.section("fault tallies")
        for line in _lines:
            terminalreporter.write_line(line)
