"""Notifications: MS Teams (Adaptive Card), ntfy and e-mail senders (the sensors that use them:
`dagster_cfwb.sensors`)."""

from dagster_cfwb.notifications.email_smtp import build_email, send_email
from dagster_cfwb.notifications.http_post import NotificationError
from dagster_cfwb.notifications.message import Notification
from dagster_cfwb.notifications.ntfy import ntfy_payload, send_ntfy
from dagster_cfwb.notifications.teams import adaptive_card, send_teams

__all__ = [
    "Notification",
    "NotificationError",
    "adaptive_card",
    "build_email",
    "ntfy_payload",
    "send_email",
    "send_ntfy",
    "send_teams",
]
