"""The base of every config section: unknown keys are errors, attribute docstrings are the reference."""

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    # attribute docstrings become field descriptions: they are the config reference of docs/config.md
    model_config = ConfigDict(extra="forbid", validate_assignment=True, use_attribute_docstrings=True)
