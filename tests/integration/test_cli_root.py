"""The varflow root command: version, help, exit codes, and the checkout entry point bin/varflow."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import varflow
from varflow.cli.main import app

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()


def test_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"varflow {varflow.__version__}"


def test_help_lists_only_real_groups():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for group in ("simulate", "run", "demo"):
        assert group in result.output
    # every listed group must answer --help itself
    from typer.main import get_command

    for name, command in get_command(app).commands.items():
        sub = runner.invoke(app, [name, "--help"])
        assert sub.exit_code == 0, (name, sub.output)


def test_unknown_command_and_option_are_usage_errors():
    assert runner.invoke(app, ["no-such-group"]).exit_code == 2
    assert runner.invoke(app, ["--no-such-option"]).exit_code == 2


@pytest.mark.parametrize("package_importable", [True, False])
def test_bin_varflow_runs_from_a_checkout(package_importable, tmp_path):
    env = dict(os.environ)
    if not package_importable:
        # shadow the installed package with one that fails to import: bin/varflow must fall back to ../src
        (tmp_path / "varflow.py").write_text("raise ImportError('not installed')\n")
        env["PYTHONPATH"] = str(tmp_path)
    out = subprocess.run([sys.executable, str(REPO / "bin" / "varflow"), "--version"], env=env,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"varflow {varflow.__version__}"


def test_run_needs_exactly_one_input_source(tmp_path):
    from varflow.errors import VarflowError
    from varflow.pipelines import available_workflows, run_workflow

    workflows = available_workflows()
    if not workflows:
        pytest.skip("no workflow pipeline installed yet")
    with pytest.raises(VarflowError, match="exactly one of --cohort DIR or --params FILE"):
        run_workflow(workflows[0], tmp_path, cohort=None, params=None)
