"""`isegoria simulate` prints the capacity model's figures and refuses impossible inputs."""

from __future__ import annotations

from typer.testing import CliRunner

from isegoria.algorithms.capacity import CapacityInputs, estimate
from isegoria.cli import app

runner = CliRunner()


def test_the_default_is_the_documented_100_million_user_example() -> None:
    result = runner.invoke(app, ["simulate"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    expected = estimate(
        CapacityInputs(
            users=100_000_000,
            posts_per_user_per_day=2.0,
            reports_per_post=0.005,
            jury_share=0.1,
            jury_size=12,
            appeal_rate=0.1,
            appeal_jury_size=25,
            acceptance_rate=0.5,
            no_show_rate=0.1,
            citizen_share=0.5,
            volunteer_share=0.1,
            max_services_per_year=12,
            reply_deadline_hours=24.0,
            ballot_deadline_hours=72.0,
        )
    )
    assert "cases per day" in result.output and "100,000.00" in result.output
    assert f"{expected.summons_per_day:,.2f}" in result.output
    assert f"{expected.hours_to_verdict:,.2f}" in result.output


def test_an_impossible_rate_is_refused_with_its_name() -> None:
    result = runner.invoke(app, ["simulate", "--acceptance-rate", "2"])
    assert result.exit_code == 2
    assert "acceptance_rate" in result.output
