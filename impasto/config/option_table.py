"""Every command-line setting of a painting in one table, from which the commands build their parsers.

A row (``OptionSpec``) says a setting's flag, where its value goes (``name``: the ``Options`` field, or the
report or video setting of that name), the help section it is listed in, what kind of value it takes and
the help text. What a value may be is not written here: the choices are read from ``choices.py``,
``layers.py`` and ``presets.py``, the ranges from ``limits.py`` (``{range}`` in a help text is filled in from
there), so the Python API's checks (``options.Options.validate``, ``checks``) and the command line cannot
drift apart.

Why a table of rows and not metadata on the ``Options`` fields: the table also holds settings that are not
``Options`` fields (the reports of ``impasto``, the video settings of ``impasto video``, the style masks),
its order is the order of the help (sections in the order a user reads them, not the order of the
dataclass), and ``Options`` stays a plain dataclass that reads as the list of a run's knobs. The test
``tests/test_option_table.py`` holds the two together: every ``Options`` field has a row here or is named
in ``FIELDS_WITHOUT_FLAG`` with the reason.

Plain data and no heavy imports: the command line builds its parser from it before PyTorch loads.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

from . import choices
from .layers import MODELS
from .limits import DEFAULT_FRAME_ITERATIONS, DEFAULT_MAX_INPUT_PIXELS, DEFAULT_TEMPORAL_WEIGHT, range_text
from .presets import DEFAULT_PRESET, PRESETS, QUALITY_LEVELS


class Kind(enum.Enum):
    """What a flag takes, and so how the command line parses and checks it."""

    INT = "an integer in its range (limits.INT_RANGES)"
    INT_LIST = "an integer, or a comma-separated list of them (one per scale), each in its range"
    NUMBER = "a finite number >= 0"
    BOUNDED_NUMBER = "a finite number in its range (limits.FLOAT_RANGES)"
    NUMBER_LIST = "comma-separated numbers"
    CHOICE = "one of the row's choices"
    TEXT = "free text (a path, a layer list...): checked where it is used"
    REPEATED_TEXT = "free text, once per use of the flag (collected in a list)"
    TOGGLE = "--flag / --no-flag; unset leaves the preset's value"
    SWITCH = "--flag alone: on"


# Help sections (argparse groups), in the order of the help. None: the parser's own "options" section.
SIZE_AND_SCHEDULE = "size and schedule"
ARTISTIC_CONTROL = "artistic control"
NETWORK = "network"
LOSSES = "losses"
OPTIMIZATION = "optimization"
OUTPUT_FILE = "output file"
REPORTS = "reports"
VIDEO = "video"
# The sections of a painting's own options, shared by every command that paints (impasto, batch, video).
RUN_GROUPS = (None, SIZE_AND_SCHEDULE, ARTISTIC_CONTROL, NETWORK, LOSSES, OPTIMIZATION)


@dataclass(frozen=True)
class OptionSpec:
    """One flag: where its value goes, where it is listed, what it takes, and its help."""

    name: str  # the argparse dest: an Options field, or the report / video setting; also its limits key
    flag: str
    group: str | None
    kind: Kind
    help: str | None = None  # "{range}" is replaced by the range's text
    choices: tuple = ()
    metavar: str | None = None
    default: object = None  # None: unset, so that the preset's value holds

    @property
    def help_text(self) -> str | None:
        """The help with the range written in, as ``--help`` shows it."""
        if self.help is None or "{range}" not in self.help:
            return self.help
        return self.help.replace("{range}", range_text(self.name))


def _spec(name: str, group: str | None, kind: Kind, help: str | None = None, *, flag: str | None = None,
          **details) -> OptionSpec:
    """A row whose flag is the name with dashes (``style_size``: ``--style-size``) unless given."""
    return OptionSpec(name, flag or f"--{name.replace('_', '-')}", group, kind, help, **details)


_RUN_OPTIONS = (
    _spec("preset", None, Kind.CHOICE, "recipe to start from", choices=tuple(PRESETS), default=DEFAULT_PRESET),
    _spec("quality", None, Kind.CHOICE, "draft (about 6 s), default (about 15 s) or high (about 40 s) for a "
                                        "512 px photo on a 2-core CPU with bfloat16 hardware, about twice that "
                                        "without; for the default preset",
          choices=tuple(QUALITY_LEVELS)),
    _spec("size", SIZE_AND_SCHEDULE, Kind.INT, "output long side in pixels (aspect ratio kept; {range})"),
    _spec("scales", SIZE_AND_SCHEDULE, Kind.INT, "number of coarse-to-fine scales ({range})"),
    _spec("min_size", SIZE_AND_SCHEDULE, Kind.INT, "long side of the first (coarsest) scale ({range})"),
    _spec("iterations", SIZE_AND_SCHEDULE, Kind.INT_LIST,
          "iterations per scale: one number or a list, e.g. 100,50,20 (each {range})"),
    _spec("iterations_aspect", SIZE_AND_SCHEDULE, Kind.BOUNDED_NUMBER,
          "the iterations are for an image this elongated (long side / short side; 1.5 in the default "
          "preset): a squarer one, with more pixels at the same --size, gets proportionally fewer at every "
          "scale, so it takes about as long (0: as given; {range})", metavar="RATIO"),
    _spec("style_size", SIZE_AND_SCHEDULE, Kind.INT,
          "style images' long side at the output scale (default: --size; {range})"),
    _spec("style_shape", SIZE_AND_SCHEDULE, Kind.CHOICE,
          "paintings keep their aspect ratio (default) or are squashed to the photo's (content: the d2l and "
          "keras-blog presets, as their documents resize both images to one shape)", choices=choices.STYLE_SHAPES),
    _spec("style_scale", SIZE_AND_SCHEDULE, Kind.BOUNDED_NUMBER,
          "style images' size relative to the output (0.5: finer strokes, 2: larger), as jcjohnson's "
          "-style_scale; instead of --style-size ({range})"),
    _spec("max_input_pixels", SIZE_AND_SCHEDULE, Kind.INT,
          f"refuse input images larger than this (decompression-bomb guard; default {DEFAULT_MAX_INPUT_PIXELS}; "
          "{range})"),
    _spec("style_octaves", SIZE_AND_SCHEDULE, Kind.INT,
          "match the style on the image at 1, 1/2, 1/4... of its size (default preset: 2; {range})"),
    _spec("style_blend", SIZE_AND_SCHEDULE, Kind.NUMBER_LIST, "weights of several style images, e.g. 0.7,0.3"),
    _spec("tile", SIZE_AND_SCHEDULE, Kind.INT,
          "paint the scales larger than N px in overlapping tiles of at most NxN px, for big prints (default: "
          "only when the output would not fit in memory whole, then 1024; {range})", metavar="N"),
    _spec("tile_overlap", SIZE_AND_SCHEDULE, Kind.INT,
          "pixels shared by neighbouring tiles, blended across (default: the tile side / 8)", metavar="PX"),
    _spec("preserve_colors", ARTISTIC_CONTROL, Kind.CHOICE,
          "keep the photo's colours: luminance (paint the luminance, put the photo's chroma back) or histogram "
          "(recolour the paintings to the photo's palette first)", choices=choices.PRESERVE_COLORS),
    _spec("style_masks", ARTISTIC_CONTROL, Kind.REPEATED_TEXT,
          "once per style image, in order: where that style paints (white: here, grey: a share, black: not "
          "here); the content's aspect ratio", flag="--style-mask", metavar="MASK"),
    _spec("protect", ARTISTIC_CONTROL, Kind.CHOICE,
          "faces: paint faces lightly and hold their features to the photo; people: whole people too (faces "
          "fully, bodies half); none: paint everything alike; auto (default): faces where pip install "
          "'impasto[faces]' has been done, else none",
          choices=choices.PROTECT_CHOICES),
    _spec("model", NETWORK, Kind.CHOICE, "VGG architecture (--model is a trained model: impasto train)",
          choices=MODELS, flag="--network"),
    _spec("weights", NETWORK, Kind.TEXT, "torchvision .pth or Keras .h5 VGG weights (default: bundled VGG-19)"),
    _spec("pooling", NETWORK, Kind.CHOICE, "pooling layers (avg: smoother results)", choices=choices.POOLINGS),
    _spec("content_layers", NETWORK, Kind.TEXT, "e.g. relu4_2 or conv4_2:1,conv5_2:0.5 or D2L index 25"),
    _spec("style_layers", NETWORK, Kind.TEXT, "e.g. relu1_1,relu2_1,relu3_1:0.5 or block3_conv3 or 0,5,10"),
    _spec("content_weight", LOSSES, Kind.NUMBER),
    _spec("style_weight", LOSSES, Kind.NUMBER),
    _spec("style_balance", LOSSES, Kind.BOUNDED_NUMBER,
          "let the style weight follow the painting's feature energy against the photo's, to this power "
          "(default preset: 0.55; 0: the same weight for every painting; {range})"),
    _spec("tv_weight", LOSSES, Kind.NUMBER),
    _spec("normalize_gradients", LOSSES, Kind.TOGGLE,
          "jcjohnson/neural-style's -normalize_gradients: each content and style layer pushes the image with "
          "the force of its weight (its gradient rescaled to unit L1 norm), whatever the size of its loss; "
          "the weights then mean something else: with it, the default preset paints far more strongly, so "
          "lower --style-weight"),
    _spec("content_reduction", LOSSES, Kind.CHOICE,
          "mean (D2L) or sum (Gatys, Keras blog) of squared differences, or relative: their sum over the "
          "target's squared norm (impasto's default)", flag="--content-loss", choices=choices.CONTENT_REDUCTIONS),
    _spec("style_normalization", LOSSES, Kind.CHOICE,
          "d2l: Gram/(c*h*w), mean squared; gatys: sum squared / (4 c^2 (hw)^2); relative: ||G - A||^2 / "
          "||A||^2 per layer (impasto's default); keras: sum squared / (4 * 3^2 * (image H W)^2) for every "
          "layer, the Keras blog's", flag="--style-norm", choices=choices.STYLE_NORMALIZATION_CHOICES),
    _spec("style_loss", LOSSES, Kind.CHOICE,
          "the style statistic: gram (Gram matrices, Gatys et al.; default) or meancov (channel mean and "
          "covariance, a Wasserstein-2 distance as in crowsonkb/style-transfer-pytorch)",
          choices=choices.STYLE_STATISTICS),
    _spec("tv_kind", LOSSES, Kind.CHOICE, "d2l: mean |diff|; keras: sum (dx^2+dy^2)^beta", choices=choices.TV_KINDS),
    _spec("tv_beta", LOSSES, Kind.NUMBER, "exponent beta of the keras TV form (default 1.25)"),
    _spec("init", OPTIMIZATION, Kind.TEXT,
          "content, uniform, normal, mean (the network's mean pixel plus faint noise, jcjohnson's -init "
          "random), keras (uniform 0..255 minus 128 in the network's units, the Keras blog's), or an image "
          "file to start from"),
    _spec("init_palette", OPTIMIZATION, Kind.CHOICE,
          "style (default): recolour the first image to the paintings' colour mean and covariance; content: "
          "keep its own colours", choices=choices.INIT_PALETTES),
    _spec("seed", OPTIMIZATION, Kind.INT,
          "random seed: the same seed repeats a CPU run bit for bit ({range})"),
    _spec("optimizer", OPTIMIZATION, Kind.TEXT, "adam or lbfgs, or one per scale such as lbfgs,lbfgs,adam,adam"),
    _spec("line_search", OPTIMIZATION, Kind.CHOICE,
          "L-BFGS line search (none: Torch7's fixed step, as jcjohnson/neural-style)", choices=choices.LINE_SEARCHES),
    _spec("lbfgs_restart", OPTIMIZATION, Kind.INT,
          "run L-BFGS in calls of N evaluations, each with a fresh history (the Keras blog: 20; 0: one call; "
          "{range})"),
    _spec("lbfgs_history", OPTIMIZATION, Kind.INT, "L-BFGS correction pairs kept (default 50; {range})"),
    _spec("lr", OPTIMIZATION, Kind.NUMBER, "Adam learning rate (ImageNet-normalized pixel units)"),
    _spec("lr_decay", OPTIMIZATION, Kind.NUMBER, "learning-rate factor applied every --lr-decay-every"),
    _spec("lr_decay_every", OPTIMIZATION, Kind.INT_LIST, "iterations between decays, per scale (0: none; {range})"),
    _spec("clamp_pixels", OPTIMIZATION, Kind.TOGGLE,
          "keep pixels in 0..1 after each Adam step (default; the d2l presets do not)"),
    _spec("stage_handoff", OPTIMIZATION, Kind.CHOICE,
          "how a scale starts the next: bicubic (default) or d2l (8-bit, PIL bilinear)",
          choices=choices.STAGE_HANDOFFS),
    _spec("resample", OPTIMIZATION, Kind.CHOICE,
          "filter that resizes the photo and paintings to each scale (default lanczos; the d2l presets: "
          "bilinear, as torchvision's Resize; keras-blog: nearest, as its Pillow)", choices=choices.RESAMPLE_FILTERS),
    _spec("loss_units", OPTIMIZATION, Kind.CHOICE,
          "torchvision: the loss weights were tuned on torchvision's VGG (D2L) and are rescaled layer by layer "
          "for the network in use (the d2l presets' default)", choices=choices.LOSS_UNITS),
    _spec("device", OPTIMIZATION, Kind.CHOICE, "default auto: a GPU if there is one", choices=choices.DEVICES),
    _spec("precision", OPTIMIZATION, Kind.CHOICE,
          "the network's arithmetic: auto (impasto's presets) takes bfloat16 on CPUs that have it in hardware "
          "(Intel AMX or AVX-512 BF16, 1.7-2.4x faster passes), else float32; the published recipes' presets "
          "keep float32",
          choices=choices.PRECISIONS),
)

# How the result file is written (``impasto`` and ``impasto batch``; a clip is a video file).
_FILE_OPTIONS = (
    _spec("bit_depth", OUTPUT_FILE, Kind.CHOICE, "bits per channel: 8 (default) or 16 (PNG and TIFF only: smooth "
                                                 "skies in big prints)", choices=choices.BIT_DEPTHS),
    _spec("keep_profile", OUTPUT_FILE, Kind.SWITCH,
          "write the result in the photo's own colour profile (Display P3, Adobe RGB...) instead of sRGB"),
    _spec("keep_gps", OUTPUT_FILE, Kind.SWITCH, "keep the photo's GPS position in the result's EXIF (dropped by "
                                                "default; the rest of the EXIF is kept)"),
    _spec("print_size", OUTPUT_FILE, Kind.TEXT,
          "print size, e.g. 40x30cm, 300x200mm or 16x12in: sets the size from it and --dpi (aspect ratio kept, "
          "tiled when large); instead of --size", flag="--print", metavar="WxH"),
    _spec("dpi", OUTPUT_FILE, Kind.BOUNDED_NUMBER,
          "dots per inch written in the file, and of --print (default 300 with --print, else the photo's; "
          "{range})"),
)

# The reports of a single painting (``impasto`` itself; a batch or a clip writes none of them).
_REPORT_OPTIONS = (
    _spec("plot", REPORTS, Kind.TEXT, "write the loss curves (PNG)"),
    _spec("history", REPORTS, Kind.TEXT, "write every logged iteration (.csv or .json)"),
    _spec("log_every", REPORTS, Kind.INT, "log every N iterations into the history (default 1; {range})"),
    _spec("side_by_side", REPORTS, Kind.TEXT, "write content | style(s) | result in one image"),
    _spec("save_every", REPORTS, Kind.INT, "save a snapshot every N iterations ({range})", default=0),
    _spec("snapshots", REPORTS, Kind.TEXT, "folder for the snapshots (the current image, every --save-every)"),
    _spec("timelapse", REPORTS, Kind.TEXT, "an animation of the painting forming: .gif, .webp or .png (APNG)"),
    _spec("timelapse_every", REPORTS, Kind.INT,
          "iterations between timelapse frames (default: about 100 frames in all; {range})", default=0),
)

# ``impasto video``'s own settings (the arguments of ``impasto.stylize_video`` beside a still's options).
_VIDEO_OPTIONS = (
    _spec("temporal_weight", VIDEO, Kind.NUMBER,
          f"how strongly each frame is held to the previous one where the flow is reliable (default "
          f"{DEFAULT_TEMPORAL_WEIGHT:g}; 0: warm start only)", default=DEFAULT_TEMPORAL_WEIGHT),
    _spec("frame_iterations", VIDEO, Kind.INT,
          f"iterations of each frame after the first (default {DEFAULT_FRAME_ITERATIONS}; {{range}})",
          default=DEFAULT_FRAME_ITERATIONS),
    _spec("flow", VIDEO, Kind.CHOICE, "optical flow: dis (default) or farneback", choices=choices.FLOW_METHODS,
          default="dis"),
    _spec("independent", VIDEO, Kind.SWITCH, "paint every frame as a still of its own (flickers; for comparison)"),
    _spec("max_frames", VIDEO, Kind.INT, "paint only the first N frames", metavar="N"),
    _spec("resume", VIDEO, Kind.SWITCH, "continue an interrupted run from its work folder"),
    _spec("keep_frames", VIDEO, Kind.SWITCH, "keep the painted frames (OUTPUT.frames) after the video is written"),
)

OPTION_TABLE: tuple[OptionSpec, ...] = _RUN_OPTIONS + _FILE_OPTIONS + _REPORT_OPTIONS + _VIDEO_OPTIONS

# Options fields that no command line sets, and why. A new field needs a row above or a line here
# (tests/test_option_table.py fails otherwise).
FIELDS_WITHOUT_FLAG = {
    "stage_shapes": "exact (height, width) of every scale: a preset's recipe (d2l's 150x225 then 600x900); "
                    "the command line sets --size, --scales and --min-size instead",
}


def specs_in(groups: tuple[str | None, ...]) -> tuple[OptionSpec, ...]:
    """The rows listed in ``groups``, in table order."""
    return tuple(spec for spec in OPTION_TABLE if spec.group in groups)


def spec_named(name: str) -> OptionSpec:
    """The row whose value goes to ``name`` (KeyError if there is none)."""
    for spec in OPTION_TABLE:
        if spec.name == name:
            return spec
    raise KeyError(name)
