"""All settings of a run in one validated dataclass, built from a preset plus explicit overrides."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Optional, Sequence, Union

from ..errors import OptionError, display_path
from ..files import path_kind
from .layers import MODELS, parse_weighted_layers
from .checks import check_bounded_number, check_int, check_number
from .limits import DEFAULT_MAX_INPUT_PIXELS, MAX_SIDE, MIN_SIZE
from .prints import parse_print_size
from .choices import (BIT_DEPTHS, CONTENT_REDUCTIONS, DEVICES, INIT_KINDS, INIT_PALETTES, LINE_SEARCHES, LOSS_UNITS,
                      OPTIMIZERS, POOLINGS, PRECISIONS, PRESERVE_COLORS, PROTECT_CHOICES, RESAMPLE_FILTERS,
                      STAGE_HANDOFFS, STYLE_NORMALIZATION_CHOICES, STYLE_SHAPES, STYLE_STATISTICS, TV_KINDS)
from .presets import DEFAULT_PRESET, QUALITY_LEVELS, preset


@dataclass
class Options:
    """Every knob of a run. Field defaults are overridden by a preset, then by explicit values."""

    size: int = 512
    stage_shapes: Optional[list] = None  # exact (height, width) per stage; used when size isn't overridden
    scales: int = 4
    min_size: int = 160
    iterations: Union[int, list] = 100
    # > 0: the last scale's iterations are for an image of this aspect ratio (long side / short side) at
    # ``size``; a squarer image, which has more pixels at the same long side, gets proportionally fewer there,
    # so every image of one size costs about the same (impasto.engine.schedule.plan_stages). 0: as given.
    iterations_aspect: float = 0.0
    style_size: Optional[int] = None
    style_scale: Optional[float] = None  # style images' long side relative to the output's (jcjohnson's -style_scale)
    style_blend: Optional[list] = None
    style_shape: str = "aspect"  # "content": paintings squashed to the image's aspect ratio (D2L, the Keras blog)
    style_octaves: int = 1  # 2: the style is also matched on the image at half size (where that is >= 192 px)
    model: str = "vgg19"
    weights: Optional[str] = None
    pooling: str = "max"
    content_layers: Any = field(default_factory=lambda: [("relu4_2", 1.0)])
    style_layers: Any = field(default_factory=lambda: ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"])
    content_weight: float = 1.0
    style_weight: float = 1e3
    # > 0: the style weight follows the painting's feature energy relative to the photo's, raised to this
    # power (impasto.engine.plan._style_balance): 0 gives every painting the same weight.
    style_balance: float = 0.0
    tv_weight: float = 0.0
    # jcjohnson/neural-style's -normalize_gradients: each content and style layer's gradient is rescaled to L1
    # norm = its weight before it flows back (impasto.loss.terms.normalized_gradient); TV is left as it is.
    normalize_gradients: bool = False
    content_reduction: str = "mean"
    style_normalization: str = "d2l"
    style_loss: str = "gram"  # the style statistic: "gram" (Gatys) or "meancov" (mean and covariance, W2)
    tv_kind: str = "d2l"
    tv_beta: float = 1.25
    init: str = "content"
    init_palette: str = "content"  # "style": the initial image recoloured to the style's colour statistics
    preserve_colors: Optional[str] = None  # "luminance" or "histogram": the result keeps the photo's colours
    # "torchvision": the loss weights were tuned on torchvision's VGG with mean/std input (D2L); on another
    # network they are rescaled layer by layer by the measured ratio of activation scales (impasto.net.calibration).
    loss_units: str = "network"
    clamp_pixels: bool = True  # Adam keeps pixels displayable after each step (D2L does not)
    # How a finished scale starts the next: "bicubic" (the float image) or "d2l" (as the book: the image
    # clamped and rounded to 8 bits, then resized bilinearly by PIL).
    stage_handoff: str = "bicubic"
    # Pillow's filter for resizing the photo, the paintings and a start image to a scale's size (a recipe's own
    # library's default: D2L's torchvision Resize is bilinear, the 2019 Keras blog's Pillow 5 resize nearest).
    resample: str = "lanczos"
    optimizer: str = "adam"
    lr: float = 0.05
    lr_decay: float = 1.0
    lr_decay_every: Union[int, list] = 0
    line_search: str = "strong_wolfe"  # L-BFGS only; "none" takes the quasi-Newton step as it is (Torch7's optim)
    lbfgs_history: int = 50
    lbfgs_restart: int = 0  # L-BFGS in calls of this many evaluations, each with a fresh history (0: one call)
    seed: Optional[int] = None
    device: str = "auto"
    # The network's arithmetic while optimising: "float32" (exact; the published recipes), "bfloat16", or
    # "auto" (impasto's own presets): bfloat16 where the CPU has it in hardware (impasto.engine.device).
    precision: str = "float32"
    log_every: int = 1
    max_input_pixels: Optional[int] = DEFAULT_MAX_INPUT_PIXELS  # decompression-bomb guard; None: no limit
    # Scales larger than ``tile`` px are painted in overlapping tiles of at most tile x tile (impasto.engine.tiles);
    # None: only when the output would not fit in memory whole. ``tile_overlap`` None: the tile side / 8.
    tile: Optional[int] = None
    tile_overlap: Optional[int] = None
    # Faces (or whole people) painted lightly and held to the photo (impasto.imaging.people); "none" paints
    # everything alike; "auto": faces where MediaPipe is installed (impasto[faces]), else none.
    protect: str = "auto"
    # The output file (impasto.imaging.writers): bits per channel (16: PNG, TIFF), the photo's own colour
    # profile instead of sRGB, its GPS position, a print size ("40x30cm") that sets ``size`` for each photo,
    # and the DPI written (with a print size, also the pixels per inch; default 300 there, else the photo's).
    bit_depth: int = 8
    keep_profile: bool = False
    keep_gps: bool = False
    print_size: Optional[str] = None
    dpi: Optional[float] = None
    preset: str = DEFAULT_PRESET
    quality: str = "default"

    def to_dict(self) -> dict:
        return asdict(self)

    def validate(self) -> "Options":
        """Check every value and normalize layer specs to (canonical name, weight) pairs."""
        self._check_sizes()
        self._check_weights_and_choices()
        self.content_layers = parse_weighted_layers(self.content_layers, self.model)
        self.style_layers = parse_weighted_layers(self.style_layers, self.model)
        if self.stage_shapes is not None:
            self.stage_shapes = [tuple(int(v) for v in shape) for shape in self.stage_shapes]
            for shape in self.stage_shapes:
                if len(shape) != 2 or min(shape) < MIN_SIZE or max(shape) > MAX_SIDE:
                    raise OptionError(f"stage shape {shape} must be (height, width), each from {MIN_SIZE} to "
                                      f"{MAX_SIDE}")
        stages = self.stage_count()
        self.iterations = _per_stage("iterations", self.iterations, stages)
        optimizers = self.stage_optimizers()
        if any(name not in OPTIMIZERS for name in optimizers) or len(optimizers) not in (1, stages):
            raise OptionError(f"optimizer must be adam or lbfgs, or one of them per scale (e.g. lbfgs,adam), "
                              f"got {self.optimizer!r} for {stages} scales")
        self.lr_decay_every = _per_stage("lr_decay_every", self.lr_decay_every, stages)
        if self.style_blend is not None:
            blend = [float(w) for w in self.style_blend]
            for weight in blend:
                check_number("style blend weight", weight)
            if sum(blend) <= 0:
                raise OptionError("style blend weights must not all be zero")
            self.style_blend = blend
        if self.seed is not None:
            check_int("seed", self.seed)
        for name in ("clamp_pixels", "normalize_gradients"):
            if not isinstance(getattr(self, name), bool):
                raise OptionError(f"{name} must be True or False, got {getattr(self, name)!r}")
        return self

    def _check_sizes(self) -> None:
        """The pixel sizes, counts and tiles (integers in their ranges, limits.INT_RANGES), and the colour
        preservation, which may be None."""
        for name in ("size", "scales", "min_size", "log_every", "lbfgs_history", "lbfgs_restart", "style_octaves"):
            check_int(name, getattr(self, name))
        if self.style_size is not None:
            check_int("style_size", self.style_size)
        if self.style_scale is not None:
            check_bounded_number("style_scale", self.style_scale)
            if self.style_size is not None:
                raise OptionError("give style_size (pixels) or style_scale (relative to the output), not both")
        if self.preserve_colors is not None and self.preserve_colors not in PRESERVE_COLORS:
            raise OptionError(f"preserve_colors must be one of {', '.join(PRESERVE_COLORS)}, "
                              f"got {self.preserve_colors!r}")
        for name in ("max_input_pixels", "tile", "tile_overlap"):
            if getattr(self, name) is not None:
                check_int(name, getattr(self, name))
        if self.bit_depth not in BIT_DEPTHS:
            raise OptionError(f"bit_depth must be one of {', '.join(map(str, BIT_DEPTHS))}, got {self.bit_depth!r}")
        if self.dpi is not None:
            check_bounded_number("dpi", self.dpi)
        if self.print_size is not None:
            parse_print_size(self.print_size)
        for name in ("keep_profile", "keep_gps"):
            if not isinstance(getattr(self, name), bool):
                raise OptionError(f"{name} must be True or False, got {getattr(self, name)!r}")
        if self.tile_overlap is not None and self.tile is not None and 2 * self.tile_overlap >= self.tile:
            raise OptionError(f"tile_overlap must be less than half the tile ({self.tile} px), got "
                              f"{self.tile_overlap}")

    def _check_weights_and_choices(self) -> None:
        """The loss weights and rates (finite, >= 0) and every enumerated setting (choices.py)."""
        if self.model not in MODELS:
            raise OptionError(f"unknown model {self.model!r}: choose one of {', '.join(MODELS)}")
        for name in ("content_weight", "style_weight", "tv_weight", "tv_beta", "lr", "lr_decay"):
            check_number(name, getattr(self, name))
        check_bounded_number("style_balance", self.style_balance)
        check_bounded_number("iterations_aspect", self.iterations_aspect)
        if 0 < self.iterations_aspect < 1:
            raise OptionError(f"iterations_aspect must be 0 (iterations as given) or a long side over a short "
                              f"side, at least 1, got {self.iterations_aspect}")
        if self.lr <= 0:
            raise OptionError(f"lr must be > 0, got {self.lr}")
        if self.lr_decay <= 0:
            raise OptionError(f"lr_decay must be > 0, got {self.lr_decay}")
        for name, allowed in (("content_reduction", CONTENT_REDUCTIONS),
                              ("style_normalization", STYLE_NORMALIZATION_CHOICES),
                              ("style_loss", STYLE_STATISTICS),
                              ("tv_kind", TV_KINDS),
                              ("device", DEVICES), ("precision", PRECISIONS), ("pooling", POOLINGS),
                              ("init_palette", INIT_PALETTES), ("line_search", LINE_SEARCHES),
                              ("loss_units", LOSS_UNITS), ("stage_handoff", STAGE_HANDOFFS),
                              ("resample", RESAMPLE_FILTERS), ("style_shape", STYLE_SHAPES),
                              ("protect", PROTECT_CHOICES)):
            if getattr(self, name) not in allowed:
                raise OptionError(f"{name} must be one of {', '.join(allowed)}, "
                                  f"got {getattr(self, name)!r}")
        if self.init not in INIT_KINDS and path_kind(str(self.init), "init image") != "file":
            raise OptionError(f"init must be content, uniform, normal, mean, keras or an image file; "
                              f"{display_path(str(self.init))} is none")

    def stage_optimizers(self) -> list[str]:
        """The optimizer of each scale: ``"adam"`` for all, or a comma-separated list such as ``"lbfgs,adam"``."""
        names = [name.strip() for name in str(self.optimizer).split(",")]
        return names * self.stage_count() if len(names) == 1 else names

    def stage_count(self) -> int:
        return len(self.stage_shapes) if self.stage_shapes is not None else self.scales


def _per_stage(name: str, value: Union[int, Sequence[int]], stages: int) -> list[int]:
    """One value per stage: a single number is repeated; a list must have one entry per stage."""
    values = [value] * stages if isinstance(value, int) and not isinstance(value, bool) else list(value)
    if len(values) != stages:
        raise OptionError(f"{name} has {len(values)} values for {stages} scales")
    for item in values:
        check_int(name, item)
    return [int(item) for item in values]


def resolve_options(preset_name: str = DEFAULT_PRESET, **overrides: Any) -> Options:
    """A preset's values, then explicit overrides (``None`` means "not given"), validated.

    Changing the size or the number of scales of a preset with fixed stage shapes switches it to
    aspect-keeping long-side stages; a single given iteration count is then spread to every stage.
    """
    known = {f.name for f in fields(Options)}
    unknown = set(overrides) - known
    if unknown:
        raise OptionError(f"unknown option(s): {', '.join(sorted(unknown))}")
    values = preset(preset_name)
    given = {key: value for key, value in overrides.items() if value is not None}
    quality = given.get("quality", "default")
    if quality not in QUALITY_LEVELS:
        raise OptionError(f"quality must be one of {', '.join(QUALITY_LEVELS)}, got {quality!r}")
    if quality != "default" and preset_name != DEFAULT_PRESET:
        raise OptionError(f"quality {quality} applies to the {DEFAULT_PRESET} preset; the {preset_name} preset "
                          f"is a fixed recipe (set its iterations instead)")
    values.update(QUALITY_LEVELS[quality])
    if values.get("stage_shapes") and ({"size", "scales", "min_size"} & set(given)):
        shapes = values.pop("stage_shapes")
        values["size"] = given.get("size", max(shapes[-1]))
        values["scales"] = given.get("scales", len(shapes))
        # The first stage keeps its ratio to the last one (D2L: 225 / 900 of the output's long side).
        ratio = max(shapes[0]) / max(shapes[-1])
        values["min_size"] = given.get("min_size", max(MIN_SIZE, round(values["size"] * ratio)))
    if "scales" in given:
        # A preset's per-scale lists follow a new number of scales unless they were given too.
        for name in ("iterations", "lr_decay_every"):
            if name not in given and isinstance(values.get(name), list) and len(values[name]) != given["scales"]:
                values[name] = _respread(values[name], given["scales"])
    if "stage_shapes" in given:
        values.pop("size", None)
    values.update(given)
    if given.get("init", "content") != "content" and "init_palette" not in given:
        # A start the user chose (an image file, noise) is used as it is; recolouring is asked for explicitly.
        values["init_palette"] = "content"
    values["preset"] = preset_name
    options = Options(**values).validate()
    _check_conflicts(options, given)
    return options


def _check_conflicts(options: Options, given: dict) -> None:
    """Options that were asked for explicitly but would silently do nothing."""
    adam_only = sorted({"lr", "lr_decay", "lr_decay_every"} & set(given))
    if "adam" not in options.stage_optimizers() and adam_only:
        raise OptionError(f"{', '.join(adam_only)} set the Adam step size; L-BFGS finds its own (drop it)")
    lbfgs_only = sorted({"line_search", "lbfgs_history", "lbfgs_restart"} & set(given))
    if "lbfgs" not in options.stage_optimizers() and lbfgs_only:
        raise OptionError(f"{', '.join(lbfgs_only)} set L-BFGS, but no scale uses it (set optimizer to lbfgs, "
                          f"or drop it)")
    if options.normalize_gradients and options.line_search != "none" and "lbfgs" in options.stage_optimizers():
        # A line search compares loss values along the step, and normalized gradients are not the loss's.
        raise OptionError("normalize_gradients with L-BFGS needs line_search 'none' (as jcjohnson/neural-style): "
                          "the normalized gradient is not the loss's, which a line search relies on")
    if "tv_beta" in given and options.tv_kind != "keras":
        raise OptionError("tv_beta applies to tv_kind 'keras' only")


def _respread(value: Union[int, list], stages: int) -> Union[int, list]:
    """Stretch a per-stage list to ``stages`` entries by sampling it evenly (first and last kept)."""
    if not isinstance(value, list):
        return value
    if stages == 1:
        return [value[-1]]
    return [value[round(i * (len(value) - 1) / (stages - 1))] for i in range(stages)]
