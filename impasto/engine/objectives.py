"""Each scale's objective (or each tile's): the named loss terms with their targets, built from the plan.

The terms are ``content`` (the photo's activations), ``style`` (the paintings' statistics; several
paintings blended into one target, or one term per painting on its own region with style masks; matched
again on the image at 1/2, 1/4... with ``style_octaves``), ``tv``, and whatever a caller adds through
``extra_terms`` (``impasto.apps.video``'s temporal term). A new built-in term is one method here.
"""
from __future__ import annotations

from typing import Callable, Optional, Sequence

import torch

from ..config.options import Options
from ..loss.objective import NamedTerm, Objective
from ..loss.statistics import blend_targets
from ..loss.terms import ContentLoss, StyleLoss, TotalVariationLoss
from ..net.features import VGGFeatures
from .device import Placement
from .inputs import RunInputs
from .plan import RunPlan
from .schedule import Stage
from .targets import TargetCache
from .tiles import Box

MIN_OCTAVE_SIDE = 192
# --protect: under a protected face the style weighs this share of what it weighs elsewhere, and the content
# this many times more (benchmarks/portraits.py measured them: the face's structure stays the photo's and the
# rest is painted as without protection).
PROTECTED_STYLE_SHARE = 0.15
PROTECTED_CONTENT_GAIN = 4.0

ExtraTerms = Callable[[Stage, Box], Sequence[NamedTerm]]


class StageObjectives:
    """Builds the objective of a scale, or of one tile of it, for a planned run."""

    def __init__(self, options: Options, plan: RunPlan, inputs: RunInputs, targets: TargetCache,
                 network: VGGFeatures, placement: Placement, extra_terms: Optional[ExtraTerms] = None):
        self.options, self.plan, self.inputs, self.targets = options, plan, inputs, targets
        self.network, self.placement, self.extra_terms = network, placement, extra_terms

    def build(self, stage: Stage, box: Optional[Box] = None) -> Objective:
        """The named loss terms of ``stage`` (only its ``box`` when given: the photo's targets cropped to
        it, the paintings' as for the whole scale), their targets computed once.

        With ``style_octaves`` > 1 the style is also matched on the image average-pooled 2x, 4x... against
        the paintings at that size (part of the ``style`` term). Without it the finest scale refines texture
        at its own size and undoes part of the large strokes the coarse scales placed. An octave is used only
        where its long side is at least MIN_OCTAVE_SIDE.
        """
        options, plan = self.options, self.plan
        box = box or Box(0, 0, *stage.shape)
        terms = []
        if options.content_weight and plan.content_layers:
            terms.append(NamedTerm("content", self.content_loss(stage.shape, box)))
        if options.style_weight:
            for octave in range(options.style_octaves):
                factor = 2**octave
                shape = (stage.shape[0] // factor, stage.shape[1] // factor)
                view = (box.height // factor, box.width // factor)
                if octave and (max(view) < MIN_OCTAVE_SIDE or min(view) < plan.smallest_side):
                    break
                terms += [NamedTerm("style", loss, downsample=factor)
                          for loss in self.style_losses(shape, box.scaled(factor))]
        if plan.tv_weight:
            terms.append(NamedTerm("tv", TotalVariationLoss(plan.tv_weight, options.tv_kind, options.tv_beta)))
        if self.extra_terms is not None:
            terms += list(self.extra_terms(stage, box))
        return Objective(self.network, terms, options.pooling, self.placement.compute_dtype)

    @torch.no_grad()
    def content_loss(self, shape: tuple[int, int], box: Box) -> ContentLoss:
        names = [name for name, _ in self.options.content_layers]
        features = self.targets.features(self.inputs.painted_content, shape, names, box=box)
        protected = self.inputs.protected_share(shape, box)
        weights = None if protected is None else self.network.propagate_mask(
            self.placement.put(1.0 + PROTECTED_CONTENT_GAIN * protected), names)
        return ContentLoss({name: features[name] for name in names}, self.plan.content_layers,
                           self.options.content_weight, self.options.content_reduction, weights,
                           self.options.normalize_gradients)

    @torch.no_grad()
    def style_losses(self, shape: tuple[int, int], box: Box) -> list[StyleLoss]:
        """Style terms for the ``box`` of an image of ``shape``, each painting seen at the size matching
        the whole image.

        Without masks: one term, the paintings' targets blended by weight. With masks: one term per painting,
        on its own region only (a guided statistic), weighted by its blend weight.
        """
        plan, inputs, statistic = self.plan, self.inputs, self.plan.statistic
        names = [name for name, _ in self.options.style_layers]
        per_image = [self.targets.style_targets(image, plan.style_sizing.size(image, shape), names, statistic)
                     for image in inputs.painted_styles]
        # A protected area takes a small share of the style: the statistics are those of the rest.
        protected = inputs.protected_share(shape, box)
        kept = None if protected is None else 1.0 - (1.0 - PROTECTED_STYLE_SHARE) * protected
        if inputs.style_masks is None:
            targets = {name: statistic.prepare(blend_targets([t[name] for t in per_image], inputs.style_blend))
                       for name in names}
            layer_masks = None if kept is None else self.network.propagate_mask(self.placement.put(kept), names)
            return [StyleLoss(statistic, targets, plan.style_layers, plan.style_weight, layer_masks,
                              self.options.normalize_gradients)]
        losses = []
        for targets, mask, weight in zip(per_image, inputs.region_masks(shape, box), inputs.style_blend):
            mask = mask if kept is None else mask * kept
            layer_masks = self.network.propagate_mask(self.placement.put(mask), names)
            prepared = {name: statistic.prepare(target) for name, target in targets.items()}
            # Blend weights sum to 1; each region's term is scaled so that equal weights give each the full
            # style weight, as a single painting would have.
            losses.append(StyleLoss(statistic, prepared, plan.style_layers,
                                    plan.style_weight * weight * len(inputs.style_images), layer_masks,
                                    self.options.normalize_gradients))
        return losses
