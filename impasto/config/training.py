"""The settings of ``impasto train``: how a feed-forward painter is trained (torch-free, checked before
PyTorch loads). The losses are a still's: their layers, normalizations and weights come from a preset
(``loss_options``), overridable here, so a trained model and a still paint toward the same objective."""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Optional

from ..errors import OptionError
from .checks import check_int, check_number
from .choices import DEVICES, PRECISIONS, STABILITY_KINDS
from .limits import DEFAULT_MAX_INPUT_PIXELS, DEFAULT_MODEL_BLOCKS, DEFAULT_MODEL_WIDTH, MIN_SIZE
from .options import Options, resolve_options
from .presets import DEFAULT_PRESET, PRESETS

# Chosen by training the candy painting on 128 px crops for a few minutes each way (benchmarks/RESULTS.md,
# "Instant styles"): with the still's content layer alone (relu4_2) a network starting from random weights
# finds it cheaper to give up the photo than to paint it, and after 300 steps paints blots of two colours
# where a cat's face was; adding relu3_1, as Johnson et al. use a middle layer, keeps eyes and outlines. At
# the still's style weight it then paints the painting's colours with little of its texture; at twice that
# weight the strokes come.
TRAINING_STYLE_FACTOR = 2.0
TRAINING_CONTENT_LAYERS = [("relu3_1", 1.0), ("relu4_2", 1.0)]


@dataclass
class TrainingOptions:
    """How a painter is trained. ``None`` weights: the preset's (the style's times TRAINING_STYLE_FACTOR).
    The defaults take about an hour on a 2-core CPU (1500 steps of 2 crops of 256 px)."""

    steps: int = 1500
    batch_size: int = 2
    crop: int = 256  # training crops are crop x crop px, from photos at about twice that size
    style_size: int = 512  # the paintings' long side: the size the model paints at best
    lr: float = 1e-3
    model_width: int = DEFAULT_MODEL_WIDTH
    model_blocks: int = DEFAULT_MODEL_BLOCKS
    content_weight: Optional[float] = None
    style_weight: Optional[float] = None
    tv_weight: Optional[float] = None
    content_layers: Optional[list] = None  # None: TRAINING_CONTENT_LAYERS
    style_layers: Optional[list] = None  # None: the preset's (the still's own)
    # 2: the style is also matched on each painted crop at half size, against the paintings at half
    # --style-size, as the still's default matches it at its last scale (style_octaves there), so the
    # painter is asked for the painting's larger strokes too.
    style_octaves: int = 1
    # Against flicker in video without optical flow at inference: the painting of a photo is held to the
    # painting of the same photo moved slightly ("motion") or with a little noise ("noise", Gupta et al. 2017).
    stability_weight: float = 0.0
    stability: str = STABILITY_KINDS[0]
    style_blend: Optional[list] = None
    checkpoint_every: int = 100
    preview_every: int = 100
    seed: Optional[int] = None
    device: str = "auto"
    # The loss network's arithmetic. float32 by default: bfloat16 ("auto" on a CPU with AMX or AVX-512 BF16)
    # makes a step 1.3-1.4x faster, and the bundled models' last steps were trained so (benchmarks/RESULTS.md,
    # "Candy, further"), but no A/B from one start has compared the two yet.
    precision: str = "float32"
    preset: str = DEFAULT_PRESET
    max_input_pixels: Optional[int] = DEFAULT_MAX_INPUT_PIXELS

    def validate(self) -> "TrainingOptions":
        for name in ("steps", "batch_size", "crop", "style_size", "model_width", "model_blocks",
                     "checkpoint_every", "preview_every", "style_octaves"):
            check_int(name, getattr(self, name))
        smallest = min(self.crop, self.style_size) // 2 ** (self.style_octaves - 1)
        if smallest < MIN_SIZE:
            raise OptionError(f"style_octaves {self.style_octaves} would match the style on views of {smallest} px "
                              f"(under {MIN_SIZE}): use fewer octaves or a larger crop and style_size")
        for name in ("lr", "stability_weight", "content_weight", "style_weight", "tv_weight"):
            if getattr(self, name) is not None:
                check_number(name, getattr(self, name))
        if not self.lr:
            raise OptionError("lr must be above 0")
        if self.seed is not None:
            check_int("seed", self.seed)
        for name, allowed in (("device", DEVICES), ("stability", STABILITY_KINDS), ("precision", PRECISIONS)):
            if getattr(self, name) not in allowed:
                raise OptionError(f"{name} must be one of {', '.join(allowed)}, got {getattr(self, name)!r}")
        if self.preset not in PRESETS:
            raise OptionError(f"unknown preset {self.preset!r}: choose one of {', '.join(PRESETS)}")
        return self

    def loss_options(self) -> Options:
        """The still's options whose losses the painter is trained on."""
        base = resolve_options(self.preset)
        return replace(
            base,
            content_weight=base.content_weight if self.content_weight is None else self.content_weight,
            style_weight=base.style_weight * TRAINING_STYLE_FACTOR if self.style_weight is None else self.style_weight,
            tv_weight=base.tv_weight if self.tv_weight is None else self.tv_weight,
            content_layers=TRAINING_CONTENT_LAYERS if self.content_layers is None else self.content_layers,
            style_layers=base.style_layers if self.style_layers is None else self.style_layers,
            style_blend=self.style_blend, device=self.device,
            precision=self.precision).validate()

    def to_dict(self) -> dict:
        return asdict(self)


def training_options(**values) -> TrainingOptions:
    """Validated ``TrainingOptions`` from keywords; an unknown name is an ``OptionError``."""
    known = {field.name for field in fields(TrainingOptions)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise OptionError(f"unknown training option {unknown[0]!r}")
    return TrainingOptions(**{name: value for name, value in values.items() if value is not None}).validate()
