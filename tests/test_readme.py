"""The README's first screen: install and run the demo, keep the stack running and post an
article, and only then the developers' commands; its test command is the one CI runs."""

from __future__ import annotations

import re

from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def _commands() -> list[str]:
    """The shell blocks' lines, in order."""
    blocks = re.findall(r"```sh\n(.*?)```", README, flags=re.DOTALL)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip()]


def test_the_first_command_installs_without_the_dev_extras_and_runs_the_demo() -> None:
    first = _commands()[0]
    assert first.endswith("newsdedup demo") and "pip install -e ." in first
    assert "[dev]" not in first


def test_after_the_demo_come_the_running_stack_and_a_first_article_then_tests_lint_benchmarks(
    ) -> None:  # fmt: skip
    commands = _commands()

    def first(fragment: str) -> int:
        return next(n for n, line in enumerate(commands) if fragment in line)

    assert first("newsdedup demo") < first("newsdedup up") < first("curl -s localhost:8000")
    assert first("curl -s localhost:8000") < first("pytest") < first("benchmarks.")
    assert README.index("## Development") < README.index("ruff check")


def test_the_readme_test_command_is_the_one_ci_runs() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()[-1]
    assert [line for line in _commands() if "pytest" in line] == [ci]
