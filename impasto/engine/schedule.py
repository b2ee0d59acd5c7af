"""The optimization schedule: which sizes are painted in which order, for how long, at what step size.

Coarse-to-fine generalizes the D2L book's two passes (150x225, then 600x900 from the upsampled result) to
any number of scales spaced geometrically from ``min_size`` to ``size``. Small scales are cheap and place
large brush strokes; the last scale adds detail at the output resolution.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..imaging.images import fit_long_side
from ..config.limits import MIN_SIZE
from ..config.options import Options


@dataclass(frozen=True)
class Stage:
    """One scale of the schedule."""

    index: int
    shape: tuple[int, int]  # (height, width) of the image optimized at this stage
    iterations: int
    lr_decay_every: int  # 0: constant learning rate within the stage

    @property
    def pixels(self) -> int:
        return self.shape[0] * self.shape[1]


def stage_long_sides(size: int, min_size: int, scales: int) -> list[int]:
    """``scales`` long sides from ``min_size`` to ``size``, evenly spaced on a log scale."""
    if scales == 1:
        return [size]
    # An output no larger than min_size still gets its scales: each half the next, down to MIN_SIZE.
    low = min_size if min_size < size else max(MIN_SIZE, min(size, round(size / 2 ** (scales - 1))))
    ratio = (size / low) ** (1.0 / (scales - 1))
    return [round(low * ratio**i) for i in range(scales - 1)] + [size]


def plan_stages(options: Options, content_size: tuple[int, int]) -> list[Stage]:
    """The stages for a content image of ``content_size`` = (width, height)."""
    width, height = content_size
    if options.stage_shapes is not None:
        shapes = list(options.stage_shapes)
    else:
        longs = stage_long_sides(options.size, options.min_size, options.scales)
        shapes = [fit_long_side(width, height, long) for long in longs]
    iterations = list(options.iterations)
    if options.iterations_aspect and options.stage_shapes is None:
        iterations = [scale_iterations(count, shape, options.iterations_aspect)
                      for count, shape in zip(iterations, shapes)]
    return [Stage(i, shape, iterations[i], options.lr_decay_every[i]) for i, shape in enumerate(shapes)]


def scale_iterations(iterations: int, shape: tuple[int, int], aspect: float) -> int:
    """A scale's iterations for an image of ``shape`` when ``iterations`` are meant for one of ``aspect``
    (long side / short side) with the same long side.

    A step's cost grows with the pixels: at one long side a square photo has 1.5 times the pixels of a 3:2
    one. Proportionally fewer iterations at every scale keep the time of a run about the same whatever the
    photo's shape (the issue "Paint like the masters in half a minute" sets a budget per 512 px image); an
    image as elongated as ``aspect`` or more keeps them all, and none gets fewer than one.
    """
    size = max(shape)
    budget_pixels = size * size / aspect
    pixels = shape[0] * shape[1]
    if pixels <= budget_pixels:
        return iterations
    return max(1, round(iterations * budget_pixels / pixels))


def learning_rate(options: Options, stage: Stage, iteration: int) -> float:
    """Step learning-rate decay within a stage (D2L's StepLR): lr * decay^(iteration // every)."""
    if not stage.lr_decay_every:
        return options.lr
    return options.lr * options.lr_decay ** (iteration // stage.lr_decay_every)
