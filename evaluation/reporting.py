"""An evaluation's report: its figures (the JSON object of ``newsqa eval --json``) and the terminal table.

Usage::

    report = EvalReport({"questions": 200, "hit@4": 0.98}, {"top_k": 4})
    print(report.table()); json.dumps(report.to_json())
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class EvalReport:
    """The figures of one run (``metrics``, the JSON object) and what they were measured on."""

    metrics: dict[str, Any]
    settings: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {**self.metrics, "settings": self.settings}

    def table(self) -> str:
        """The figures as aligned lines for the terminal."""
        rows = [f"{key:<20} {_shown(value)}" for key, value in self.metrics.items()]
        return "\n".join(rows)


def _shown(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}" if value <= 1.0 else f"{value:.1f}"
    return str(value)
