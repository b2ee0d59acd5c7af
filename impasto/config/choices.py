"""Every enumerated setting's allowed values, in one place: the options check them, the command line and the
web page offer them, and the modules that act on them (losses, imaging, network) read them from here.

Plain tuples, no imports: the command line builds its parser from them before PyTorch loads.
"""

# Content loss: mean (D2L) or sum (Gatys, Keras blog) of squared differences, or relative (impasto's).
CONTENT_REDUCTIONS = ("mean", "sum", "relative")
# Style statistics' normalizations (impasto.loss.statistics).
STYLE_NORMALIZATIONS = ("d2l", "gatys", "relative")
# Options may also name "keras": the Keras blog's one constant for every layer, 4 * 3^2 * (image H W)^2 on
# unnormalized Grams. It is Gatys' per-layer 4 C^2 (h w)^2 times C^2 / (9 * 16^poolings), a per-layer constant
# that the run plan folds into the layer weights (impasto.engine.plan); the statistic itself is "gatys".
KERAS_STYLE_NORMALIZATION = "keras"
STYLE_NORMALIZATION_CHOICES = STYLE_NORMALIZATIONS + (KERAS_STYLE_NORMALIZATION,)
STYLE_STATISTICS = ("gram", "meancov")
TV_KINDS = ("d2l", "keras")
POOLINGS = ("max", "avg")
OPTIMIZERS = ("adam", "lbfgs")
INIT_KINDS = ("content", "uniform", "normal", "mean", "keras")
INIT_PALETTES = ("content", "style")
LINE_SEARCHES = ("strong_wolfe", "none")
PRESERVE_COLORS = ("luminance", "histogram")
LOSS_UNITS = ("network", "torchvision")
STAGE_HANDOFFS = ("bicubic", "d2l")
STYLE_SHAPES = ("aspect", "content")
DEVICES = ("auto", "cpu", "cuda", "mps")
# The precision of the network's convolutions during optimisation (impasto.engine.device): bfloat16 where the
# CPU multiplies it in hardware (Intel AMX: 2.4x faster passes; AVX-512 BF16 on a Zen 5 EPYC: 1.7x;
# benchmarks/RESULTS.md), float32 elsewhere (auto); losses, statistics and the image stay float32 either way.
PRECISIONS = ("auto", "float32", "bfloat16")
# Pillow filters by name (impasto.imaging.images maps them). Lanczos is impasto's; torchvision's Resize (D2L)
# is Pillow's bilinear; Pillow < 7's Image.resize default (the 2019 Keras blog) is nearest.
RESAMPLE_FILTERS = ("lanczos", "bicubic", "bilinear", "nearest")
FLOW_METHODS = ("dis", "farneback")
# Bits per channel of an output file (16: PNG and TIFF only, impasto.imaging.writers).
BIT_DEPTHS = (8, 16)
# What --protect keeps from being painted over (impasto.imaging.people): faces when MediaPipe is installed
# (auto, the default), nothing, faces, or whole people.
PROTECT_CHOICES = ("auto", "none", "faces", "people")
# What a trained painter's stability term holds steady (impasto.engine.training): its painting of a photo
# moved a few pixels and zoomed slightly against its painting moved alike (a panning or zooming camera), or of
# the photo with a little noise (Gupta et al. 2017).
STABILITY_KINDS = ("motion", "noise")
