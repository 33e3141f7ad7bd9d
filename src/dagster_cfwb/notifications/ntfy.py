"""ntfy: publish a push notification to a topic (ntfy.sh or a self-hosted server)."""

from __future__ import annotations

from dagster_cfwb.notifications.http_post import post_json
from dagster_cfwb.notifications.message import Notification

__all__ = ["ntfy_payload", "send_ntfy"]

_PRIORITY = {"failure": 4, "warning": 3, "success": 2}
_TAGS = {"failure": ["rotating_light"], "warning": ["warning"], "success": ["white_check_mark"]}


def ntfy_payload(topic: str, notification: Notification, priority: int | None = None) -> dict:
    """The JSON message ntfy accepts on its root URL (UTF-8 safe, unlike headers)."""
    payload = {
        "topic": topic,
        "title": notification.title,
        "message": notification.as_text()[:4000],
        "priority": priority or _PRIORITY[notification.level],
        "tags": _TAGS[notification.level],
    }
    if notification.run_url:
        payload["click"] = notification.run_url
    return payload


def send_ntfy(
    server: str,
    topic: str,
    notification: Notification,
    *,
    token: str | None = None,
    priority: int | None = None,
    timeout: float = 10.0,
) -> None:
    """Publish `notification` on `topic` of the ntfy `server` (`token`: access token, if the topic is protected)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    post_json(
        server.rstrip("/") + "/",
        ntfy_payload(topic, notification, priority),
        channel="ntfy",
        headers=headers,
        timeout=timeout,
        secrets=[token],
    )
