"""Training a feed-forward painter (Johnson et al. 2016) on the still's own losses.

``Trainer`` takes the paintings, the training photos (``impasto.imaging.photos``) and ``TrainingOptions``;
each step paints a batch of random crops with the ``TransformerNet``, scores the batch with a
``BatchObjective`` built from the same loss terms a still uses (``ContentLoss`` on the still's content
layers, one ``StyleLoss`` holding the paintings' blended statistics, ``TotalVariationLoss``), adds the
stability term when asked, and takes an Adam step. The caller gets a ``TrainingProgress`` after each step
and may take ``trainer.model()`` at any time (a checkpoint, or the model after Ctrl-C): the network as it
is, the record of what made it, and the optimizer's state for ``resume``.

The stability term is what lets a model paint video at frame rate without optical flow. A network is
equivariant only to shifts by multiples of its 4 px stride; between two frames of a panning or zooming
camera the picture moves by fractions of that, and an unconstrained network redraws its strokes. The
``motion`` term (the default kind) paints each crop and the crop seen by a slightly moved camera
(``camera_motion``: a shift, zoom and turn like those between frames) and asks the second painting to be
the first one moved alike; ``noise`` is Gupta et al.'s (2017) photo with a little noise, which did not
lower the flicker of a panning clip (benchmarks/RESULTS.md, "Steady video").
"""
from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import torch
import torch.nn.functional as F
from PIL import Image

from ..config.training import TrainingOptions
from ..errors import NumericalError, OptionError
from ..imaging.images import fit_long_side, image_to_tensor, tensor_to_image
from ..imaging.photos import RandomCrops
from ..loss.objective import BatchObjective
from ..loss.statistics import blend_targets, style_statistic
from ..loss.terms import StyleLoss, TotalVariationLoss
from ..net.features import VGGFeatures
from ..net.model_file import TrainedModel
from ..net.transformer import TransformerNet
from ..net.weights import load_weights
from .device import Placement

THUMBNAIL_SIDE = 128
# Gupta et al.'s stability term: the noise added to the photo, in 0..1 units (about 10 levels of 255).
STABILITY_NOISE = 0.04
# The motion stability term's camera moves, between two frames of a clip: a shift of up to this many pixels
# each way, a zoom by up to this share, a turn by up to this many degrees.
MOTION_SHIFT = 6.0
MOTION_ZOOM = 0.03
MOTION_TURN = 1.0
# Pixels at each border left out of the motion term: there the moved photo shows what the crop did not hold.
MOTION_MARGIN = 12


@dataclass(frozen=True)
class TrainingProgress:
    step: int  # steps done, counting those before a resume
    steps: int
    terms: dict[str, float]
    seconds: float  # this session's training time

    @property
    def total(self) -> float:
        return sum(self.terms.values())


def painting_digest(image: Image.Image) -> str:
    """A digest of a painting's pixels, recorded in the model (which painting made it, whatever its name)."""
    digest = hashlib.blake2b(image.tobytes(), digest_size=16)
    digest.update(f"{image.mode}{image.size}".encode())
    return digest.hexdigest()


def thumbnail(image: Image.Image, side: int = THUMBNAIL_SIDE) -> torch.Tensor:
    height, width = fit_long_side(image.width, image.height, min(side, max(image.size)))
    return (image_to_tensor(image, (height, width))[0].permute(1, 2, 0) * 255 + 0.5).clamp(0, 255).to(torch.uint8)


def camera_motion(shape: torch.Size, generator: torch.Generator) -> torch.Tensor:
    """A random small camera move per image of a (N, C, H, W) batch, as (N, 2, 3) affine matrices in
    ``F.affine_grid``'s units: a shift of up to MOTION_SHIFT px, a zoom of up to MOTION_ZOOM, a turn of up
    to MOTION_TURN degrees, as between two frames of a clip."""
    count, height, width = shape[0], shape[-2], shape[-1]
    draws = torch.rand((count, 4), generator=generator) * 2.0 - 1.0
    scale = 1.0 + MOTION_ZOOM * draws[:, 0]
    angle = math.radians(MOTION_TURN) * draws[:, 1]
    cos, sin = angle.cos() * scale, angle.sin() * scale
    # affine_grid's coordinates run -1..1 across the image: one pixel is 2 / side.
    shift_x, shift_y = draws[:, 2] * MOTION_SHIFT * 2.0 / width, draws[:, 3] * MOTION_SHIFT * 2.0 / height
    aspect = height / width  # a turn in pixels, not in the unequal units of a non-square grid
    return torch.stack([torch.stack([cos, -sin * aspect, shift_x], 1),
                        torch.stack([sin / aspect, cos, shift_y], 1)], 1)


def moved(images: torch.Tensor, motion: torch.Tensor) -> torch.Tensor:
    """``images`` seen by the camera moved by ``motion`` (``camera_motion``), resampled bilinearly."""
    grid = F.affine_grid(motion, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="reflection", align_corners=False)


class Trainer:
    """Trains a painter for ``paintings`` (RGB images; several blend by ``options.style_blend``) on crops of
    ``photos`` (uint8 (3, H, W) tensors). ``resume``: a model (with its training state) to continue."""

    def __init__(self, paintings: Sequence[Image.Image], photos: Sequence[torch.Tensor], options: TrainingOptions,
                 *, network: Optional[VGGFeatures] = None, resume: Optional[TrainedModel] = None,
                 record: Optional[dict] = None):
        self.options = options
        self.loss_options = loss_options = options.loss_options()
        self.placement = Placement.named(options.device, loss_options.precision)
        self.paintings = list(paintings)
        blend = options.style_blend or [1.0] * len(self.paintings)
        if len(blend) != len(self.paintings):
            raise OptionError(f"style_blend has {len(blend)} weights for {len(self.paintings)} paintings")
        if not sum(blend) > 0:
            raise OptionError("style_blend weights must not all be zero")
        self.blend = [weight / sum(blend) for weight in blend]
        style_names = [name for name, _ in loss_options.style_layers]
        content_names = [name for name, _ in loss_options.content_layers]
        if network is None:
            network = VGGFeatures(load_weights(loss_options.weights, loss_options.model), style_names + content_names,
                                  loss_options.pooling)
        self.network = self.placement.put(network)
        style = self._style_term(options.style_size)
        octaves = [] if style is None else [self._style_term(options.style_size // 2**octave)
                                            for octave in range(1, options.style_octaves)]
        self.objective = BatchObjective(self.network, style, loss_options.content_layers,
                                        loss_options.content_weight, loss_options.content_reduction,
                                        self._tv_term(), loss_options.pooling, self.placement.compute_dtype, octaves)
        self.generator = torch.Generator().manual_seed(options.seed if options.seed is not None
                                                       else int(torch.empty((), dtype=torch.int64).random_()))
        self.crops = RandomCrops(photos, options.crop, self.generator)
        self.step = 0
        self.seconds = 0.0
        self.record = dict(record or {})
        if resume is not None:
            self.painter = self.placement.put(resume.network).train()
            self.step = resume.steps
            self.seconds = float(resume.record.get("seconds", 0.0))
        else:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(int(torch.randint(2**62, (), generator=self.generator)))
                self.painter = self.placement.put(TransformerNet(options.model_width, options.model_blocks)).train()
        self.optimizer = torch.optim.Adam(self.painter.parameters(), lr=options.lr)
        if resume is not None and resume.training is not None:
            self.optimizer.load_state_dict(resume.training["optimizer"])
            # Adam's saved state carries the rate it ran at; a resumed training runs at the options' (the
            # recorded one unless a new one was given), as its record says.
            for group in self.optimizer.param_groups:
                group["lr"] = options.lr
            if isinstance(resume.training.get("rng"), torch.Tensor):
                self.generator.set_state(resume.training["rng"])

    def _style_term(self, style_size: int) -> Optional[StyleLoss]:
        """The style term with the paintings seen at ``style_size`` px long side."""
        options = self.loss_options
        if not options.style_weight:
            return None
        statistic = style_statistic(options.style_loss, options.style_normalization)
        names = [name for name, _ in options.style_layers]
        per_painting = []
        with torch.no_grad():
            for painting in self.paintings:
                shape = fit_long_side(painting.width, painting.height, style_size)
                features = self.network(self.placement.put(image_to_tensor(painting, shape)), names,
                                        compute_dtype=self.placement.compute_dtype)
                per_painting.append({name: statistic.target(features[name]) for name in names})
        targets = {name: statistic.prepare(blend_targets([t[name] for t in per_painting], self.blend))
                   for name in names}
        return self.placement.put(StyleLoss(statistic, targets, options.style_layers, options.style_weight))

    def _tv_term(self) -> Optional[TotalVariationLoss]:
        options = self.loss_options
        return TotalVariationLoss(options.tv_weight, options.tv_kind, options.tv_beta) if options.tv_weight else None

    def train_step(self) -> dict[str, float]:
        photos = self.placement.put(self.crops.batch(self.options.batch_size))
        painted = self.painter(photos)
        terms = self.objective(painted, photos)
        if self.options.stability_weight:
            terms["stability"] = self.options.stability_weight * self._instability(photos, painted)
        total = sum(terms.values())
        if not torch.isfinite(total):
            raise NumericalError(f"the training loss stopped being a finite number at step {self.step + 1}; "
                                 f"lower lr (now {self.options.lr:g})")
        self.optimizer.zero_grad(set_to_none=True)
        total.backward()
        self.optimizer.step()
        return {name: value.item() for name, value in terms.items()}

    def _instability(self, photos: torch.Tensor, painted: torch.Tensor) -> torch.Tensor:
        """How much the painting changes when the photo changes a little: moved (the painting of the moved
        photo against the painting moved alike, inside the borders) or noisy (Gupta et al.)."""
        if self.options.stability == "noise":
            noise = torch.randn(photos.shape, generator=self.generator).to(photos.device, photos.dtype)
            shaken = self.painter((photos + STABILITY_NOISE * noise).clamp(0.0, 1.0))
            return (shaken - painted).square().mean()
        motion = camera_motion(photos.shape, self.generator).to(photos.device, photos.dtype)
        difference = self.painter(moved(photos, motion)) - moved(painted, motion)
        return difference[..., MOTION_MARGIN:-MOTION_MARGIN, MOTION_MARGIN:-MOTION_MARGIN].square().mean()

    def run(self, callback: Optional[Callable[[TrainingProgress], None]] = None) -> TrainedModel:
        """Train until ``options.steps`` steps are done (counting a resumed model's); a KeyboardInterrupt
        leaves the model as it was after the last whole step (take it with ``model()``)."""
        while self.step < self.options.steps:
            started = time.perf_counter()
            terms = self.train_step()
            self.step += 1
            self.seconds += time.perf_counter() - started
            if callback is not None:
                callback(TrainingProgress(self.step, self.options.steps, terms, self.seconds))
        return self.model()

    @torch.no_grad()
    def preview(self, photo: Image.Image, long_side: int) -> Image.Image:
        """``photo`` painted by the network as it is now, at ``long_side`` px."""
        self.painter.eval()
        try:
            rgb = image_to_tensor(photo, fit_long_side(photo.width, photo.height, long_side))
            return tensor_to_image(self.painter.paint(self.placement.put(rgb)))
        finally:
            self.painter.train()

    def model(self) -> TrainedModel:
        """The painter as it is now, with its record and training state."""
        record = {**self.record, "steps": self.step, "seconds": round(self.seconds, 1),
                  "training_options": self.options.to_dict(),
                  "paintings": [{"digest": painting_digest(p), "size": list(p.size), "blend": weight,
                                 **(self.record.get("paintings", [{}] * len(self.paintings))[i])}
                                for i, (p, weight) in enumerate(zip(self.paintings, self.blend))],
                  "losses": {"preset": self.options.preset, "content_weight": self.loss_options.content_weight,
                             "style_weight": self.loss_options.style_weight, "tv_weight": self.loss_options.tv_weight,
                             "content_layers": self.loss_options.content_layers,
                             "style_layers": self.loss_options.style_layers,
                             "precision_used": self.placement.precision_used}}
        training = {"optimizer": self.optimizer.state_dict(), "step": self.step, "rng": self.generator.get_state()}
        return TrainedModel(self.painter, record, [thumbnail(p) for p in self.paintings], training)
