"""Declared input schema: feature names, accepted ranges, missing values; error classification."""

from __future__ import annotations

import asyncio
import concurrent.futures
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

MISSING = "missing"
OUT_OF_RANGE = "out_of_range"
WRONG_TYPE = "wrong_type"
REASONS = (MISSING, OUT_OF_RANGE, WRONG_TYPE)

TIMEOUT = "timeout"
INVALID_INPUT = "invalid_input"
MODEL_EXCEPTION = "model_exception"
DEPENDENCY_UNAVAILABLE = "dependency_unavailable"
ERROR_TYPES = (TIMEOUT, INVALID_INPUT, MODEL_EXCEPTION, DEPENDENCY_UNAVAILABLE)
MAX_ERROR_TYPES = 10

_NAN = float("nan")


class InvalidInput(ValueError):
    """Raise it in a tracked block to reject a request as `invalid_input`."""


@dataclass(frozen=True)
class Validation:
    """The result of validating one input row."""

    values: list[float]  # in schema order; NaN where missing or not a number
    problems: tuple[tuple[str, str], ...]  # (feature, reason)

    @property
    def ok(self) -> bool:
        return not self.problems


class InputSchema:
    """Features in model order, each with an accepted range [low, high] (None = unbounded).

    `from_ranges(minimum, maximum, tolerance)` widens observed ranges by `tolerance` x their
    width on each side (0.5 by default: a value counts as out of range when it lies outside the
    training range by more than half its width, as docs/metrics.md says).
    """

    def __init__(self, features: Sequence[str], low=None, high=None) -> None:
        self.features = tuple(str(f) for f in features)
        if len(set(self.features)) != len(self.features):
            raise ValueError("feature names must be unique")
        n = len(self.features)
        self.low = [(-math.inf if v is None else float(v)) for v in (low or [None] * n)]
        self.high = [(math.inf if v is None else float(v)) for v in (high or [None] * n)]
        if len(self.low) != n or len(self.high) != n:
            raise ValueError("one low and one high bound per feature")
        self._index = {f: i for i, f in enumerate(self.features)}

    @classmethod
    def from_ranges(cls, features, minimum, maximum, tolerance: float = 0.5) -> InputSchema:
        low, high = [], []
        for lo, hi in zip(minimum, maximum, strict=True):
            span = float(hi) - float(lo)
            low.append(float(lo) - tolerance * span)
            high.append(float(hi) + tolerance * span)
        return cls(features, low, high)

    def validate(self, row) -> Validation:
        """Parse one input (mapping by feature name, or a sequence in schema order).

        Never raises: anything that is not a mapping or a sequence of the right length makes
        every feature `missing`; unknown keys are ignored.
        """
        names = self.features
        if isinstance(row, Mapping):
            raw = [row.get(f) for f in names]
        elif isinstance(row, Sequence) and not isinstance(row, (str, bytes)) and \
                len(row) == len(names):
            raw = list(row)
        elif hasattr(row, "tolist") and getattr(row, "size", -1) == len(names):
            raw = row.tolist()
        else:
            return Validation([_NAN] * len(names), tuple((f, MISSING) for f in names))
        low, high = self.low, self.high
        values: list[float] = []
        problems: list[tuple[str, str]] = []
        for i, v in enumerate(raw):
            if isinstance(v, float) or (isinstance(v, int) and not isinstance(v, bool)):
                v = float(v)
                if v != v:
                    problems.append((names[i], MISSING))
                elif v < low[i] or v > high[i]:
                    problems.append((names[i], OUT_OF_RANGE))
            elif v is None:
                problems.append((names[i], MISSING))
                v = _NAN
            else:
                try:  # numpy scalars and other real numbers, not strings or booleans
                    if isinstance(v, (str, bytes, bool)):
                        raise TypeError
                    v = float(v)
                except (TypeError, ValueError):
                    problems.append((names[i], WRONG_TYPE))
                    v = _NAN
                else:
                    if v != v:
                        problems.append((names[i], MISSING))
                    elif v < low[i] or v > high[i]:
                        problems.append((names[i], OUT_OF_RANGE))
            values.append(v)
        return Validation(values, tuple(problems))


def classify_error(exc: BaseException, mapping: Mapping[type, str] | None = None) -> str:
    """An exception -> error_type (user mapping first, then the built-in classes)."""
    if mapping:
        for cls, name in mapping.items():
            if isinstance(exc, cls):
                return name
    if isinstance(exc, InvalidInput):
        return INVALID_INPUT
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError, concurrent.futures.TimeoutError)):
        return TIMEOUT
    if isinstance(exc, ConnectionError):
        return DEPENDENCY_UNAVAILABLE
    return MODEL_EXCEPTION
