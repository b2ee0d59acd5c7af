"""The accepted range of every bounded option: one table for the Python API's checks and the CLI's parser;
and the numeric defaults that the help texts show.

Kept free of heavy imports so that the command line can check its arguments before PyTorch loads.
"""

# Pillow's own guard against decompression bombs (Image.MAX_IMAGE_PIXELS, about 89 megapixels): the default
# of max_input_pixels, the largest input image a run opens.
DEFAULT_MAX_INPUT_PIXELS = 89_478_485

# impasto video's defaults (the command line shows them; impasto.apps.video.stylize_video takes them).
# Measured on benchmarks/video.py's clips at 512 px (benchmarks/RESULTS.md): a weight at which the temporal
# term holds the reliable pixels without freezing the strokes where the picture changes.
DEFAULT_TEMPORAL_WEIGHT = 1000.0
# Iterations of a frame after the first, at the output size, matching the style at that size only (the large
# strokes come with the warped frame, so no half-size octave): a few are enough, a third of a still's time
# (measured at 512 px: 4.7 s against 15.8 s for the first frame; 10 iterations with the octave took 8.8 s
# and flickered more, 2.80 against 2.33).
DEFAULT_FRAME_ITERATIONS = 6

# impasto train's network (impasto.net.transformer): the first layer's channel count and the residual
# blocks. Johnson et al.'s is 32 and 5; 16 paints a 512 px image in a third of the time on a 2-core CPU (0.23
# against 0.67 s), which the frame-rate targets need (benchmarks/RESULTS.md, "Instant styles").
DEFAULT_MODEL_WIDTH = 16
DEFAULT_MODEL_BLOCKS = 5

# Below this the five poolings leave less than one pixel for conv5_x.
MIN_SIZE = 32
MAX_SIDE = 65536  # far past any memory; a bound so that absurd numbers are refused, not overflowed
MAX_ITERATIONS = 1_000_000

# Inclusive (low, high) per option name, as the Python API names options.
INT_RANGES = {
    "size": (MIN_SIZE, MAX_SIDE), "min_size": (MIN_SIZE, MAX_SIDE), "style_size": (MIN_SIZE, MAX_SIDE),
    "scales": (1, 32), "iterations": (1, MAX_ITERATIONS), "lr_decay_every": (0, MAX_ITERATIONS),
    "log_every": (1, MAX_ITERATIONS), "lbfgs_history": (1, 10_000), "style_octaves": (1, 8),
    "max_input_pixels": (1, 2**40), "seed": (0, 2**64 - 1), "save_every": (0, MAX_ITERATIONS),
    "timelapse_every": (0, MAX_ITERATIONS), "lbfgs_restart": (0, MAX_ITERATIONS),
    # Tiles smaller than 128 px would spend most of their pixels on overlap.
    "tile": (128, MAX_SIDE), "tile_overlap": (0, MAX_SIDE // 2),
    "frame_iterations": (1, MAX_ITERATIONS), "max_frames": (1, 10**9),
    # impasto train
    "model_width": (4, 128), "model_blocks": (1, 16), "steps": (1, MAX_ITERATIONS), "batch_size": (1, 64),
    "crop": (MIN_SIZE, 2048), "checkpoint_every": (0, MAX_ITERATIONS), "preview_every": (0, MAX_ITERATIONS),
}

# Numbers with a bound of their own (the other weights and rates only need to be finite and >= 0).
FLOAT_RANGES = {"style_scale": (0.05, 8.0), "style_balance": (0.0, 2.0), "dpi": (1.0, 10_000.0),
                "iterations_aspect": (0.0, 64.0)}


def range_text(name: str) -> str:
    """``"32 to 65,536"`` (or ``"0.05 to 8"``) for help texts and messages."""
    if name in FLOAT_RANGES:
        low, high = FLOAT_RANGES[name]
        return f"{low:g} to {high:g}"
    low, high = INT_RANGES[name]
    return f"{low:,} to {high:,}"
