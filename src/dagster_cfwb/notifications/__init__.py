"""Notifications: MS Teams (Adaptive Card), ntfy and e-mail senders, and the sensors that use them."""

from dagster_cfwb.notifications.email_smtp import build_email, send_email
from dagster_cfwb.notifications.http_post import NotificationError
from dagster_cfwb.notifications.message import Notification
from dagster_cfwb.notifications.ntfy import ntfy_payload, send_ntfy
from dagster_cfwb.notifications.sensors import RunFilter, build_notification_sensors, failed_checks_of_run
from dagster_cfwb.notifications.teams import adaptive_card, send_teams

__all__ = [
    "Notification",
    "NotificationError",
    "RunFilter",
    "adaptive_card",
    "build_email",
    "build_notification_sensors",
    "failed_checks_of_run",
    "ntfy_payload",
    "send_email",
    "send_ntfy",
    "send_teams",
]
