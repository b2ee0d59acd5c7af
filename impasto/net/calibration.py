"""Carrying loss weights tuned on torchvision's VGG-19 (the D2L book's) to the network in use.

Two differences separate D2L's network from the bundled one, and each is corrected by its own factor:

1. **Input units** (measured on every run): torchvision's VGG takes mean/std-normalized RGB, Caffe's VGG
   0..255 BGR minus the mean, about 57x larger. The content image goes through the network in its own
   units and in torchvision's; per layer, r = RMS(own) / RMS(torchvision units). A content loss (squared
   activations) is divided by r^2, a Gram style loss (activations to the fourth) by r^4, the TV term (on the
   input) by the input's ratio.
2. **The trained weights** (measured once, here): even on the same input, the Caffe VGG-19's activations are
   not torchvision's. With no torchvision file on these machines, the gap was fitted to a published run of the
   book's own PyTorch code on torchvision's ``vgg19-dcbb9e9d.pth`` (ShusenTang/Dive-into-DL-PyTorch,
   docs/chapter09_computer-vision/9.11_neural-style.md: the chapter's first ``train`` call on
   rainier x autumn_oak, losses printed every 50 epochs): the d2l preset's first stage was run here with the
   gap as free parameters until its content and style curves matched that run's
   (``benchmarks/d2l_calibration.py`` refits and prints the comparison). The gap is one factor on the content
   term and one on the style terms.

Only the first correction applies to a network other than a Caffe-convention VGG-19 (the gap was measured
for that network only); the run's metadata (``loss_calibration``) records both.
"""
from __future__ import annotations

import math
from typing import Optional

import torch

from .weights import CAFFE, TORCHVISION

# Fitted by benchmarks/d2l_calibration.py --fit (2026-11-24): natural logs of the factors on the content term
# and on every style layer's Gram term, on top of the input units. As activation scales (Caffe's over
# torchvision's on the same input) they are about 9.2 at relu4_4 (content) and 3.0 for the style layers. A
# style gap log-linear in the layer's depth was tried too (a Nelder-Mead search, nine settings) and matched no
# better: RMS log error over the three terms 0.29-0.59, against 0.28-0.29 for one style factor.
CONTENT_LOG_FACTOR = -4.443
STYLE_LOG_FACTOR = -4.385
GAP_SOURCE = ("fitted to the first stage of the D2L chapter's PyTorch code run on torchvision's vgg19-dcbb9e9d.pth "
              "(ShusenTang/Dive-into-DL-PyTorch, 9.11_neural-style.md)")


def gap_is_known(network) -> bool:
    """The weights gap was measured for the Caffe-convention VGG-19 (the bundled one, Keras' VGG-19)."""
    return network.model == "vgg19" and network.normalization.name == CAFFE.name


@torch.no_grad()
def torchvision_calibration(network, rgb: torch.Tensor, content_layers: list[str], style_layers: list[str],
                            pooling: str) -> Optional[dict]:
    """Factors for each content layer, each style layer and the TV term that carry torchvision-tuned weights to
    ``network``, measured on ``rgb`` (the photo at the first scale); None when ``network`` takes torchvision's
    input already (then nothing needs carrying)."""
    if network.normalization.name == TORCHVISION.name:
        return None
    own = network.normalization.preprocess(rgb)
    foreign = TORCHVISION.preprocess(rgb)
    foreign = foreign.flip(1) if network.normalization.bgr else foreign
    # Feed the torchvision-unit input to this network as if it were in its own units.
    as_own = network.normalization.postprocess(foreign)
    names = list(dict.fromkeys(content_layers + style_layers))
    mine, theirs = network(rgb, names, pooling), network(as_own, names, pooling)
    ratio = {name: (mine[name].square().mean() / theirs[name].square().mean().clamp_min(1e-30)).sqrt().item()
             for name in names}
    input_ratio = (own.square().mean() / foreign.square().mean()).sqrt().item()
    gap = ({"content": math.exp(CONTENT_LOG_FACTOR), "style": math.exp(STYLE_LOG_FACTOR), "source": GAP_SOURCE}
           if gap_is_known(network) else None)
    content_gap, style_gap = (gap["content"], gap["style"]) if gap else (1.0, 1.0)
    return {"content": {name: ratio[name] ** -2 * content_gap for name in content_layers},
            "style": {name: ratio[name] ** -4 * style_gap for name in style_layers},
            "tv": 1.0 / input_ratio, "ratios": ratio, "input_ratio": input_ratio, "network_gap": gap}
