"""Field types and the section decorator every config section is declared with.

Sections are pydantic dataclasses: construction (from params.yaml, in code, or through
`dataclasses.replace`) validates every field, refuses unknown keys, and the result is
frozen. Scalars are strict (no "3" -> 3, no True -> 1); an int is accepted where a
float is declared. Lists are accepted for tuples. Only pydantic is imported, so the
data layer and the CLI can use this without torch.
"""

from __future__ import annotations

import functools
from typing import Annotated, Any

from pydantic import AfterValidator, ConfigDict, Field, Strict
from pydantic.dataclasses import dataclass

section = functools.partial(dataclass, frozen=True, config=ConfigDict(extra="forbid"))

Int = Annotated[int, Strict()]
Float = Annotated[float, Strict()]
Str = Annotated[str, Strict()]
Bool = Annotated[bool, Strict()]
NonNegInt = Annotated[int, Strict(), Field(ge=0)]
PosInt = Annotated[int, Strict(), Field(ge=1)]
NonNegFloat = Annotated[float, Strict(), Field(ge=0)]
PosFloat = Annotated[float, Strict(), Field(gt=0)]
Probability = Annotated[float, Strict(), Field(ge=0, le=1)]


def _ordered(pair: tuple[Any, Any]) -> tuple[Any, Any]:
    if pair[0] > pair[1]:
        raise ValueError(f"must be a (low, high) pair with low <= high, got {list(pair)}")
    return pair


def Range(item: Any) -> Any:  # noqa: N802 (reads as a type in annotations)
    """An inclusive (low, high) pair of `item` (a list of two in YAML)."""
    return Annotated[tuple[item, item], AfterValidator(_ordered)]
