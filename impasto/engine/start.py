"""Where each scale's optimisation starts: the coarser result upsampled, or, at the first scale, the
photo, a start image or noise (``Options.init``), recoloured to the paintings' palette with
``init_palette="style"``.
"""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from PIL import Image

from ..config.options import Options
from ..errors import OptionError
from ..imaging.images import fit_long_side, image_to_tensor, tensor_to_image
from ..imaging.palette import blend_color_statistics, color_statistics, match_colors
from ..net.weights import InputNormalization
from .device import Placement
from .inputs import RunInputs
from .schedule import Stage

PALETTE_SIDE = 256  # the paintings' long side for their colour statistics: plenty for a mean and covariance


class StartImages:
    """The first image of every scale, in RGB 0..1 on the run's device. Noise is drawn from a generator
    seeded with ``seed``, never from PyTorch's global one."""

    def __init__(self, options: Options, inputs: RunInputs, normalization: InputNormalization,
                 placement: Placement, seed: int):
        self.options, self.inputs, self.normalization, self.placement = options, inputs, normalization, placement
        self.generator = torch.Generator()
        self.generator.manual_seed(seed)

    def first(self, stage: Stage, previous: Optional[torch.Tensor]) -> torch.Tensor:
        """The start of ``stage``: ``previous`` (the coarser scale's result) carried over, or a fresh start."""
        if previous is not None:
            # Warm start: the coarser result, upsampled, carries its large strokes into this scale.
            if self.options.stage_handoff == "d2l":
                # D2L: postprocess (clamp, 8-bit PIL image), then preprocess (PIL's bilinear Resize).
                image = tensor_to_image(previous).resize((stage.shape[1], stage.shape[0]),
                                                         Image.Resampling.BILINEAR)
                return self.placement.put(image_to_tensor(image))
            return F.interpolate(previous, size=stage.shape, mode="bicubic", align_corners=False)
        rgb = self._fresh(stage.shape)
        if self.options.init_palette == "style":
            recoloured = self._in_paintings_palette(rgb, stage.shape)
            # A protected face starts in its own colours: the light style it gets would not undo the palette.
            protected = self.inputs.protected_share(stage.shape)
            rgb = recoloured if protected is None else protected * rgb + (1 - protected) * recoloured
        return self.placement.put(rgb)

    def _fresh(self, shape: tuple[int, int]) -> torch.Tensor:
        init, inputs = self.options.init, self.inputs
        height, width = shape
        if inputs.init_image is not None:
            return image_to_tensor(inputs.init_image, shape, resample=self.options.resample)
        if init == "content":
            return image_to_tensor(inputs.painted_content, shape, resample=self.options.resample)
        if init == "uniform":
            return torch.rand((1, 3, height, width), generator=self.generator)
        if init == "normal":
            return 0.5 + 0.25 * torch.randn((1, 3, height, width), generator=self.generator)
        if init == "mean":
            # jcjohnson's "-init random": the network's mean pixel plus noise of std 0.001 in its input units.
            noise = 0.001 * torch.randn((1, 3, height, width), generator=self.generator)
            return self.normalization.postprocess(noise)
        if init == "keras":
            # The Keras blog: np.random.uniform(0, 255, shape) - 128 in the preprocessed (network) space.
            noise = torch.rand((1, 3, height, width), generator=self.generator) * 255.0 - 128.0
            return self.normalization.postprocess(noise)
        raise OptionError(f"unknown init {init!r}")  # options.validate lets nothing else through

    def _in_paintings_palette(self, rgb: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
        """``rgb`` recoloured to the paintings' colour mean and covariance (each region to its own
        painting's with style masks; where no mask paints, the start keeps its own colours)."""
        inputs = self.inputs
        stats = [color_statistics(image_to_tensor(image, fit_long_side(image.width, image.height, PALETTE_SIDE)))
                 for image in inputs.painted_styles]
        if inputs.style_masks is None:
            return match_colors(rgb, blend_color_statistics(stats, inputs.style_blend))
        masks = inputs.region_masks(shape)
        return sum((mask * match_colors(rgb, stat) for mask, stat in zip(masks, stats)), (1 - sum(masks)) * rgb)
