"""Named recipes: plain data, one dict per preset, merged over ``Options`` defaults.

Each seed document's recipe is reproduced with its own numbers. Learning rates are in the units of the
optimized image, which impasto keeps in ImageNet-normalized RGB (as the D2L book does), so D2L's rates carry
over unchanged. Loss weights are in the units of the network's own activations, so a recipe is exact when
run on the weights its author used (D2L: torchvision VGG-19; Keras blog: Keras VGG-16); on the bundled
Caffe VGG-19 the same numbers give a different balance, which the preset's note says.
"""
from __future__ import annotations

from ..errors import OptionError


PRESETS: dict[str, dict] = {
    # Our own: fast coarse-to-fine Adam on the bundled Caffe VGG-19, chosen over a panel of eight
    # content/style pairs by benchmarks/quality.py and by eye (benchmarks/RESULTS.md):
    # - relative losses (each layer's squared distance over its target's squared norm), so every layer and
    #   every painting starts near the same magnitude and one style weight fits all styles;
    # - but not quite one: style_balance 0.55 lets the style weight follow the painting's feature energy
    #   against the photo's (the balance jcjohnson/neural-style's absolute losses strike), so a painting with
    #   faint textures (udnie) keeps more of the photo's structure; on the panel it brought every pair's
    #   content distance within 10% of the jcjohnson reference's, with style distances still below it;
    # - the first image is the photo recoloured to the painting's colour mean and covariance, so paintings
    #   whose palette is far from the photo's are reached at all in a few dozen steps;
    # - relu5_1 in the style at weight 0.2 (large strokes and swirls live there; at full weight it tore up
    #   the photo's structure and, on most pairs, also matched the other layers less well);
    # - at the 512 px scale the style is matched on the image at half size too (style_octaves 2), so the
    #   fine scale adds texture without undoing the coarse scales' large strokes;
    # - retuned (issue "Paint like the masters in half a minute", benchmarks/RESULTS.md) against a judge that
    #   shares nothing with VGG (benchmarks/judge.py, Magenta's style network), which showed the earlier
    #   recipe (style weight 1.3, no TV, 60/30/14/7) painting more lightly than jcjohnson's, above all in the
    #   texture at the printed scale and on paintings with flat areas and crisp edges (mosaic, Hokusai's wave):
    #   - style weight 2.5;
    #   - TV 0.15 (d2l form: mean absolute difference of neighbouring pixels in the network's input units):
    #     flat fills between crisp edges instead of a fine mesh, as in jcjohnson's (whose TV is on too); it
    #     is what brought mosaic and the wave within reach (0.4 smeared the strokes again);
    #   - fewer iterations at the small scales and more at 512 px (40/20/8/10): the texture the judge found
    #     missing is made at the last scale, and small scales cost relatively more on some CPUs.
    "impasto": {
        "description": "impasto's default: 4 scales 128->512 px, Adam from the palette-matched photo, about 15 s "
                       "for a 512 px photo on a 2-core CPU with bfloat16 hardware, 30-70 s without "
                       "(--quality draft|high for less or more)",
        "size": 512,
        "scales": 4,
        "min_size": 128,
        "iterations": [40, 20, 8, 10],
        # For a 3:2 photo; a square one (1.5 times the pixels at every scale) gets 27/13/5/7, so that it too
        # is painted in about 15 VGG passes on a bfloat16 CPU, and its draft (20/8/1) in 5 (benchmarks/
        # RESULTS.md, "Square photos" and "Every scale by the pixels").
        "iterations_aspect": 1.5,
        "optimizer": "adam",
        "lr": 0.1,
        "lr_decay": 1.0,
        "lr_decay_every": 0,
        "content_layers": [("relu4_2", 1.0)],
        "style_layers": [("relu1_1", 1.0), ("relu2_1", 1.0), ("relu3_1", 1.0), ("relu4_1", 1.0), ("relu5_1", 0.2)],
        "content_weight": 1.0,
        "style_weight": 2.5,
        "style_balance": 0.55,
        "tv_weight": 0.15,
        "content_reduction": "relative",
        "style_normalization": "relative",
        "tv_kind": "d2l",
        "init": "content",
        "init_palette": "style",
        "style_octaves": 2,
        # bfloat16 convolutions where the CPU has them in hardware: a 512 px pass 2.4x faster on an AMX
        # Xeon and 1.7x on an AVX-512 BF16 EPYC, judged no worse by either judge (benchmarks/RESULTS.md,
        # "Half the bits" and "bfloat16 on AMD"); float32 elsewhere.
        "precision": "auto",
    },
    # Seed 000 (D2L): 150x225, then 600x900 from the upsampled result. The PyTorch tab's layers: it stores
    # the outputs of net[i] for i in 0, 5, 10, 19, 28 (style) and 25 (content), but torchvision's VGG runs
    # ReLU(inplace=True), which overwrites each stored convolution output with its ReLU's: the features it
    # really computes are relu1_1, relu2_1, relu3_1, relu4_1, conv5_1 (the truncated net ends at 28, with
    # no ReLU after it) and relu4_4 (tests/test_presets.py runs the book's loop to show it). The MXNet tab
    # (separate, not in-place activations) uses the convolution outputs: preset d2l-mxnet.
    "d2l": {
        "description": "D2L chapter: 150x225 for 500 epochs, then 600x900 for 300; Adam lr 0.01, x0.1 decay; "
                       "the book's weights (tuned on torchvision's VGG-19) carried to the bundled Caffe VGG-19 by "
                       "measured factors (impasto/net/calibration.py)",
        "stage_shapes": [(150, 225), (600, 900)],
        "iterations": [500, 300],
        "optimizer": "adam",
        "lr": 0.01,
        "lr_decay": 0.1,
        "lr_decay_every": [200, 100],
        "content_layers": [("relu4_4", 1.0)],
        "style_layers": [(name, 1.0) for name in ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "conv5_1")],
        "content_weight": 1.0,
        "style_weight": 1e3,
        "tv_weight": 10.0,
        "content_reduction": "mean",
        "style_normalization": "d2l",
        "tv_kind": "d2l",
        "init": "content",
        "log_every": 10,
        "loss_units": "torchvision",  # the book's weights are tuned on torchvision's VGG-19
        "clamp_pixels": False,  # the book's train() never clamps X
        "stage_handoff": "d2l",  # X = preprocess(postprocess(output), image_shape): 8-bit, PIL bilinear
        "resample": "bilinear",  # preprocess: torchvision.transforms.Resize(image_shape), Pillow's bilinear
        "style_shape": "content",  # get_styles(image_shape): the painting resized to the photo's shape
    },
    # Seed 003 (Keras blog): VGG-16, 260x260, random init, L-BFGS 10 x 20 evaluations.
    "keras-blog": {
        "description": "Keras blog: VGG-16 at 260x260 from noise, L-BFGS, unnormalized Grams, TV^1.25",
        "model": "vgg16",
        "stage_shapes": [(260, 260)],
        "iterations": [200],
        "optimizer": "lbfgs",
        "content_layers": [("block2_conv2", 1.0)],
        "style_layers": [(name, 1.0 / 5) for name in
                         ("block1_conv2", "block2_conv2", "block3_conv3", "block4_conv3", "block5_conv3")],
        "content_weight": 0.02,
        "style_weight": 4.5,
        "tv_weight": 0.995,
        "content_reduction": "sum",
        "style_normalization": "keras",  # the blog's 4 * 3^2 * (260 * 260)^2 for every layer
        "tv_kind": "keras",
        "tv_beta": 1.25,
        "init": "keras",  # np.random.uniform(0, 255, ...) - 128 in the preprocessed (BGR, mean-subtracted) space
        "lbfgs_restart": 20,  # 10 calls of fmin_l_bfgs_b(..., maxfun=20): the history starts afresh each call
        "resample": "nearest",  # img.resize((260, 260)): Pillow's default filter in 2019 (Pillow < 7) is nearest
        "style_shape": "content",  # img_estilo.resize((altura_imagem, largura_imagem)): the same 260x260
    },
    # Gatys et al. / seed 004: the paper's "conv1_1".."conv5_1" and "conv4_2" are the rectified outputs
    # (Caffe runs its ReLUs in place, so a conv blob holds the ReLU's output), and the paper replaces max
    # pooling by average pooling; sum-of-squares content, noise init, L-BFGS.
    "gatys": {
        "description": "Gatys et al. (seed 004): style relu1_1..relu5_1, content relu4_2, average pooling, "
                       "noise init, L-BFGS",
        "pooling": "avg",
        "size": 512,
        "scales": 1,
        "iterations": [500],
        "optimizer": "lbfgs",
        "content_layers": [("relu4_2", 1.0)],
        "style_layers": [(name, 1.0 / 5) for name in ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")],
        "content_weight": 0.5,  # the paper's content loss is 1/2 * sum of squares; alpha/beta = 1e-3
        "style_weight": 1e3,
        "tv_weight": 0.0,
        "content_reduction": "sum",
        "style_normalization": "gatys",
        "tv_kind": "d2l",
        "init": "normal",
    },
}

# jcjohnson/neural-style's defaults (neural_style.lua), the result its users know; it runs on the same Caffe
# VGG-19 that impasto bundles, so the numbers carry over unchanged:
#   -image_size 512 (long side), one scale; -style_scale 1 (style resized to the same long side);
#   -num_iterations 1000 with -optimizer lbfgs: Torch7 optim.lbfgs, no line search, 100 correction pairs
#   (nCorrection's default, as -lbfgs_num_correction is 0), one loss evaluation per iteration;
#   -content_weight 5 on relu4_2 with nn.MSECriterion (the mean of squared differences);
#   -style_weight 100 on relu1_1..relu5_1, each layer weight 1: Gram / (C H W), then MSECriterion on the
#   Grams (mean of squared differences) -- D2L's normalisation;
#   -tv_weight 1e-3: TVLoss's gradient is tv_weight * d/dx of 0.5 * sum(dx^2 + dy^2) over the preprocessed
#   image (its forward adds nothing to the reported loss), i.e. our keras TV form with beta 1 at weight 5e-4;
#   -init random: torch.randn(...) * 0.001 in the network's input units, the mean pixel plus faint noise;
#   -pooling max, -normalize_gradients 0 (--normalize-gradients is his 1), -original_colors 0.
# One difference remains: Torch7 scales pixels by 256 where the Caffe convention (and impasto) uses 255.
# impasto's L-BFGS moves the image in the network's own input units (Caffe's), as Torch7 does.
PRESETS["jcjohnson"] = {
    "description": "jcjohnson/neural-style's defaults: 512 px, 1000 L-BFGS iterations from faint noise "
                   "(30-60 min on a 2-core CPU; the quality reference)",
    "size": 512,
    "scales": 1,
    "iterations": [1000],
    "optimizer": "lbfgs",
    "line_search": "none",
    "lbfgs_history": 100,
    "content_layers": [("relu4_2", 1.0)],
    "style_layers": [(name, 1.0) for name in ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")],
    "content_weight": 5.0,
    "style_weight": 100.0,
    "tv_weight": 5e-4,
    "content_reduction": "mean",
    "style_normalization": "d2l",
    "tv_kind": "keras",
    "tv_beta": 1.0,
    "init": "mean",
    "log_every": 10,
}

# The MXNet tab resizes with image.imresize, bilinear too (OpenCV's, without Pillow's antialiasing: the closest
# filter impasto offers). No published MXNet run was found to check the weights gap against; it is d2l's.
PRESETS["d2l-mxnet"] = {
    **PRESETS["d2l"],
    "description": "D2L chapter, MXNet tab: as d2l (weights carried the same way), on the convolution outputs "
                   "conv1_1..conv5_1 and conv4_4",
    "content_layers": [("conv4_4", 1.0)],
    "style_layers": [(name, 1.0) for name in ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")],
}

# Seed 002 (D2L, newer English edition): the same model and losses as seed 000, one pass at 300x450, ten
# times the style weight, a much larger Adam step decaying by 0.8 every 50 epochs.
PRESETS["d2l-v2"] = {
    **PRESETS["d2l"],
    "description": "D2L newer edition: 300x450 for 500 epochs; style 1e4, Adam lr 0.3, x0.8 every 50; weights "
                   "carried to the bundled network as d2l's",
    "stage_shapes": [(300, 450)],
    "iterations": [500],
    "lr": 0.3,
    "lr_decay": 0.8,
    "lr_decay_every": [50],
    "style_weight": 1e4,
}

DEFAULT_PRESET = "impasto"

# --quality: the same recipe with less or more work, for the default preset. "default" changes nothing.
QUALITY_LEVELS: dict[str, dict] = {
    "draft": {"scales": 3, "iterations": [30, 12, 1], "style_octaves": 1},  # a quick look, about 6 s
    "default": {},
    # About 40 s for a 512 px photo (bfloat16). The extra iterations pull the image back toward the photo's
    # structure, so a stronger style weight is affordable; most of them go to the 512 px scale, where the
    # texture the independent judge looks for is made (benchmarks/RESULTS.md, "Painting per second": against
    # 120/60/30/30 at style weight 2.5 it brought mosaic from 1.14x the reference's style distance to 0.99x).
    # Every photo gets all of them, whatever its shape: high is for quality, not a time budget.
    "high": {"iterations": [100, 50, 25, 35], "style_weight": 3.5, "iterations_aspect": 0.0},
}


def preset(name: str) -> dict:
    """A copy of preset ``name``'s option values (without its description)."""
    if name not in PRESETS:
        raise OptionError(f"unknown preset {name!r}: choose one of {', '.join(PRESETS)}")
    values = dict(PRESETS[name])
    values.pop("description")
    return values
