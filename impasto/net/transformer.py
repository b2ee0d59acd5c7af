"""The feed-forward painter: an image-to-image network trained once per painting (``impasto train``) that
then paints any photo in one pass.

The architecture is Johnson, Alahi & Fei-Fei's ("Perceptual losses for real-time style transfer", 2016,
supplementary table 1) with the two changes every later implementation made:

* instance normalization in place of batch normalization (Ulyanov et al. 2016), so that the style does not
  depend on the other images of a batch and contrast is normalized per image;
* upsampling by nearest-neighbour resize then a convolution, not a transposed convolution, which leaves a
  checkerboard pattern (Odena, Dumoulin & Olah, "Deconvolution and checkerboard artifacts", 2016).

``width`` is the channel count of the first layer (Johnson: 32; the rest are 2x and 4x it). The cost of a
pass grows with its square; impasto's default is slimmer (``DEFAULT_WIDTH``; benchmarks/RESULTS.md has
the measurement). Reflection padding everywhere, as the paper's, so borders get no dark frame.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..config.limits import DEFAULT_MODEL_BLOCKS, DEFAULT_MODEL_WIDTH

# The network halves the image twice: it is equivariant to shifts by this many pixels.
STRIDE = 4

class _Conv(nn.Sequential):
    """Reflection padding and a convolution, then (unless ``last``) instance normalization and a ReLU."""

    def __init__(self, channels_in: int, channels_out: int, kernel: int, stride: int = 1, relu: bool = True,
                 last: bool = False):
        layers: list[nn.Module] = [nn.ReflectionPad2d(kernel // 2),
                                   nn.Conv2d(channels_in, channels_out, kernel, stride)]
        if not last:
            layers.append(nn.InstanceNorm2d(channels_out, affine=True))
            if relu:
                layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)


class _Residual(nn.Module):
    """Two 3x3 convolutions with instance normalization, added to the input (no ReLU after the sum)."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(_Conv(channels, channels, 3), _Conv(channels, channels, 3, relu=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class _Upsample(nn.Module):
    """Nearest-neighbour resize x2, cut to the size the image had before the matching downsampling (one
    less for an odd size), then a 3x3 convolution: no checkerboard (Odena et al. 2016). Exactly 2x, so
    that every pixel stays where it was: the network is equivariant to shifts by 4 px, which tiles need."""

    def __init__(self, channels_in: int, channels_out: int):
        super().__init__()
        self.conv = _Conv(channels_in, channels_out, 3)

    def forward(self, x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        # The size is read from a tensor, not computed in Python, so an ONNX export keeps it dynamic.
        doubled = F.interpolate(x, scale_factor=2.0, mode="nearest")
        return self.conv(doubled[..., :like.shape[-2], :like.shape[-1]])


class TransformerNet(nn.Module):
    """RGB in 0..1, shape (N, 3, H, W), to a painted RGB image of the same shape, in 0..1."""

    def __init__(self, width: int = DEFAULT_MODEL_WIDTH, blocks: int = DEFAULT_MODEL_BLOCKS):
        super().__init__()
        self.width, self.blocks = width, blocks
        self.down = nn.ModuleList([_Conv(3, width, 9), _Conv(width, 2 * width, 3, stride=2),
                                   _Conv(2 * width, 4 * width, 3, stride=2)])
        self.residuals = nn.Sequential(*(_Residual(4 * width) for _ in range(blocks)))
        self.up = nn.ModuleList([_Upsample(4 * width, 2 * width), _Upsample(2 * width, width)])
        self.out = _Conv(width, 3, 9, last=True)

    @property
    def architecture(self) -> dict[str, int]:
        return {"width": self.width, "blocks": self.blocks}

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        full = self.down[0](rgb * 2.0 - 1.0)
        half = self.down[1](full)
        x = self.residuals(self.down[2](half))
        x = self.up[1](self.up[0](x, half), full)
        # Bounded as Johnson et al.'s (a scaled tanh): the losses see the colours the user will, never values
        # past white or black that the network could otherwise use to please VGG and that clamping would cut.
        return torch.tanh(self.out(x)) * 0.5 + 0.5

    @torch.inference_mode()
    def paint(self, rgb: torch.Tensor) -> torch.Tensor:
        """The painted image, without building a graph."""
        return self(rgb)
