"""What a run keeps as it goes: the logged history, the best iterate of the scale being painted, the last
finished scale, a tiled scale's canvas, and the progress a caller is told after every step.

All images held here are RGB (0..1, unclipped), whatever units the scale's optimizer moves.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Optional

import torch

from .optimizers import Step
from .plan import RunPlan
from .schedule import Stage
from .tiles import Box


@dataclass
class Progress:
    """What the callback gets after every iteration."""

    stage: Stage
    stages: int
    iteration: int  # 1-based within the stage
    step: int  # 1-based over the whole run
    total_steps: int
    terms: dict[str, float]  # the weighted loss terms by name ("content", "style", "tv"...)
    total: float
    lr: float
    elapsed: float
    work_fraction: float  # share of the run's pixel-iterations done: a fair basis for an ETA
    tile: int = 1  # 1-based tile within the stage (big outputs are painted in tiles, see impasto.engine.tiles)
    tiles: int = 1

    @property
    def eta(self) -> float:
        """Seconds left, extrapolated from the pixel-weighted work done so far."""
        return self.elapsed * (1.0 - self.work_fraction) / self.work_fraction if self.work_fraction else float("inf")


@dataclass(frozen=True)
class TileInPlay:
    """The part of a scale being optimized: tile ``number`` of ``count`` (1 of 1: the whole scale)."""

    number: int
    count: int
    box: Box


class Recorder:
    """Keeps a run's history, best and latest images and step count; tells ``callback`` after every step.

    ``stop()`` asks the optimizer to end after the current step (``record`` returns True from then on).
    """

    def __init__(self, plan: RunPlan, log_every: int, callback: Optional[Callable[[Progress], None]] = None):
        self.plan, self.log_every, self.callback = plan, log_every, callback
        self.history: list[dict] = []
        self.step = 0
        self.stop_requested = False
        self.best: Optional[tuple[float, torch.Tensor]] = None  # (loss, image) of the part being optimized
        self.result: Optional[torch.Tensor] = None  # image at the end of the latest finished stage
        self.current: Optional[torch.Tensor] = None  # the latest evaluated image
        self.canvas: Optional[torch.Tensor] = None  # a tiled scale's image, done tiles laid in
        self._in_play = TileInPlay(1, 1, Box(0, 0, 0, 0))
        self._work_done = 0
        self._start = time.perf_counter()

    def start_clock(self) -> None:
        self._start = time.perf_counter()

    def seconds(self) -> float:
        return time.perf_counter() - self._start

    def begin(self, stage: Stage, tile: Optional[TileInPlay] = None) -> None:
        """A new optimization of ``stage`` (or of one ``tile`` of it) starts: its best iterate is its own."""
        self._in_play = tile or TileInPlay(1, 1, Box(0, 0, *stage.shape))
        self.best = None

    def finish_stage(self, rgb: torch.Tensor) -> None:
        self.result = rgb
        self.best = self.canvas = None

    def best_rgb(self) -> Optional[torch.Tensor]:
        """The best image so far at its own scale, or None before the first step."""
        if self.canvas is not None:
            return self.canvas  # a tiled scale: its finished tiles over the warm start
        if self.best is not None and (self.result is None or self.result.shape[-2:] != self.best[1].shape[-2:]):
            return self.best[1]
        return self.result

    def record(self, stage: Stage, step: Step) -> bool:
        """Log one evaluation, keep the best iterate, tell the callback; True asks the optimizer to stop."""
        self.step += 1
        tile = self._in_play
        self._work_done += tile.box.pixels
        self.current = step.rgb
        if self.best is None or step.total < self.best[0]:
            self.best = (step.total, step.rgb)
        elapsed = self.seconds()
        if step.iteration % self.log_every == 0 or step.iteration == stage.iterations:
            self.history.append({
                "step": self.step, "stage": stage.index + 1, "height": stage.shape[0], "width": stage.shape[1],
                "iteration": step.iteration, **({"tile": tile.number} if tile.count > 1 else {}), **step.terms,
                "total": step.total, "lr": step.lr, "elapsed": round(elapsed, 4),
            })
        if self.callback is not None:
            plan = self.plan
            self.callback(Progress(stage, len(plan.stages), step.iteration, self.step, plan.total_steps,
                                   step.terms, step.total, step.lr, elapsed,
                                   min(1.0, self._work_done / plan.total_work), tile.number, tile.count))
        return self.stop_requested
