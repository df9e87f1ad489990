"""The operations docs (runbook, deploy guide, design) use only real commands, checked by the programs' own parsers."""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import re
import shlex
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import yaml

from dashboard.cli import parser as dashboard_parser
from engine.cli import build_parser
from tests.deploy.deploytools import COMPOSE_FILE, REPO_ROOT, TEMPLATES

DOCS = tuple(REPO_ROOT / "docs" / name for name in ("runbook.md", "deploy.md", "design.md"))
RUNBOOK = REPO_ROOT / "docs" / "runbook.md"
SEPARATORS = {"|", "||", "&&", ";", "(", ")", "$("}
ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
# Compose flags that take a value, before the service name of `docker compose run`.
COMPOSE_VALUE_FLAGS = {
    "--env-file",
    "-f",
    "--file",
    "--profile",
    "-p",
    "--project-name",
    "-e",
    "--name",
    "-u",
    "-w",
}


def doc_command_lines() -> list[str]:
    """Logical lines of the fenced code blocks (continuations joined) plus inline code spans."""
    text = "\n".join(doc.read_text() for doc in DOCS)
    lines: list[str] = []
    for block in re.findall(r"```(?:sh|bash|shell)?\n(.*?)```", text, flags=re.DOTALL):
        lines.extend(re.sub(r"\\\n\s*", " ", block).splitlines())
    prose = re.sub(r"```.*?```", "", text, flags=re.DOTALL)
    lines.extend(span for span in re.findall(r"`([^`\n]+)`", prose) if " " in span)
    return [line.split("  #", 1)[0].strip() for line in lines if line.strip()]


def segments(line: str) -> Iterator[list[str]]:
    """Simple commands of a shell line, leading VAR=value assignments dropped."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    current: list[str] = []
    for token in lexer:
        if token in SEPARATORS or set(token) <= set("|&;()"):
            if current:
                yield current
            current = []
        elif not current and ASSIGNMENT.match(token):
            continue
        else:
            current.append(token)
    if current:
        yield current


def parse_with(parser: argparse.ArgumentParser, args: list[str]) -> str | None:
    """None if the parser accepts args, else argparse's error message."""
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr):
            parser.parse_args(args)
    except SystemExit:
        return stderr.getvalue().strip().splitlines()[-1] if stderr.getvalue() else "rejected"
    return None


class _Parsed(Exception):
    """Raised instead of running devdb: its parser accepted the arguments."""


def parse_devdb(args: list[str], monkeypatch: pytest.MonkeyPatch) -> str | None:
    """Run scripts/devdb.py's own main() up to its parse_args, then stop before it acts."""
    spec = importlib.util.spec_from_file_location("devdb_under_test", REPO_ROOT / "scripts" / "devdb.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    real = argparse.ArgumentParser.parse_args

    def parse_then_stop(self: argparse.ArgumentParser, *a: Any, **kw: Any) -> Any:
        real(self, *a, **kw)
        raise _Parsed

    stderr = io.StringIO()
    with monkeypatch.context() as patch:
        patch.setattr(argparse.ArgumentParser, "parse_args", parse_then_stop)
        patch.setattr(sys, "argv", ["devdb.py", *args])
        try:
            with contextlib.redirect_stderr(stderr):
                module.main()
        except _Parsed:
            return None
        except SystemExit:
            return stderr.getvalue().strip() or "rejected"
    return "devdb ran past its parser"


def compose_services() -> dict[str, Any]:
    return dict(yaml.safe_load(COMPOSE_FILE.read_text())["services"])


def service_parser(service: dict[str, Any]) -> Callable[[], argparse.ArgumentParser] | None:
    """The CLI a compose service runs: the engine image's or the dashboard's module entrypoint."""
    build = service.get("build", {})
    if build.get("dockerfile") == "Dockerfile.engine" and "entrypoint" not in service:
        return lambda: build_parser()[0]
    if service.get("entrypoint") == ["python", "-m", "dashboard.cli"]:
        return dashboard_parser
    return None


def check_compose(tokens: list[str]) -> list[str]:
    """Services named by `docker compose run/up/logs` exist; `run` arguments parse with their CLI."""
    args = tokens[2:]
    position = 0
    while position < len(args) and args[position].startswith("-"):
        position += 2 if args[position] in COMPOSE_VALUE_FLAGS else 1
    if position >= len(args):
        return []
    verb, rest = args[position], args[position + 1 :]
    while rest and rest[0].startswith("-"):
        rest = rest[2:] if rest[0] in COMPOSE_VALUE_FLAGS else rest[1:]
    services = compose_services()
    if verb == "run" and rest:  # a bare `docker compose run` is prose naming the command
        if rest[0] not in services:
            return [f"unknown compose service in {' '.join(tokens)}"]
        make = service_parser(services[rest[0]])
        if make is None:
            return [f"no known CLI for service {rest[0]}"]
        error = parse_with(make(), rest[1:])
        return [f"{' '.join(tokens)}: {error}"] if error else []
    if verb in {"up", "logs", "stop", "start", "restart"}:
        return [f"unknown compose service {name}" for name in rest if name not in services]
    return []


def check_segment(tokens: list[str], monkeypatch: pytest.MonkeyPatch) -> tuple[str | None, list[str]]:
    """(kind of command checked or None, problems) for one simple command."""
    head = tokens[0]
    problems = [
        f"missing file {token}"
        for before, token in zip(["", *tokens], tokens, strict=False)
        if re.match(r"^(scripts|deploy)/[\w./-]+$", token)
        and before not in ("--env-file", "-o")  # written by make-env or the command itself, never committed
        and not (REPO_ROOT / token).exists()
    ]
    if head == "mycfa-engine":
        error = parse_with(build_parser()[0], tokens[1:])
        return "mycfa-engine", problems + ([f"{' '.join(tokens)}: {error}"] if error else [])
    if head == "mycfa-dashboard":
        error = parse_with(dashboard_parser(), tokens[1:])
        return "mycfa-dashboard", problems + ([f"{' '.join(tokens)}: {error}"] if error else [])
    if head in {"python3", "python"} and len(tokens) > 1 and tokens[1] == "scripts/devdb.py":
        error = parse_devdb(tokens[2:], monkeypatch)
        return "scripts", problems + ([f"{' '.join(tokens)}: {error}"] if error else [])
    if head == "bash" and len(tokens) > 1 and tokens[1].startswith(("scripts/", "deploy/")):
        return "scripts", problems
    if head == "docker" and tokens[1:2] == ["compose"]:
        return "docker compose", problems + check_compose(tokens)
    if head == "aws" and "--template-file" in tokens:
        return "aws", problems
    return None, problems


def test_operations_doc_commands_are_real(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every mycfa-engine, mycfa-dashboard, scripts/ and docker compose command in the guide parses."""
    kinds: dict[str, int] = {}
    problems: list[str] = []
    for line in doc_command_lines():
        try:
            parsed = list(segments(line))
        except ValueError as exc:  # shlex: unbalanced quotes
            if re.search(r"mycfa-|scripts/|docker compose", line):
                problems.append(f"cannot split {line!r}: {exc}")
            continue
        for tokens in parsed:
            kind, found = check_segment(tokens, monkeypatch)
            problems.extend(found)
            if kind:
                kinds[kind] = kinds.get(kind, 0) + 1
    assert problems == []
    # The guide really covers each program: a parser that matched nothing would prove nothing.
    assert kinds.get("mycfa-engine", 0) >= 8
    assert kinds.get("mycfa-dashboard", 0) >= 2
    assert kinds.get("scripts", 0) >= 2
    assert kinds.get("docker compose", 0) >= 6
    assert kinds.get("aws", 0) == len(TEMPLATES)  # one deploy command per template


def test_operations_doc_checker_rejects_unknown_verb(monkeypatch: pytest.MonkeyPatch) -> None:
    """The checker flags a verb or flag the real parsers do not have."""
    for line in (
        "mycfa-engine ingest --all",
        "mycfa-engine run --job everything",
        "mycfa-dashboard users promote alice",
        "python3 scripts/devdb.py reset",
        "docker compose --env-file x run --rm engine run --jobs full",
    ):
        found = [p for tokens in segments(line) for p in check_segment(tokens, monkeypatch)[1]]
        assert found, line


def test_operations_doc_alarm_sections_match_templates() -> None:
    """Each alarm the templates create has a section of the same name in the runbook, and vice versa."""
    text = RUNBOOK.read_text()
    documented = set(re.findall(r"^### ([a-z0-9-]+)$", text, flags=re.MULTILINE))
    named = set()
    for path in sorted((REPO_ROOT / "deploy" / "cloudformation").glob("*.yaml")):
        for match in re.finditer(
            r"AlarmName: !Sub mycfa-\$\{EnvironmentName\}-([a-z0-9-]+)", path.read_text()
        ):
            named.add(match.group(1).rstrip("-"))  # per-instance alarms end in -${Instance}
    # Sections may group alarms (engine-duration covers full and prices); EventBridge has engine-exit.
    grouped = {re.sub(r"-(full|prices)-duration$", "-duration", name) for name in named}
    assert grouped | {"engine-exit"} == documented
    # Every CloudWatch alarm's description links to its runbook section, and only to real ones.
    for path in sorted((REPO_ROOT / "deploy" / "cloudformation").glob("*.yaml")):
        template = path.read_text()
        links = re.findall(r"docs/runbook\.md#([a-z0-9-]+)", template)
        assert len(links) == template.count("AlarmName: !Sub"), path.name
        assert set(links) <= documented, path.name


def test_operations_doc_runbook_contents_list_every_section() -> None:
    """The runbook's table of contents names each of its sections, in order, by a working anchor."""
    text = RUNBOOK.read_text()
    contents, body = text.split("## Contents\n", 1)[1].split("\n## ", 1)
    headings = re.findall(r"^(##|###) (.+)$", "## " + body, flags=re.MULTILINE)
    expected = [
        ("  " * (len(level) - 2), title, re.sub(r"[^a-z0-9 -]", "", title.lower()).replace(" ", "-"))
        for level, title in headings
    ]
    listed = re.findall(r"^( *)- \[(.+)\]\(#(.+)\)$", contents, flags=re.MULTILINE)
    assert listed == expected
