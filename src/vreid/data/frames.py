"""Which frames of a test tracklet are scored: the `eval.frames` protocol.

- "all" (our default): every frame, in consecutive clips of the model's clip length; a
  tracklet's encoding is the mean over its clips (`vreid.engine.features`).
- "evenly:N": ONE clip of N frames at evenly spaced positions, index floor(i * len / N)
  for i < N; a tracklet shorter than N gives all its frames, then its last one repeated.
  This follows torchreid's documented default video test sampler 'evenly' (one clip of
  seq_len frames spread over the tracklet, repeats when it is shorter), so figures can be
  set beside that library's; the formula is our own.

Standard library only: the config validates `eval.frames` with `evenly_count`.
"""

from __future__ import annotations

ALL_FRAMES = "all"
_EVENLY = "evenly:"
FORMS = "must be 'all' or 'evenly:N' with N >= 1 (one clip of N evenly spaced frames per tracklet)"


def evenly_count(spec: str) -> int | None:
    """N of "evenly:N" (N >= 1), None for "all"; anything else raises ValueError."""
    if spec == ALL_FRAMES:
        return None
    digits = spec[len(_EVENLY):] if isinstance(spec, str) and spec.startswith(_EVENLY) else ""
    # canonical digits only ("evenly:04" is refused): the string is also a cache key
    if digits.isdigit() and digits == str(int(digits)) and int(digits) >= 1:
        return int(digits)
    raise ValueError(f"eval.frames {spec!r}: {FORMS}")


def evenly_spaced(num_frames: int, n: int) -> list[int]:
    """`n` frame indices spread evenly over `num_frames`; repeats the last when too few."""
    if num_frames < 1:
        raise ValueError("cannot pick frames from an empty tracklet")
    if num_frames < n:
        return list(range(num_frames)) + [num_frames - 1] * (n - num_frames)
    return [i * num_frames // n for i in range(n)]


def scored_frames(num_frames: int, spec: str) -> list[int]:
    """The indices, in order, of the frames of a `num_frames` tracklet that `spec` scores."""
    n = evenly_count(spec)
    return list(range(num_frames)) if n is None else evenly_spaced(num_frames, n)


def describe_frames(spec: str) -> str:
    """`spec` in words, for reports."""
    n = evenly_count(spec)
    if n is None:
        return "every frame, in clips of the model's clip length, clip embeddings averaged"
    return f"one clip of {n} evenly spaced frames per tracklet (torchreid's 'evenly')"
