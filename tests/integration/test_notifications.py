"""Notifications delivered to a real SMTP server (STARTTLS + sign-in) and an HTTP server standing in for Teams and ntfy."""

from __future__ import annotations

import sys
from pathlib import Path

import dagster as dg
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from components_sandbox import yaml_defs
from conftest import free_port
from notification_servers import start_http_recorder, start_smtp_server

from dagster_cfwb.notifications import (
    Notification,
    NotificationError,
    adaptive_card,
    send_email,
    send_ntfy,
    send_teams,
)
from dagster_cfwb.sensors import RunFilter

pytestmark = [pytest.mark.http, pytest.mark.smtp]

FAILURE = Notification(
    level="failure",
    title="Run failed: import_eleves",
    summary="The run of `import_eleves` failed.",
    run_id="1234",
    run_url="https://dagster.example/runs/1234",
    job_name="import_eleves",
    code_location="enseignement",
    assets=["enseignement/stg/eleves"],
    error="ConnectionError: server closed the connection",
)


@pytest.fixture
def http_recorder():
    server, recorder = start_http_recorder()
    try:
        yield recorder
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def smtp_server(tmp_path):
    controller, info = start_smtp_server(tmp_path, free_port())
    try:
        yield info
    finally:
        controller.stop()


def test_teams_adaptive_card(http_recorder):
    send_teams(f"{http_recorder.url}/webhook/abc", FAILURE)
    [request] = http_recorder.requests
    assert request.path == "/webhook/abc"
    [attachment] = request.body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["body"][0]["text"] == "❌ Run failed: import_eleves"
    facts = {f["title"]: f["value"] for f in card["body"][2]["facts"]}
    assert facts["Assets"] == "enseignement/stg/eleves" and facts["Run"] == "1234"
    assert card["actions"][0]["url"] == "https://dagster.example/runs/1234"
    assert request.body == adaptive_card(FAILURE)


def test_ntfy_with_token(http_recorder):
    send_ntfy(http_recorder.url, "enseignement-alerts", FAILURE, token="tk_secret")
    [request] = http_recorder.requests
    assert request.headers["authorization"] == "Bearer tk_secret"
    assert request.body["topic"] == "enseignement-alerts" and request.body["priority"] == 4
    assert request.body["click"] == "https://dagster.example/runs/1234"
    assert "ConnectionError: server closed the connection" in request.body["message"]


def test_email_with_starttls_and_sign_in(smtp_server):
    send_email(
        FAILURE,
        host=smtp_server.host,
        port=smtp_server.port,
        sender="dagster@example.org",
        to=["anne@example.org"],
        user=smtp_server.user,
        password=smtp_server.password,
        ca_file=smtp_server.ca_file,
    )
    [(recipients, message)] = smtp_server.messages
    assert recipients == ["anne@example.org"]
    assert message["Subject"] == "❌ Run failed: import_eleves"
    assert "Open the run: https://dagster.example/runs/1234" in message.get_payload(decode=True).decode()


def test_delivery_errors_never_show_secrets(http_recorder, smtp_server):
    with pytest.raises(NotificationError) as teams_error:
        send_teams(f"{http_recorder.url}/fail/sig=SECRETSIG", FAILURE)
    assert "HTTP 500" in str(teams_error.value) and "SECRETSIG" not in str(teams_error.value)
    with pytest.raises(NotificationError) as email_error:
        send_email(
            FAILURE,
            host=smtp_server.host,
            port=smtp_server.port,
            sender="d@example.org",
            to=["a@example.org"],
            user=smtp_server.user,
            password="wrong-password-123",
            ca_file=smtp_server.ca_file,
            timeout=3,
        )
    assert "wrong-password-123" not in str(email_error.value) and "127.0.0.1" in str(email_error.value)
    with pytest.raises(NotificationError, match="CERTIFICATE_VERIFY_FAILED"):  # STARTTLS verifies the server
        send_email(
            FAILURE,
            host=smtp_server.host,
            port=smtp_server.port,
            sender="d@example.org",
            to=["a@example.org"],
            timeout=3,
        )


def _component_yaml(http_url: str, smtp) -> str:
    return f"""
    type: dagster_cfwb.NotificationsComponent
    attributes:
      name: enseignement_alerts
      events: [run_failure, check_failure]
      asset_prefixes: [enseignement]
      dagster_url: https://dagster.example
      teams: {{webhook_url: "{{{{ env('CFWB_TEST_TEAMS_URL') }}}}"}}
      ntfy: {{server: "{http_url}", topic: alerts, token: "{{{{ env('CFWB_TEST_NTFY_TOKEN') }}}}"}}
      email:
        host: {smtp.host}
        port: {smtp.port}
        sender: dagster@example.org
        to: [anne@example.org]
        user: {smtp.user}
        password: "{{{{ env('CFWB_TEST_SMTP_PASSWORD') }}}}"
        ca_file: {smtp.ca_file}
    requirements:
      env: [CFWB_TEST_TEAMS_URL, CFWB_TEST_NTFY_TOKEN, CFWB_TEST_SMTP_PASSWORD]
    """


@dg.asset(key=["enseignement", "stg", "fragile"])
def fragile():
    raise RuntimeError("Denodo view bv_eleves is unavailable")


@dg.asset(
    key=["enseignement", "stg", "checked"],
    check_specs=[dg.AssetCheckSpec("plausible", asset=["enseignement", "stg", "checked"])],
)
def checked():
    yield dg.MaterializeResult()
    yield dg.AssetCheckResult(
        passed=False, severity=dg.AssetCheckSeverity.WARN, description="3 implausible ages"
    )


def test_component_sensors_notify_every_channel(http_recorder, smtp_server, monkeypatch):
    monkeypatch.setenv("CFWB_TEST_TEAMS_URL", f"{http_recorder.url}/teams/hook")
    monkeypatch.setenv("CFWB_TEST_NTFY_TOKEN", "tk_123")
    monkeypatch.setenv("CFWB_TEST_SMTP_PASSWORD", smtp_server.password)
    instance = dg.DagsterInstance.ephemeral()
    with yaml_defs({"notify/defs.yaml": _component_yaml(http_recorder.url, smtp_server)}) as defs:
        sensors = {s.name: s for s in defs.sensors}
    assert set(sensors) == {"enseignement_alerts_on_run_failure", "enseignement_alerts_on_run_success"}

    failed = dg.materialize([fragile], instance=instance, raise_on_error=False)
    context = dg.build_run_status_sensor_context(
        sensor_name="enseignement_alerts_on_run_failure",
        dagster_event=failed.get_run_failure_event(),
        dagster_instance=instance,
        dagster_run=failed.dagster_run,
    ).for_run_failure()
    sensors["enseignement_alerts_on_run_failure"](context)

    teams = [r for r in http_recorder.requests if r.path == "/teams/hook"]
    ntfy = [r for r in http_recorder.requests if r.path == "/"]
    assert len(teams) == 1 and len(ntfy) == 1 and len(smtp_server.messages) == 1
    card_text = str(teams[0].body)
    assert "Run failed" in card_text and "Denodo view bv_eleves is unavailable" in card_text
    assert f"https://dagster.example/runs/{failed.run_id}" in card_text
    assert ntfy[0].headers["authorization"] == "Bearer tk_123"
    assert smtp_server.messages[0][1]["Subject"].startswith("❌ Run failed")

    warned = dg.materialize([checked], instance=instance)
    context = dg.build_run_status_sensor_context(
        sensor_name="enseignement_alerts_on_run_success",
        dagster_event=warned.get_run_success_event(),
        dagster_instance=instance,
        dagster_run=warned.dagster_run,
    )
    sensors["enseignement_alerts_on_run_success"](context)
    warning = [r for r in http_recorder.requests if r.path == "/teams/hook"][-1]
    assert "Checks failed" in str(warning.body)
    assert "enseignement/stg/checked: plausible (warn) — 3 implausible ages" in str(warning.body)
    assert len(smtp_server.messages) == 2


def test_run_filter_selects_jobs_and_asset_prefixes():
    run = dg.DagsterRun(
        job_name="import_job", run_id="r1", asset_selection={dg.AssetKey(["enseignement", "stg", "x"])}
    )
    assert RunFilter().matches(run)
    assert RunFilter(asset_prefixes=["enseignement/stg"]).matches(run)
    assert not RunFilter(asset_prefixes=["culture"]).matches(run)
    assert not RunFilter(asset_prefixes=["enseignement/st"]).matches(run)
    assert RunFilter(jobs=["import_job"]).matches(run) and not RunFilter(jobs=["other"]).matches(run)


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1:9/workflows/x y?sig=SECRETSIG",
        "https://127.0.0.1:9/workflows/x?sig=SECRET\tSIG",
        "https://127.0.0.1:abc/workflows/x?sig=SECRETSIG",
    ],
)
def test_malformed_webhook_url_error_hides_the_secret(url):
    with pytest.raises(NotificationError, match="not valid") as error:
        send_teams(url, FAILURE, timeout=2)
    assert "SECRET" not in str(error.value) and "sig=" not in str(error.value)


def test_ntfy_server_with_credentials_in_url_hides_them():
    with pytest.raises(NotificationError) as error:
        send_ntfy(f"http://alerts:PASSW0RD@127.0.0.1:{free_port()}", "alerts", FAILURE, timeout=2)
    assert "PASSW0RD" not in str(error.value) and "127.0.0.1" in str(error.value)
