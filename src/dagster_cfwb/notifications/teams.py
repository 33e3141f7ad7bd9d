"""MS Teams: post an Adaptive Card to a channel through a Workflows ("Power Automate") webhook."""

from __future__ import annotations

from typing import Any

from dagster_cfwb.notifications.http_post import post_json
from dagster_cfwb.notifications.message import Notification

__all__ = ["adaptive_card", "send_teams"]

_COLORS = {"failure": "Attention", "warning": "Warning", "success": "Good"}


def adaptive_card(notification: Notification) -> dict[str, Any]:
    """The webhook payload: a message with one Adaptive Card (title, facts, error, link to the run)."""
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": notification.headline,
            "weight": "Bolder",
            "size": "Medium",
            "color": _COLORS[notification.level],
            "wrap": True,
        },
        {"type": "TextBlock", "text": notification.summary, "wrap": True},
    ]
    facts = [{"title": label, "value": value} for label, value in notification.facts()]
    if facts:
        body.append({"type": "FactSet", "facts": facts})
    if notification.failed_checks:
        body.append(
            {
                "type": "TextBlock",
                "text": "Failed checks:\n\n" + "\n".join(f"- {c}" for c in notification.failed_checks),
                "wrap": True,
            }
        )
    if notification.error:
        body.append(
            {
                "type": "TextBlock",
                "text": notification.error[:1500],
                "wrap": True,
                "fontType": "Monospace",
                "size": "Small",
            }
        )
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
    }
    if notification.run_url:
        card["actions"] = [
            {"type": "Action.OpenUrl", "title": "Open the run in Dagster", "url": notification.run_url}
        ]
    return {
        "type": "message",
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}
        ],
    }


def send_teams(webhook_url: str, notification: Notification, *, timeout: float = 10.0) -> None:
    """Post `notification` to the Teams channel behind `webhook_url` (a secret: keep it in an env var)."""
    post_json(webhook_url, adaptive_card(notification), channel="MS Teams", timeout=timeout)
