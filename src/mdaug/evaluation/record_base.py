"""The base of every evaluation record (mdaug.evaluation.records): validated on construction and on reading, written
as indented JSON, and read back with one MdaugError line for a file that does not fit (corrupt, or from another
mdaug version)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, SerializationInfo, ValidationError, model_serializer

from mdaug.errors import MdaugError
from mdaug.files import atomic_write_text

R = TypeVar("R", bound="EvalRecord")


class EvalRecord(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    omit_when_none: ClassVar[tuple[str, ...]] = ()
    """Fields left out of the JSON when they are None (measurements that only some models have)."""

    def left_out(self) -> set[str]:
        """The fields this record leaves out of its JSON (by name): by default those of omit_when_none that are None."""
        return {name for name in self.omit_when_none if getattr(self, name) is None}

    def on_disk(self, data: dict[str, Any]) -> dict[str, Any]:
        """The serialised fields as the JSON holds them (a record whose keys are not its fields reshapes them)."""
        return data

    @model_serializer(mode="wrap")
    def _omit(self, handler: Any, info: SerializationInfo) -> Any:  # Any: keys may be numbers (Memorisation)
        data = handler(self)
        fields = type(self).model_fields
        key = {(f.alias or n) if info.by_alias else n: n for n, f in fields.items()}
        drop = self.left_out()
        return self.on_disk({k: v for k, v in data.items() if key.get(k, k) not in drop})

    def to_json(self) -> str:
        return json.dumps(self.model_dump(by_alias=True), indent=1, default=float)

    def write(self, path: Path) -> Path:
        return atomic_write_text(path, self.to_json())

    @classmethod
    def read(cls: type[R], path: Path) -> R:
        try:
            return cls.model_validate(json.loads(Path(path).read_text()))
        except (OSError, ValueError, ValidationError):
            raise MdaugError(f"{path} is unreadable, corrupt or from another mdaug version; run its evaluation "
                             "again") from None


__all__ = ["EvalRecord"]
