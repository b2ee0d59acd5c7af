import pytest

from impasto.errors import OptionError
from impasto.config.options import resolve_options
from impasto.config.presets import PRESETS, QUALITY_LEVELS
from impasto.engine.schedule import plan_stages


def test_d2l_is_seed_000():
    options = resolve_options("d2l")
    assert options.stage_shapes == [(150, 225), (600, 900)]
    assert options.iterations == [500, 300]
    assert (options.optimizer, options.lr, options.lr_decay, options.lr_decay_every) == ("adam", 0.01, 0.1, [200, 100])
    assert (options.content_weight, options.style_weight, options.tv_weight) == (1.0, 1e3, 10.0)
    assert options.content_layers == [("relu4_4", 1.0)]
    assert [name for name, _ in options.style_layers] == ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "conv5_1"]
    mxnet = resolve_options("d2l-mxnet")
    assert mxnet.content_layers == [("conv4_4", 1.0)] and mxnet.iterations == options.iterations
    assert [name for name, _ in mxnet.style_layers] == ["conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"]
    assert (options.content_reduction, options.style_normalization, options.tv_kind) == ("mean", "d2l", "d2l")
    assert options.init == "content" and options.model == "vgg19"


def test_d2l_v2_is_seed_002():
    options = resolve_options("d2l-v2")
    assert options.stage_shapes == [(300, 450)] and options.iterations == [500]
    assert (options.lr, options.lr_decay, options.lr_decay_every, options.style_weight) == (0.3, 0.8, [50], 1e4)


def test_keras_blog_is_seed_003():
    options = resolve_options("keras-blog")
    assert options.model == "vgg16" and options.stage_shapes == [(260, 260)]
    # Keras convolutions carry their ReLU: block2_conv2 is relu2_2.
    assert options.content_layers == [("relu2_2", 1.0)] and options.content_weight == 0.02
    assert [name for name, _ in options.style_layers] == ["relu1_2", "relu2_2", "relu3_3", "relu4_3", "relu5_3"]
    assert sum(weight for _, weight in options.style_layers) * options.style_weight == pytest.approx(4.5)
    assert (options.tv_weight, options.tv_kind, options.tv_beta) == (0.995, "keras", 1.25)
    assert (options.style_normalization, options.content_reduction) == ("keras", "sum")
    assert (options.optimizer, options.init, options.iterations) == ("lbfgs", "keras", [200])


def test_gatys_is_the_paper():
    options = resolve_options("gatys")
    assert [name for name, _ in options.style_layers] == ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]
    assert options.content_layers == [("relu4_2", 1.0)] and options.init == "normal" and options.pooling == "avg"
    assert options.style_normalization == "gatys" and options.optimizer == "lbfgs"


def test_default_preset_is_coarse_to_fine_from_content():
    options = resolve_options()
    assert options.preset == "impasto" and options.size == 512 and options.init == "content"
    stages = plan_stages(options, (2048, 1365))
    assert len(stages) >= 3 and stages[-1].shape == (341, 512)
    assert [s.shape[1] for s in stages] == sorted(s.shape[1] for s in stages)


def test_explicit_options_override_a_preset():
    options = resolve_options("d2l", style_weight=5.0, tv_weight=None)
    assert options.style_weight == 5.0 and options.tv_weight == 10.0


def test_resizing_a_fixed_shape_preset_keeps_aspect():
    options = resolve_options("d2l", size=300)
    stages = plan_stages(options, (2048, 1365))
    assert [stage.shape for stage in stages] == [(50, 75), (200, 300)]
    assert [stage.iterations for stage in stages] == [500, 300]


def test_every_preset_resolves():
    for name in PRESETS:
        assert resolve_options(name).preset == name


@pytest.mark.parametrize("bad", [
    dict(size=0), dict(size=-5), dict(iterations=0), dict(iterations=[10, 10]), dict(style_weight=float("nan")),
    dict(tv_weight=-1), dict(content_weight=float("inf")), dict(lr=0), dict(optimizer="sgd"),
    dict(optimizer="adam,lbfgs,adam"), dict(init="nowhere.png"),
    dict(style_layers="relu9_1"), dict(style_blend=[0, 0]), dict(seed=-1), dict(unknown_option=3),
    dict(style_balance=2.5), dict(style_balance=-0.1), dict(style_scale=0.01),
    dict(iterations_aspect=0.5), dict(iterations_aspect=-1), dict(iterations_aspect=100),
])
def test_bad_options_raise(bad):
    with pytest.raises(OptionError):
        resolve_options(**bad)


def test_unknown_preset():
    with pytest.raises(OptionError, match="unknown preset"):
        resolve_options("picasso")


def test_jcjohnson_is_neural_style_lua_defaults():
    options = resolve_options("jcjohnson")
    assert (options.size, options.scales, options.iterations) == (512, 1, [1000])
    assert (options.optimizer, options.line_search, options.lbfgs_history) == ("lbfgs", "none", 100)
    assert (options.content_weight, options.style_weight) == (5.0, 100.0)
    # TVLoss's gradient is tv_weight * d/dx [0.5 * sum(dx^2 + dy^2)]: our keras form, beta 1, weight 1e-3 / 2.
    assert (options.tv_kind, options.tv_beta, options.tv_weight) == ("keras", 1.0, 5e-4)
    assert options.content_layers == [("relu4_2", 1.0)]
    assert options.style_layers == [(f"relu{i}_1", 1.0) for i in range(1, 6)]
    assert (options.content_reduction, options.style_normalization, options.init) == ("mean", "d2l", "mean")
    assert options.style_size is None and options.pooling == "max"


def test_quality_levels_change_only_the_work():
    default, draft, high = (resolve_options(quality=q) for q in ("default", "draft", "high"))
    assert default.iterations == [40, 20, 8, 10] and default.scales == 4 and default.style_octaves == 2
    assert (default.style_weight, default.tv_weight) == (2.5, 0.15)
    assert draft.scales == 3 and sum(draft.iterations) < sum(default.iterations)
    assert high.scales == 4 and all(h > d for h, d in zip(high.iterations, default.iterations))
    assert draft.style_weight == default.style_weight and high.style_weight > default.style_weight
    assert (draft.style_octaves, high.style_octaves) == (1, 2)
    for options in (draft, high):
        assert (options.style_layers, options.content_weight, options.size) == (
            default.style_layers, default.content_weight, default.size)
    # Explicit options still win over the level.
    assert resolve_options(quality="high", iterations=[5, 5, 5, 5]).iterations == [5, 5, 5, 5]
    with pytest.raises(OptionError, match="quality must be one of"):
        resolve_options(quality="ultra")
    with pytest.raises(OptionError, match="applies to the impasto preset"):
        resolve_options("d2l", quality="high")


def test_a_chosen_start_is_not_recoloured_unless_asked():
    assert resolve_options().init_palette == "style"
    assert resolve_options(init="uniform").init_palette == "content"
    assert resolve_options(init="uniform", init_palette="style").init_palette == "style"


def test_lbfgs_settings_without_lbfgs_are_refused():
    with pytest.raises(OptionError, match="no scale uses it"):
        resolve_options(line_search="none")
    assert resolve_options(optimizer="lbfgs", line_search="none", lbfgs_history=10).lbfgs_history == 10


def test_normalized_gradients_are_jcjohnsons_flag_and_refuse_a_line_search():
    assert resolve_options("jcjohnson").normalize_gradients is False  # his default, -normalize_gradients 0
    assert resolve_options("jcjohnson", normalize_gradients=True).normalize_gradients is True
    assert resolve_options(normalize_gradients=True).optimizer == "adam"
    with pytest.raises(OptionError, match="line_search 'none'"):
        resolve_options(optimizer="lbfgs", normalize_gradients=True)
    with pytest.raises(OptionError, match="True or False"):
        resolve_options(normalize_gradients="yes")


def test_d2l_pytorch_extraction_loop_stores_relu_outputs(vgg19_weights):
    """The book's extract_features on a torchvision-layout VGG-19 (ReLU(inplace=True)) returns what the d2l
    preset names: relu outputs for indices 0, 5, 10, 19 and 25, and conv5_1 for 28."""
    import torch
    from torch import nn

    from impasto.net.features import VGGFeatures
    from impasto.config.layers import CONVS_PER_BLOCK, conv_layer_names

    layers, names = [], iter(conv_layer_names("vgg19"))
    for count in CONVS_PER_BLOCK["vgg19"]:
        for _ in range(count):
            weight, bias = vgg19_weights.convs[next(names)]
            conv = nn.Conv2d(weight.shape[1], weight.shape[0], kernel_size=3, padding=1)
            conv.weight.data.copy_(weight)
            conv.bias.data.copy_(bias)
            layers += [conv, nn.ReLU(inplace=True)]
        layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
    style_layers, content_layers = [0, 5, 10, 19, 28], [25]
    net = nn.Sequential(*layers[: max(content_layers + style_layers) + 1]).double()  # truncated as in the book

    def extract_features(X, content_layers, style_layers):  # the book's loop, verbatim in substance
        contents, styles = [], []
        for i in range(len(net)):
            X = net[i](X)
            if i in style_layers:
                styles.append(X)
            if i in content_layers:
                contents.append(X)
        return contents, styles

    image = torch.rand(1, 3, 64, 64, dtype=torch.float64)  # double: the two conv paths then agree to 1e-9
    with torch.no_grad():
        contents, styles = extract_features(vgg19_weights.normalization.preprocess(image), content_layers, style_layers)
        options = resolve_options("d2l")
        ours = VGGFeatures(vgg19_weights).double()(image, [n for n, _ in options.style_layers + options.content_layers])
    for stored, (name, _) in zip(styles, options.style_layers):
        assert torch.allclose(stored, ours[name], atol=1e-6), name
    assert torch.allclose(contents[0], ours["relu4_4"], atol=1e-6)
    assert (styles[0] >= 0).all() and (styles[4] < 0).any()  # rectified, except the last (no ReLU after it)


def test_keras_blog_style_constant_init_and_restarts():
    """The blog's style term is sum((S - C)^2) / (4 * 3^2 * (260 * 260)^2) on unnormalized Grams, every layer."""
    import torch

    from impasto.engine import Stylizer
    from impasto.net.features import VGGFeatures
    from impasto.imaging.images import image_to_tensor
    from impasto.loss.statistics import gram_matrix
    from impasto.net.weights import CAFFE, VGGWeights
    from tests.conftest import gradient_image, stripes_image
    from tests.test_weights import random_convs
    from impasto.config.layers import conv_layer_names

    convs = {name: (torch.from_numpy(w), torch.from_numpy(b))
             for name, (w, b) in zip(conv_layer_names("vgg16"), random_convs("vgg16"))}
    weights = VGGWeights("vgg16", convs, CAFFE, source="test")
    options = resolve_options("keras-blog", stage_shapes=[(64, 64)], iterations=[1])
    assert (options.init, options.lbfgs_restart, options.style_normalization) == ("keras", 20, "keras")
    stylizer = Stylizer(gradient_image(64, 64), stripes_image(64, 64), options, weights=weights)
    objective = stylizer.stage_objective(stylizer.stages[0])
    image = torch.rand(1, 3, 64, 64)
    style_term = [term for term in objective.terms if term.name == "style"][0].loss
    network = VGGFeatures(weights)
    layers = [name for name, _ in options.style_layers]
    current, style = network(image, layers), network(image_to_tensor(stripes_image(64, 64)), layers)
    blog = sum((4.5 / 5) * (gram_matrix(current[n], "gatys") - gram_matrix(style[n], "gatys")).square().sum()
               / (4.0 * 3**2 * (64 * 64) ** 2) for n in layers)
    assert torch.allclose(style_term(current), blog, rtol=1e-4)
    # The start: uniform 0..255 minus 128 in the network's (BGR, mean-subtracted) units.
    start = CAFFE.preprocess(stylizer.start.first(stylizer.stages[0], None))
    assert -128.5 < start.min() < -120 and 120 < start.max() < 127.5


def test_impasto_computes_in_bfloat16_where_fast_and_the_published_recipes_stay_exact():
    # The published recipes reproduce their documents' numbers, so they keep float32 everywhere; impasto's
    # own preset (every --quality) takes bfloat16 where the CPU has it in hardware.
    assert resolve_options().precision == "auto"
    assert all(resolve_options(quality=q).precision == "auto" for q in QUALITY_LEVELS)
    for name in PRESETS:
        if name != "impasto":
            assert resolve_options(name).precision == "float32", name
    assert resolve_options("jcjohnson", precision="auto").precision == "auto"
    with pytest.raises(OptionError, match="precision must be one of auto, float32, bfloat16"):
        resolve_options(precision="half")
