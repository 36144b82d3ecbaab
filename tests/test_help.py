"""`--help` a newcomer can use: real metavars, every option described, an example per command, the exit codes."""

from __future__ import annotations

import re

import typer
from typer.testing import CliRunner

from auditor.cli import app

runner = CliRunner()


def _commands():
    return typer.main.get_command(app).commands


def test_every_command_has_an_example_and_described_options():
    commands = _commands()
    assert {"run", "collect", "check", "report", "verify", "gate", "demo", "simulate", "checks", "validate", "roles"} <= set(commands)
    for name, command in commands.items():
        assert command.epilog and command.epilog.startswith("Example: auditor "), name
        for param in command.params:
            if param.name == "help":
                continue
            assert getattr(param, "help", None), f"{name} {param.opts}: no help text"


def test_help_shows_no_python_types_and_the_exit_codes():
    result = runner.invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "Exit codes: 0 done; 1 drift" in result.output and "Precedence: 2 and 4 end the run" in result.output
    assert "--install-completion" in result.output  # typer's shell completion
    for name in _commands():
        text = runner.invoke(app, [name, "--help"], env={"COLUMNS": "200"}).output
        assert not re.search(r"<(bool|list\[|path|str|int|float)", text), (name, text)
        assert "Example: auditor" in text, name
