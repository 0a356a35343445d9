"""`tesoro alerts ...` end to end: a settings file, the simulator's Slack webhook, the store."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from tesoro.cli.alerts import alerts_app
from tesoro.simulator.server import SimulatorServer

CONFIG = """
[database]
path = "alerts.db"

[slack]
webhook_url_env = "ACME_SLACK_WEBHOOK"
app_base_url = "https://tesoro.example"

[[brands]]
name = "Andes Outdoor"

[[queries]]
name = "andes"
brand = "Andes Outdoor"
query = "cumbre"

[[alerts]]
name = "mentions"
kind = "new_mention"
query = "andes"
cooldown = "10m"
"""


def test_the_alerts_commands(sim: SimulatorServer, tmp_path: Path) -> None:
    config = tmp_path / "tesoro.toml"
    config.write_text(CONFIG, encoding="utf-8")
    hook = f"{sim.base_url}/slack/hooks/{sim.state.credentials.slack_webhook_path}"
    runner = CliRunner()

    def run(*args: str, env: dict[str, str] | None = None) -> str:
        result = runner.invoke(
            alerts_app, [*args, "-c", str(config)], env=env or {"ACME_SLACK_WEBHOOK": hook, "COLUMNS": "250"}
        )
        assert result.exit_code == 0, result.output
        return result.output

    assert "delivered" in run("test", "--rule", "mentions", "--message", "hello from the test")
    assert sim.state.slack_messages[-1]["text"] == "hello from the test"

    assert "mentions" in run("evaluate")
    assert "mentions" in run("rules")
    assert "0 due" in run("deliver")
    output = run("log")
    assert "slack:webhook:ACME_SLACK_WEBHOOK" in output and "test" in output
    assert "0 pending" in output

    failed = runner.invoke(alerts_app, ["test", "-c", str(config)], env={"ACME_SLACK_WEBHOOK": ""})
    assert failed.exit_code == 1 and "ACME_SLACK_WEBHOOK is not set" in failed.output
    unknown = runner.invoke(alerts_app, ["test", "--rule", "nope", "-c", str(config)])
    assert unknown.exit_code == 2 and "no alert rule named 'nope'" in unknown.output
