"""Big outputs: a scale too large for memory is painted in overlapping tiles.

The coarse scales of a run are painted whole, as usual; each scale above the tile size starts from the
coarser result upsampled (the canvas) and is then optimised one tile at a time, in rows. A tile starts from
its finished neighbours above and to the left at its edges, fading to the warm start across the overlap, so
it begins in agreement with both; its content targets come from the photo cropped to the tile, its style targets from
the whole painting (global statistics, computed once per scale). The finished tile is blended into the
canvas with weights that rise from 0 at its top and left edges to 1 across the overlap: the canvas stays
one consistent picture at every moment (done tiles plus the warm start elsewhere), which is also what an
interrupted run saves. A tile's own right and bottom borders, where the network's zero padding bends the
optimisation, are covered by the next tile's ramp.

Memory then depends on the tile, not on the output: one tile's optimisation plus the canvas (a few bytes
per output pixel, ``CANVAS_BYTES_PER_PIXEL``): ``tiled_bytes``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import torch

from ..config.limits import INT_RANGES
from ..errors import OptionError, ResourceError
from .device import MEASURED_DTYPE, available_bytes, estimate_bytes

# The tile side picked when a run does not fit and no tile size was given: 1024 x 1024 px needs about
# 3.7 GB to optimise (device.estimate_bytes), and has little overlap to pay for (1/8 of the side).
DEFAULT_TILE = 1024
MIN_TILE = INT_RANGES["tile"][0]
OVERLAP_FRACTION = 8  # the default overlap: the tile side / 8
# What a tiled run holds beside one tile's optimisation (device.estimate_bytes of the tile): the canvas
# and its half-precision warm start, the output's 8-bit conversion (per output pixel), and one pass of the
# whole painting plus the tile's targets (fixed). benchmarks/tiles.py measured peaks of 4.09, 4.14 and
# 4.67 GB at 2048, 4096 and 8192 px with 1024 px tiles: about 15 B per output pixel over 4.05 GB. Rounded up.
CANVAS_BYTES_PER_PIXEL = 24
TILED_OVERHEAD_BYTES = 512 * 1024**2
# A painting's long side in a tiled run: its targets come from one pass over the whole painting, which must
# fit too. A painting is rarely larger; blown up further it would only be blurrier.
TILED_STYLE_SIDE = 2048


@dataclass(frozen=True)
class Box:
    """A tile: its place in the scale's image and how far it overlaps the tiles before it (blend ramps)."""

    top: int
    left: int
    height: int
    width: int
    ramp_top: int = 0  # rows shared with the tile above
    ramp_left: int = 0  # columns shared with the tile to the left

    @property
    def pixels(self) -> int:
        return self.height * self.width

    @property
    def rect(self) -> tuple[int, int, int, int]:
        """(top, left, height, width), as ``impasto.imaging.images.image_to_tensor`` crops."""
        return self.top, self.left, self.height, self.width

    def crop(self, image: torch.Tensor) -> torch.Tensor:
        """This tile's region of a (N, C, H, W) tensor (a view)."""
        return image[..., self.top:self.top + self.height, self.left:self.left + self.width]

    def scaled(self, factor: int) -> "Box":
        """This box on the image average-pooled by ``factor`` (a style octave's view of a tile)."""
        return Box(self.top // factor, self.left // factor, self.height // factor, self.width // factor)


def axis_spans(length: int, tile: int, overlap: int) -> list[tuple[int, int]]:
    """(start, size) of the tiles along one axis: as few as cover ``length`` with sides of at most
    ``tile`` overlapping by at least ``overlap``, all of one size, evenly spaced, the ends flush."""
    if length <= tile:
        return [(0, length)]
    count = math.ceil((length - overlap) / (tile - overlap))
    size = math.ceil((length + (count - 1) * overlap) / count)
    return [(round(index * (length - size) / (count - 1)), size) for index in range(count)]


def tile_boxes(shape: tuple[int, int], tile: int, overlap: int) -> list[Box]:
    """The tiles of an image of ``shape`` = (height, width), row by row, left to right."""
    rows, columns = axis_spans(shape[0], tile, overlap), axis_spans(shape[1], tile, overlap)
    boxes = []
    for row, (top, height) in enumerate(rows):
        ramp_top = rows[row - 1][0] + rows[row - 1][1] - top if row else 0
        for column, (left, width) in enumerate(columns):
            ramp_left = columns[column - 1][0] + columns[column - 1][1] - left if column else 0
            boxes.append(Box(top, left, height, width, ramp_top, ramp_left))
    return boxes


def _ramp(length: int, rise: int) -> torch.Tensor:
    """1 everywhere but the first ``rise`` entries, which climb linearly from near 0 to near 1."""
    weights = torch.ones(length)
    if rise:
        weights[:rise] = (torch.arange(rise, dtype=torch.float32) + 0.5) / rise
    return weights


def blend_weights(box: Box) -> torch.Tensor:
    """(1, 1, h, w): the share of the new tile at each pixel when it is laid over the canvas."""
    return (_ramp(box.height, box.ramp_top)[:, None] * _ramp(box.width, box.ramp_left)[None, :])[None, None]


def blend_into(canvas: torch.Tensor, tile: torch.Tensor, box: Box) -> None:
    """Lay a finished tile over the canvas, in place, faded in across its top and left overlaps."""
    weights = blend_weights(box).to(canvas.device, canvas.dtype)
    region = box.crop(canvas)
    region.mul_(1 - weights).add_(tile.detach().to(canvas.dtype) * weights)


@dataclass(frozen=True)
class Tiling:
    """How a run paints its large scales: ``tile`` = 0 means whole, as one image."""

    tile: int = 0
    overlap: int = 0
    reason: str = ""

    def covers(self, shape: tuple[int, int]) -> bool:
        """Whether a scale of ``shape`` is painted in tiles."""
        return bool(self.tile) and max(shape) > self.tile

    def boxes(self, shape: tuple[int, int]) -> list[Box]:
        return tile_boxes(shape, self.tile, self.overlap) if self.covers(shape) else [Box(0, 0, *shape)]


def tiled_bytes(tile_pixels: int, whole_pixels: int, output_pixels: int,
                dtype: torch.dtype = MEASURED_DTYPE) -> int:
    """Peak memory of a tiled run: the larger of a tile and the largest whole scale, plus the canvas."""
    return estimate_bytes(max(tile_pixels, whole_pixels), dtype) + TILED_OVERHEAD_BYTES + \
        CANVAS_BYTES_PER_PIXEL * output_pixels


def _gb(size: float) -> str:
    return f"{size / 1024**3:.1f} GB"


def plan_tiling(shapes: Sequence[tuple[int, int]], device: torch.device, tile: Optional[int] = None,
                overlap: Optional[int] = None, dtype: torch.dtype = MEASURED_DTYPE) -> Tiling:
    """Decide which scales are tiled and how, or refuse with the size that would fit.

    ``shapes``: every scale's (height, width), the output's last. Without ``tile`` the run is whole when the
    largest scale fits in the memory available, and tiled at DEFAULT_TILE px (smaller if even that does not
    fit) when it does not. A given ``tile`` is used as it is, if it fits. Memory is counted on ``device``
    for images in ``dtype``.
    """
    output = shapes[-1]
    output_pixels = output[0] * output[1]
    largest = max(height * width for height, width in shapes)
    available = available_bytes(device)
    if tile is None and estimate_bytes(largest, dtype) <= available:
        return Tiling()
    if tile is not None and tile < MIN_TILE:
        raise OptionError(f"tile must be at least {MIN_TILE} px, got {tile}")
    candidates = [tile] if tile is not None else \
        [side for side in (DEFAULT_TILE, 768, 512, 384, 256, MIN_TILE)]
    for side in candidates:
        if overlap is not None and overlap * 2 >= side:
            raise OptionError(f"tile_overlap must be less than half the tile ({side} px), got {overlap}")
        # The scales that stay whole are those that fit in a tile; the largest of them must fit too.
        whole = max((h * w for h, w in shapes if max(h, w) <= side), default=0)
        if max(max(shape) for shape in shapes) <= side:
            return Tiling()  # every scale fits in one tile: nothing to tile
        needed = tiled_bytes(side * side, whole, output_pixels, dtype)
        if needed <= available:
            used_overlap = overlap if overlap is not None else max(16, side // OVERLAP_FRACTION)
            if tile is not None:
                why = f"tiles of {side} px were asked for"
            else:
                why = (f"{output[1]}x{output[0]} would need about {_gb(estimate_bytes(largest, dtype))} painted whole, "
                       f"{_gb(available)} are available")
            reason = (f"{why}: scales larger than {side} px are painted in tiles of up to {side}x{side} px "
                      f"overlapping by {used_overlap} px (about {_gb(needed)} of memory)")
            return Tiling(side, used_overlap, reason)
    # Not even the smallest tile fits: the canvas (or a whole coarse scale) is too large for this machine.
    spare = max(0, available - tiled_bytes(MIN_TILE * MIN_TILE, 0, 0, dtype)) / CANVAS_BYTES_PER_PIXEL
    aspect = min(output) / max(output)
    largest_side = int(0.98 * math.sqrt(spare / aspect)) // 16 * 16
    asked = f"tiles of {tile} px" if tile is not None else "tiles"
    raise ResourceError(f"{output[1]}x{output[0]} does not fit in {_gb(available)} of memory even in {asked}; "
                        f"the largest output size that fits is about {largest_side} px")


TilePainter = Callable[[int, Box, torch.Tensor], torch.Tensor]


def paint_in_tiles(boxes: Sequence[Box], canvas: torch.Tensor, paint_tile: TilePainter,
                   stop_requested: Callable[[], bool]) -> torch.Tensor:
    """Optimise ``canvas`` (the scale's warm start, modified in place) tile by tile and return it.

    ``paint_tile(number, box, start)`` optimises one tile from ``start`` and returns it (the engine builds the
    tile's objective and runs the scale's optimizer); ``stop_requested()`` is asked after each tile. The
    caller may read ``canvas`` at any moment: it is always one consistent picture.
    """
    # The warm start as it was before any tile (half precision is plenty for a starting point).
    warm_start = canvas.to(torch.float16)
    for number, box in enumerate(boxes, start=1):
        # The tile starts from its finished neighbours at its edges, fading to the warm start across the
        # overlap: continuous with both, so few iterations leave no step where a neighbour ended.
        start = box.crop(canvas).clone()
        blend_into(start, box.crop(warm_start).float(), Box(0, 0, box.height, box.width, box.ramp_top,
                                                           box.ramp_left))
        blend_into(canvas, paint_tile(number, box, start), box)
        if stop_requested():
            break
    return canvas
