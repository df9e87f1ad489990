"""A drill's figures, each with its goal, printed as a table; the drill passes when every goal is met."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Figure:
    name: str
    value: Any
    goal: str = ""
    met: bool | None = None  # None: a figure with no goal


@dataclass
class Report:
    drill: str
    figures: list[Figure] = field(default_factory=list)

    def add(self, name: str, value: Any, goal: str = "", met: bool | None = None) -> None:
        self.figures.append(Figure(name, value, goal, met))

    def check(self, name: str, value: Any, goal: str, ok: Callable[[Any], bool]) -> None:
        self.add(name, value, goal, ok(value))

    def as_dict(self) -> dict[str, Any]:
        """The figures as data (`--record`): a value, or value, goal and whether it was met."""
        figures: dict[str, Any] = {
            f.name: f.value if f.met is None else {"value": f.value, "goal": f.goal, "met": f.met}
            for f in self.figures
        }
        return {"passed": self.passed, **figures}

    @property
    def passed(self) -> bool:
        return all(f.met is not False for f in self.figures)

    def print(self) -> None:
        def shown(value: Any) -> str:
            return f"{value:,.2f}" if isinstance(value, float) else str(value)

        names = max((len(f.name) for f in self.figures), default=6)
        values = max((len(shown(f.value)) for f in self.figures), default=5)
        goals = max((len(f.goal) for f in self.figures), default=4)
        print(f"\n{self.drill}: figures", flush=True)
        print(f"  {'figure':<{names}}  {'value':>{values}}  {'goal':<{goals}}  result")
        for f in self.figures:
            result = "" if f.met is None else ("ok" if f.met else "MISSED")
            print(f"  {f.name:<{names}}  {shown(f.value):>{values}}  {f.goal:<{goals}}  {result}")
        print(f"{self.drill}: {'PASS' if self.passed else 'FAIL'}", flush=True)
