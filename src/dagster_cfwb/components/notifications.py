"""`NotificationsComponent`: tell people about failed runs, failed checks and successes, from YAML."""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable
from typing import Annotated, Literal

import dagster as dg
from dagster.components import Resolver
from pydantic import field_validator, model_validator

from dagster_cfwb.components.component_base import CfwbComponent
from dagster_cfwb.components.scaffolders import NotificationsScaffolder
from dagster_cfwb.notifications.email_smtp import send_email
from dagster_cfwb.notifications.message import Notification
from dagster_cfwb.notifications.ntfy import send_ntfy
from dagster_cfwb.notifications.teams import send_teams
from dagster_cfwb.resources.secrets import RedactedReprMixin
from dagster_cfwb.sensors.run_notifications import RunFilter, build_notification_sensors
from dagster_cfwb.transfer.identifiers import validate_identifier

__all__ = ["EmailModel", "NotificationsComponent", "NtfyModel", "TeamsModel", "Teams", "Ntfy", "Email"]


class Teams(RedactedReprMixin, dg.Model, dg.Resolvable):
    """An MS Teams channel, reached through a Workflows webhook."""

    webhook_url: Annotated[
        str,
        Resolver.default(
            description=(
                "The channel's Workflows webhook URL (Teams › channel › Workflows › \"Post to a channel when a "
                'webhook request is received"). It is a secret: write `"{{ env(\'TEAMS_WEBHOOK_URL\') }}"`.'
            )
        ),
    ]
    timeout_seconds: Annotated[
        float, Resolver.default(description="Seconds to wait for Teams (default 10).")
    ] = 10.0

    def __repr_args__(self):
        yield "webhook_url", "**********"

    @field_validator("webhook_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        if value and not value.startswith(("https://", "http://")):
            raise ValueError("`webhook_url` must be an http(s) URL; is the environment variable set?")
        return value


TeamsModel = Teams  # former name; the UI shows a YAML block as `<class name>Model`


class Ntfy(RedactedReprMixin, dg.Model, dg.Resolvable):
    """An ntfy topic (push notifications on phones and desktops)."""

    topic: Annotated[str, Resolver.default(description="Topic to publish to, e.g. `enseignement-alerts`.")]
    server: Annotated[
        str,
        Resolver.default(
            description="ntfy server URL (default `https://ntfy.sh`; use your own in production)."
        ),
    ] = "https://ntfy.sh"
    token: Annotated[
        str | None,
        Resolver.default(
            description="Access token for a protected topic; write `\"{{ env('NTFY_TOKEN') }}\"`."
        ),
    ] = None
    priority: Annotated[
        int | None,
        Resolver.default(
            description="1 (min) to 5 (max); default 4 for failures, 3 for failed checks, 2 for successes."
        ),
    ] = None

    @field_validator("topic")
    @classmethod
    def _check_topic(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", value):
            raise ValueError(
                f"`topic` may hold letters, digits, `-` and `_` only (at most 64); found {value!r}"
            )
        return value


NtfyModel = Ntfy  # former name; the UI shows a YAML block as `<class name>Model`


class Email(RedactedReprMixin, dg.Model, dg.Resolvable):
    """E-mail through an SMTP server."""

    host: Annotated[
        str,
        Resolver.default(
            description="SMTP server host name, e.g. `smtp.example.org`. Empty: e-mail is skipped."
        ),
    ]
    port: Annotated[
        int, Resolver.default(description="SMTP port (default 587, the STARTTLS submission port).")
    ] = 587
    sender: Annotated[str, Resolver.default(description="From address, e.g. `dagster@example.org`.")]
    to: Annotated[list[str], Resolver.default(description="Recipients, e.g. `[anne.martin@example.org]`.")]
    user: Annotated[
        str | None,
        Resolver.default(description="User to sign in with, if the server asks (default: no sign-in)."),
    ] = None
    password: Annotated[
        str | None, Resolver.default(description="Password; write `\"{{ env('SMTP_PASSWORD') }}\"`.")
    ] = None
    starttls: Annotated[
        bool,
        Resolver.default(
            description="Upgrade the connection to TLS before signing in (default true; keep it)."
        ),
    ] = True
    ca_file: Annotated[
        str | None,
        Resolver.default(
            description="CA certificate file to verify the server with (default: the system's CAs)."
        ),
    ] = None

    @field_validator("to")
    @classmethod
    def _check_to(cls, value: list[str]) -> list[str]:
        bad = [v for v in value if "@" not in v]
        if bad or not value:
            raise ValueError(f"`to` needs e-mail addresses; found {bad or 'none'}")
        return value


EmailModel = Email  # former name; the UI shows a YAML block as `<class name>Model`


@dg.scaffold_with(NotificationsScaffolder)
class NotificationsComponent(CfwbComponent):
    """Notify MS Teams, ntfy and/or e-mail when runs fail, checks fail or runs succeed.

    One rule = the events to watch (`events`), which runs (`jobs`, `asset_prefixes`,
    `code_locations`; empty = all runs of this code location) and where to send (`teams`,
    `ntfy`, `email`, any combination). Messages carry the job, the assets, the error and a link to
    the run. Secrets (webhook URL, token, password) come from environment variables through
    `{{ env('NAME') }}`.

    Example `defs.yaml`:

    ```yaml
    type: dagster_cfwb.NotificationsComponent
    attributes:
      name: enseignement_alerts
      events: [run_failure, check_failure]
      dagster_url: https://dagster.intranet.example
      teams: {webhook_url: "{{ env('TEAMS_WEBHOOK_URL') }}"}
      email:
        host: smtp.intranet.example
        sender: dagster@example.org
        to: [data@example.org]
    requirements:
      env: [TEAMS_WEBHOOK_URL]
    ```
    """

    name: Annotated[
        str | None,
        Resolver.default(
            description="Name of this rule (letters, digits, `_`), used for its sensors; default: the folder name.",
            examples=["enseignement_alerts"],
        ),
    ] = None
    events: Annotated[
        list[Literal["run_failure", "check_failure", "run_success"]],
        Resolver.default(
            description=(
                "When to notify: `run_failure` (a run failed), `check_failure` (a run finished with failed "
                "checks), `run_success`. Default `[run_failure]`."
            ),
            examples=[["run_failure", "check_failure"]],
        ),
    ] = ["run_failure"]  # pydantic copies defaults
    jobs: Annotated[
        list[str] | None,
        Resolver.default(
            description="Only runs of these jobs (default: every job).", examples=[["imports_quotidiens"]]
        ),
    ] = None
    asset_prefixes: Annotated[
        list[str] | None,
        Resolver.default(
            description="Only runs that include an asset under one of these prefixes, e.g. `[enseignement/stg]`.",
            examples=[["enseignement/stg"]],
        ),
    ] = None
    code_locations: Annotated[
        list[str] | None,
        Resolver.default(
            description="Watch runs of these code locations (default: this code location only).",
            examples=[["enseignement"]],
        ),
    ] = None
    dagster_url: Annotated[
        str | None,
        Resolver.default(
            description="Address of the Dagster UI, e.g. `https://dagster.intranet.example`, to link each message to its run.",
            examples=["https://dagster.intranet.example"],
        ),
    ] = None
    teams: Annotated[
        TeamsModel | None,
        Resolver.default(
            description="Post an Adaptive Card to an MS Teams channel.",
            examples=[{"webhook_url": "{{ env('TEAMS_WEBHOOK_URL') }}"}],
        ),
    ] = None
    ntfy: Annotated[
        NtfyModel | None,
        Resolver.default(
            description="Publish to an ntfy topic.",
            examples=[{"topic": "enseignement-alertes", "server": "https://ntfy.intranet.example"}],
        ),
    ] = None
    email: Annotated[
        EmailModel | None,
        Resolver.default(
            description="Send an e-mail.",
            examples=[
                {"host": "smtp.intranet.example", "sender": "dagster@example.org", "to": ["data@example.org"]}
            ],
        ),
    ] = None

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str | None) -> str | None:
        return validate_identifier(value, what="notification rule") if value is not None else None

    @model_validator(mode="after")
    def _check_channels(self):
        if not (self.teams or self.ntfy or self.email):
            raise ValueError("give at least one channel: `teams`, `ntfy` or `email`")
        if not self.events:
            raise ValueError("`events` needs at least one of `run_failure`, `check_failure`, `run_success`")
        return self

    def senders(self) -> list[tuple[str, Callable[[Notification], None]]]:
        """(channel, function) pairs sending a Notification."""
        out: list[tuple[str, Callable[[Notification], None]]] = []
        if self.teams and self.teams.webhook_url:
            out.append(("MS Teams", functools.partial(_teams, self.teams)))
        if self.ntfy and self.ntfy.server:
            out.append((f"ntfy topic `{self.ntfy.topic}`", functools.partial(_ntfy, self.ntfy)))
        if self.email and self.email.host:
            out.append((f"e-mail to {', '.join(self.email.to)}", functools.partial(_email, self.email)))
        return out

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        name = self.name or _name_from_path(context, self)
        if not self.senders() and name not in _WARNED_WITHOUT_CHANNEL:
            # Definitions are loaded several times per process (dg, the webserver, each run worker
            # re-imports): say it once per rule and process, not at every load.
            _WARNED_WITHOUT_CHANNEL.add(name)
            dg.get_dagster_logger().warning(
                f"Notification rule `{name}`: no channel is configured (empty webhook URL, ntfy server and "
                "SMTP host): its sensors will skip every run."
            )
        sensors = build_notification_sensors(
            name=name,
            senders=self.senders(),
            run_filter=RunFilter(
                jobs=tuple(self.jobs or ()),
                asset_prefixes=tuple(self.asset_prefixes or ()),
                code_locations=tuple(self.code_locations or ()),
            ),
            on_run_failure="run_failure" in self.events,
            on_check_failure="check_failure" in self.events,
            on_run_success="run_success" in self.events,
            dagster_url=self.dagster_url,
        )
        return dg.Definitions(sensors=sensors)


_WARNED_WITHOUT_CHANNEL: set[str] = set()


def _name_from_path(context: dg.ComponentLoadContext, component: NotificationsComponent) -> str:
    """`notify_<folder>_<hash>`: stable, and distinct for two rules in the same folder."""
    folder = context.path.name if context.path.suffix == "" else context.path.parent.name
    stem = re.sub(r"\W", "_", folder)
    digest = hashlib.sha1(
        repr(
            (
                component.events,
                component.jobs,
                component.asset_prefixes,
                component.code_locations,
                [bool(component.teams), bool(component.ntfy), bool(component.email)],
            )
        ).encode(),
        usedforsecurity=False,
    ).hexdigest()[:6]
    return f"notify_{stem}_{digest}"[:60]


def _teams(config: TeamsModel, notification) -> None:
    send_teams(config.webhook_url, notification, timeout=config.timeout_seconds)


def _ntfy(config: NtfyModel, notification) -> None:
    send_ntfy(config.server, config.topic, notification, token=config.token, priority=config.priority)


def _email(config: EmailModel, notification) -> None:
    send_email(
        notification,
        host=config.host,
        port=config.port,
        sender=config.sender,
        to=config.to,
        user=config.user,
        password=config.password,
        starttls=config.starttls,
        ca_file=config.ca_file,
    )
