"""One field of a before/after diff: what the audit trail and maker-checker show of a change."""

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class DiffRow:
    field: str
    before: Any
    after: Any

    @property
    def changed(self) -> bool:
        return self.before != self.after
