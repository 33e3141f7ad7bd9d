"""What a notification says, independent of where it is sent (Teams, ntfy, e-mail)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = ["Notification"]

Level = Literal["failure", "warning", "success"]
_ICONS = {"failure": "❌", "warning": "⚠️", "success": "✅"}


@dataclass
class Notification:
    """One pipeline event to tell people about.

    Example:
        >>> n = Notification(level="failure", title="Run failed: daily_import", summary="Step import__x failed",
        ...                  run_id="abc", run_url="https://dagster.example/runs/abc")
        >>> n.headline
        '❌ Run failed: daily_import'
    """

    level: Level
    title: str
    summary: str
    run_id: str | None = None
    run_url: str | None = None
    job_name: str | None = None
    code_location: str | None = None
    assets: list[str] = field(default_factory=list)
    error: str | None = None
    failed_checks: list[str] = field(default_factory=list)

    @property
    def headline(self) -> str:
        return f"{_ICONS[self.level]} {self.title}"

    def facts(self) -> list[tuple[str, str]]:
        """Label/value pairs shown in every channel."""
        items = []
        if self.code_location:
            items.append(("Code location", self.code_location))
        if self.job_name:
            items.append(("Job", self.job_name))
        if self.assets:
            shown = ", ".join(self.assets[:10]) + (
                f" (+{len(self.assets) - 10})" if len(self.assets) > 10 else ""
            )
            items.append(("Assets", shown))
        if self.run_id:
            items.append(("Run", self.run_id))
        return items

    def as_text(self) -> str:
        """Plain-text body (e-mail, ntfy)."""
        lines = [self.summary, ""]
        lines += [f"{label}: {value}" for label, value in self.facts()]
        if self.failed_checks:
            lines += ["", "Failed checks:"] + [f"  - {c}" for c in self.failed_checks]
        if self.error:
            lines += ["", "Error:", self.error]
        if self.run_url:
            lines += ["", f"Open the run: {self.run_url}"]
        return "\n".join(lines).strip() + "\n"
