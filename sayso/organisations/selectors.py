from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .models import DataPractice, Stage


@dataclass(frozen=True)
class CycleStage:
    value: str
    label: str
    practices: tuple[DataPractice, ...]


def data_cycle(practices: Iterable[DataPractice]) -> list[CycleStage]:
    """Lay practices out along the data cycle, every stage shown even when empty,
    so gaps in what the community knows are visible too."""
    practices = list(practices)
    return [
        CycleStage(
            value=stage.value,
            label=str(stage.label),
            practices=tuple(p for p in practices if stage.value in p.stages),
        )
        for stage in Stage
    ]
