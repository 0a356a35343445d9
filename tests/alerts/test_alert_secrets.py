"""Alert channels read only the variables meant for them, and never show a secret (issue 17, item 3).

The probe: a rule whose `webhook_url_env` named the X bearer token stored urllib's
"unknown url type: '<the token>'" as its delivery error, shown to viewers by the API and the CLI.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tesoro.alerts.channels import RedactingChannel, channels_for
from tesoro.alerts.delivery import deliver_pending
from tesoro.alerts.models import Outgoing, SendResult
from tesoro.alerts.rules import evaluate_rules
from tesoro.api.app import init_state
from tesoro.api.routes.alerts import router
from tesoro.cli.alerts import alerts_app
from tesoro.settings import AlertRuleSettings, ConfigError, Settings, load_settings
from tesoro.simulator.faults import Fault
from tesoro.simulator.server import SimulatorServer
from tesoro.simulator.slack import WEBHOOK_ROUTE
from tesoro.store.alerts import create_rule, list_alerts, list_deliveries
from tesoro.store.engine import session_scope
from worlds.alerts import T0, Seeder, make_settings

SeederFor = Callable[[Settings], Seeder]
MIN = timedelta(minutes=1)
# What an X bearer token looks like (made up).
BEARER = "AAAAAAAAAAAAAAAAAAAAAMLheAAAAAAA0%2BuSeid%2BULvsea4JtiGRiSDSJSI%3DEUifiRBkKG5E2XzMDjRf"
X_SOURCE = {
    "name": "x-andes",
    "platform": "x",
    "query": "andes",
    "credentials": {"bearer_token_env": "X_BEARER"},
}


def client_for(seeder: Seeder) -> TestClient:
    app = FastAPI()
    init_state(app, seeder.settings, seeder.engine)
    app.include_router(router)
    return TestClient(app)


# --- refused where a rule is made: the API (422) and the settings file ------------------------------


@pytest.mark.parametrize(
    ("env_name", "reason"),
    [
        ("TESORO_X_BEARER_TOKEN", "not a variable alert channels may read"),
        ("X_BEARER", "holds a credential of source 'x-andes'"),
        ("TESORO_DATABASE_URL", "one of Tesoro's own settings variables"),
        ("TESORO_API__SESSION_SECRET", "one of Tesoro's own settings variables"),
        ("AWS_SECRET_ACCESS_KEY", "not a variable alert channels may read"),
    ],
)
def test_the_api_refuses_a_rule_naming_a_variable_that_is_not_an_alert_secret(
    seeder_for: SeederFor, env_name: str, reason: str
) -> None:
    seeder = seeder_for(make_settings(sources=[X_SOURCE]))
    client = client_for(seeder)
    for key in ("webhook_url_env", "json_webhook_url_env"):
        response = client.post(
            "/api/alerts/rules", json={"name": "leak", "kind": "new_mention", key: env_name}
        )
        assert response.status_code == 422, response.text
        assert reason in response.text and key in response.text
    created = client.post("/api/alerts/rules", json={"name": "ok", "kind": "new_mention"})
    assert created.status_code == 201
    patched = client.patch("/api/alerts/rules/ok", json={"webhook_url_env": env_name})
    assert patched.status_code == 422 and reason in patched.text


def test_the_api_takes_the_documented_names(seeder_for: SeederFor) -> None:
    client = client_for(seeder_for(make_settings()))
    for i, name in enumerate(
        ["SLACK_WEBHOOK_URL", "ACME_SLACK_WEBHOOK", "OPS_WEBHOOK_URL", "TESORO_SLACK_HOOK"]
    ):
        response = client.post(
            "/api/alerts/rules", json={"name": f"r{i}", "kind": "new_mention", "webhook_url_env": name}
        )
        assert response.status_code == 201, (name, response.text)


def write_config(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "tesoro.toml"
    path.write_text(
        '[[brands]]\nname = "Andes Outdoor"\n\n'
        '[[queries]]\nname = "andes"\nbrand = "Andes Outdoor"\nquery = "andes"\n\n'
        '[[sources]]\nname = "x-andes"\nplatform = "x"\nquery = "andes"\n'
        'credentials = { bearer_token_env = "TESORO_X_BEARER_TOKEN" }\n\n' + extra,
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize(
    ("extra", "where"),
    [
        (
            '[[alerts]]\nname = "m"\nkind = "new_mention"\nwebhook_url_env = "TESORO_X_BEARER_TOKEN"\n',
            "alerts[0].webhook_url_env",
        ),
        (
            '[[alerts]]\nname = "m"\nkind = "new_mention"\njson_webhook_url_env = "DATABASE_PASSWORD"\n',
            "alerts[0].json_webhook_url_env",
        ),
        ('[slack]\nbot_token_env = "TESORO_X_BEARER_TOKEN"\n', "slack.bot_token_env"),
        ('[slack]\nwebhook_url_env = "HOME"\n', "slack.webhook_url_env"),
    ],
)
def test_the_settings_file_refuses_the_same_names_at_start_up(tmp_path: Path, extra: str, where: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(write_config(tmp_path, extra), environ={"TESORO_X_BEARER_TOKEN": BEARER})
    assert where in str(info.value) and BEARER not in str(info.value)


def test_the_allow_list_is_configurable_but_never_reaches_a_source_credential(tmp_path: Path) -> None:
    rule = '[[alerts]]\nname = "m"\nkind = "new_mention"\njson_webhook_url_env = "PAGERDUTY_HOOK"\n'
    with pytest.raises(ConfigError, match="PAGERDUTY_HOOK is not a variable"):
        load_settings(write_config(tmp_path, rule), environ={})
    allowed = load_settings(
        write_config(tmp_path, rule + '\n[secrets]\nalert_env_allow = ["PAGERDUTY_HOOK"]\n'), environ={}
    )
    assert allowed.alerts[0].json_webhook_url_env == "PAGERDUTY_HOOK"
    everything = '[secrets]\nalert_env_allow = ["*"]\n[slack]\nwebhook_url_env = "TESORO_X_BEARER_TOKEN"\n'
    with pytest.raises(ConfigError, match="holds a credential of source 'x-andes'"):
        load_settings(write_config(tmp_path, everything), environ={})
    with pytest.raises(ConfigError, match="alert_env_allow"):
        load_settings(write_config(tmp_path, '[secrets]\nalert_env_allow = ["slack_*"]\n'), environ={})


# --- never shown: the delivery log, the API, the CLI and the logs -----------------------------------


def assert_nowhere(seeder: Seeder, secret: str, caplog: pytest.LogCaptureFixture) -> str:
    """The secret is in no stored error, API answer, CLI line or log record; returns the stored error."""
    with session_scope(seeder.engine) as session:
        [delivery] = list_deliveries(session)
        [alert] = list_alerts(session)
    stored = f"{delivery.error} {delivery.response} {alert.last_error}"
    assert secret not in stored
    client = client_for(seeder)
    for path in ("/api/alerts/deliveries", "/api/alerts", "/api/alerts/rules"):
        answer = client.get(path)
        assert answer.status_code == 200 and secret not in answer.text
    assert all(secret not in record.getMessage() for record in caplog.records)
    return delivery.error or ""


def test_a_rule_stored_before_the_check_is_refused_at_delivery_without_reading_the_variable(
    seeder_for: SeederFor, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    """The probe's exact case: webhook_url_env = the X bearer token (made through the API earlier)."""
    seeder = seeder_for(make_settings())
    evaluate_rules(seeder.engine, seeder.settings, now=T0)
    with session_scope(seeder.engine) as session:
        rule = AlertRuleSettings(
            name="leak", kind="new_mention", query="andes", webhook_url_env="TESORO_X_BEARER_TOKEN"
        )
        create_rule(session, rule, now=T0)
    evaluate_rules(seeder.engine, seeder.settings, now=T0)
    seeder.posts(["cumbre"], collected_at=T0 + MIN)
    evaluate_rules(seeder.engine, seeder.settings, now=T0 + 2 * MIN)
    caplog.set_level(logging.DEBUG)
    report = deliver_pending(
        seeder.engine, seeder.settings, now=T0 + 3 * MIN, environ={"TESORO_X_BEARER_TOKEN": BEARER}
    )
    assert report.failed_messages == 1 and report.pending == 1
    error = assert_nowhere(seeder, BEARER, caplog)
    assert "TESORO_X_BEARER_TOKEN is not a variable alert channels may read" in error
    assert "unknown url type" not in error


def test_a_webhook_variable_holding_no_url_is_named_but_its_value_is_never_shown(
    seeder_for: SeederFor, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    """An allowed name holding a secret that is not a URL (a token pasted into the wrong variable)."""
    seeder = seeder_for(
        make_settings(
            [
                {
                    "name": "mentions",
                    "kind": "new_mention",
                    "query": "andes",
                    "webhook_url_env": "ACME_SLACK_WEBHOOK",
                }
            ]
        )
    )
    evaluate_rules(seeder.engine, seeder.settings, now=T0)
    seeder.posts(["cumbre"], collected_at=T0 + MIN)
    evaluate_rules(seeder.engine, seeder.settings, now=T0 + 2 * MIN)
    caplog.set_level(logging.DEBUG)
    deliver_pending(seeder.engine, seeder.settings, now=T0 + 3 * MIN, environ={"ACME_SLACK_WEBHOOK": BEARER})
    error = assert_nowhere(seeder, BEARER, caplog)
    assert "ACME_SLACK_WEBHOOK does not hold an http(s) URL (its value is not shown)" in error


def test_the_cli_log_shows_the_refusal_not_the_value(sim: SimulatorServer, tmp_path: Path) -> None:
    config = tmp_path / "tesoro.toml"
    config.write_text(
        '[database]\npath = "alerts.db"\n\n[slack]\nwebhook_url_env = "ACME_SLACK_WEBHOOK"\n\n'
        '[[brands]]\nname = "Andes Outdoor"\n',
        encoding="utf-8",
    )
    runner = CliRunner()
    env = {"ACME_SLACK_WEBHOOK": BEARER, "COLUMNS": "250"}
    tested = runner.invoke(alerts_app, ["test", "-c", str(config)], env=env)
    assert tested.exit_code == 1 and BEARER not in tested.output
    assert "does not hold an http(s) URL" in tested.output
    logged = runner.invoke(alerts_app, ["log", "-c", str(config)], env=env)
    assert logged.exit_code == 0 and BEARER not in logged.output and "failed" in logged.output


def test_a_channel_error_that_echoes_its_secret_is_redacted(caplog: pytest.LogCaptureFixture) -> None:
    """Whatever a client library puts in an error (urllib's "unknown url type: '<value>'"), it is redacted."""

    class Echoing:
        key = "slack:webhook:X"

        def send(self, outgoing: Outgoing) -> SendResult:
            raise ValueError(f"unknown url type: {BEARER!r}")

    class Answering:
        key = "webhook:X"

        def send(self, outgoing: Outgoing) -> SendResult:
            return SendResult("failed", error=f"HTTP 400: bad hook https://user:pw@hooks.example/{BEARER}")

    caplog.set_level(logging.DEBUG)
    raised = RedactingChannel(Echoing(), (BEARER,)).send(Outgoing("r", "test"))
    assert raised.status == "failed" and raised.error == "ValueError: unknown url type: '***'"
    answered = RedactingChannel(Answering(), (BEARER,)).send(Outgoing("r", "test"))
    assert answered.error == "HTTP 400: bad hook https://user:***@hooks.example/***"
    assert all(BEARER not in r.getMessage() for r in caplog.records)


def test_the_slack_client_logs_never_carry_the_webhook_url(
    sim: SimulatorServer, seeder_for: SeederFor, caplog: pytest.LogCaptureFixture
) -> None:
    """slack_sdk logs the URL it retries; for a webhook that URL is the secret."""
    hook = f"{sim.base_url}/slack/hooks/{sim.state.credentials.slack_webhook_path}"
    settings = make_settings(slack={"webhook_url_env": "SLACK_WEBHOOK_URL"})
    sim.state.faults.inject(WEBHOOK_ROUTE, Fault.SERVER_ERROR)
    caplog.set_level(logging.DEBUG)
    [channel] = channels_for(None, settings, {"SLACK_WEBHOOK_URL": hook}, sleep=lambda _s: None)
    assert channel.send(Outgoing("r", "test")).ok
    messages = [r.getMessage() for r in caplog.records]
    assert any("retry" in m for m in messages), "slack_sdk logged its retry"
    assert all(sim.state.credentials.slack_webhook_path not in m for m in messages)
