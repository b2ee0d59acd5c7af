"""The feature extractor: a VGG stack that returns named activations, computed once per image.

A ``VGGFeatures`` is loaded once and can serve many runs (a web page, a batch, the tiles of one print): each
call names the layers it wants, and the stack runs only as deep as the deepest of them. One forward pass
yields every activation the losses of a step need (content, style and the preprocessed input for the TV
term).
"""
from __future__ import annotations

from typing import Iterable, Optional

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import OptionError
from ..config.choices import POOLINGS
from ..config.layers import INPUT_LAYER, deepest_layer, layer_names
from .weights import VGGWeights



class VGGFeatures(nn.Module):
    """Maps RGB images in 0..1 to ``{layer name: activation}``.

    ``layers`` are the layers asked for when a call names none, and the stack is cut after the deepest of
    them (``None``: the whole stack, for a network shared by runs with different layers). ``pooling`` is the
    default pooling; pooling has no weights, so a call may ask for the other kind.
    """

    def __init__(self, weights: VGGWeights, layers: Optional[Iterable[str]] = None, pooling: str = "max"):
        super().__init__()
        if pooling not in POOLINGS:
            raise OptionError(f"pooling must be one of {', '.join(POOLINGS)}, got {pooling!r}")
        self.model = weights.model
        self.normalization = weights.normalization
        self.source = weights.source
        self.pooling = pooling
        every_layer = layer_names(self.model)
        self.layers = tuple(dict.fromkeys(layers)) if layers is not None else every_layer
        self.names = every_layer[: deepest_layer(self.layers, self.model) + 1]
        self.convs = nn.ModuleDict()
        for name in self.names:
            if name.startswith("conv"):
                weight, bias = weights.convs[name]
                # Built on the meta device, so there is no random initialization (which would draw on, and
                # change, the global generator), then given the weights. nn.utils.skip_init would do the same,
                # but its to_empty() imports PyTorch's symbolic-shape machinery (0.3 s of every run's start).
                conv = nn.Conv2d(weight.shape[1], weight.shape[0], kernel_size=3, padding=1, device="meta")
                conv.weight = nn.Parameter(weight.detach().to(torch.float32, copy=True).contiguous())
                conv.bias = nn.Parameter(bias.detach().to(torch.float32, copy=True))
                self.convs[name] = conv
        self.requires_grad_(False)
        self.eval()
        # The convolutions' weights in a lower compute dtype, made on first use: {(dtype, device): {name: (w, b)}}.
        self._lowered: dict[tuple[torch.dtype, torch.device], dict[str, tuple[torch.Tensor, torch.Tensor]]] = {}

    def _weights_in(self, dtype: torch.dtype, device: torch.device) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        """Every convolution's weight and bias cast to ``dtype`` once. Autocast would cast them again at every
        call (it caches only weights that require a gradient), which cost 3-17% of a bfloat16 step in a noisy
        microbenchmark."""
        key = (dtype, device)
        lowered = self._lowered.get(key)
        if lowered is None:  # the weights are frozen, so a copy stays right for the network's life
            lowered = {name: (conv.weight.detach().to(device, dtype), conv.bias.detach().to(device, dtype))
                       for name, conv in self.convs.items()}
            self._lowered[key] = lowered
        return lowered

    def forward(self, rgb: torch.Tensor, layers: Optional[Iterable[str]] = None,
                pooling: Optional[str] = None, compute_dtype: Optional[torch.dtype] = None) -> dict[str, torch.Tensor]:
        """The activations of ``layers``. With a ``compute_dtype`` other than the input's (bfloat16), the
        stack runs in it (as autocast would run it: convolutions, ReLUs and pooling in that dtype) and each
        activation is handed back in the input's dtype, so the losses and statistics computed from them keep
        their precision."""
        wanted = set(self.layers if layers is None else layers)
        last = deepest_layer(wanted, self.model)
        if last >= len(self.names):
            raise OptionError(f"this network was cut after {self.names[-1]}; {layer_names(self.model)[last]} "
                              f"is deeper (load it without a layer list to share it between runs)")
        pool = F.avg_pool2d if (pooling or self.pooling) == "avg" else F.max_pool2d
        x = self.normalization.preprocess(rgb)
        # channels_last makes the CPU convolutions ~20% faster (measured; see benchmarks/RESULTS.md).
        x = x.contiguous(memory_format=torch.channels_last)
        features: dict[str, torch.Tensor] = {}
        if INPUT_LAYER in wanted:
            features[INPUT_LAYER] = x
        dtype = rgb.dtype
        lowered = None
        if compute_dtype is not None and compute_dtype != dtype:
            lowered = self._weights_in(compute_dtype, x.device)
            x = x.to(compute_dtype)
        for name in self.names[: last + 1]:
            if name.startswith("conv"):
                x = self.convs[name](x) if lowered is None else F.conv2d(x, *lowered[name], padding=1)
            elif name.startswith("relu"):
                # Not in-place: a requested conv output must survive the ReLU that follows it.
                x = F.relu(x)
            else:
                x = pool(x, 2, 2)
            if name in wanted:
                features[name] = x.to(dtype)
        return features

    @torch.no_grad()
    def propagate_mask(self, mask: torch.Tensor, layers: Iterable[str]) -> dict[str, torch.Tensor]:
        """A region mask (1, 1, H, W) in 0..1 brought to the resolution of each of ``layers``.

        It goes through the stack the way the image does, as pystiche guides its losses: a 3x3 convolution
        sees the share of its window that lies in the region (a 3x3 mean), a ReLU changes nothing, and a
        2x2 pooling keeps the share of its window in the region (for max pooling too, where any pixel of
        the window may win). Unlike nearest-neighbour sampling, borders stay soft where a deep unit's
        receptive field straddles two regions.
        """
        wanted = set(layers)
        last = deepest_layer(wanted, self.model)
        masks: dict[str, torch.Tensor] = {}
        if INPUT_LAYER in wanted:
            masks[INPUT_LAYER] = mask
        for name in self.names[: last + 1]:
            if name.startswith("conv"):
                mask = F.avg_pool2d(mask, 3, stride=1, padding=1, count_include_pad=False)
            elif name.startswith("pool"):
                mask = F.avg_pool2d(mask, 2, 2)
            if name in wanted:
                masks[name] = mask
        return masks
