import pytest
import torch

from impasto.config.layers import INPUT_LAYER
from impasto.loss.statistics import GramStatistic, MeanCovarianceStatistic, blend_targets, gram_matrix, style_loss
from impasto.loss.terms import ContentLoss, StyleLoss, TotalVariationLoss, content_loss, total_loss, tv_loss

# One 2-channel 2x2 activation, values chosen to keep hand arithmetic easy.
X = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]], [[0.0, 1.0], [-1.0, 2.0]]]])


def test_content_loss_by_hand():
    target = torch.zeros_like(X)
    # squares: 1 4 9 16 0 1 1 4 -> sum 36, mean 36/8
    assert content_loss(X, target, "sum").item() == 36.0
    assert content_loss(X, target, "mean").item() == 4.5


def test_gram_both_normalizations():
    # channel a = [1,2,3,4], b = [0,1,-1,2]: aa = 30, ab = 0+2-3+8 = 7, bb = 0+1+1+4 = 6
    raw = torch.tensor([[30.0, 7.0], [7.0, 6.0]])
    assert torch.equal(gram_matrix(X, "gatys"), raw)
    assert torch.allclose(gram_matrix(X, "d2l"), raw / (2 * 2 * 2))


def test_style_loss_by_hand():
    target = torch.zeros(2, 2)
    d2l_gram = torch.tensor([[30.0, 7.0], [7.0, 6.0]]) / 8
    expected_d2l = d2l_gram.square().mean()
    assert torch.allclose(style_loss(X, target, "d2l"), expected_d2l)
    # Gatys: sum of squared raw Gram entries / (4 * c^2 * (h*w)^2) = (900+49+49+36) / (4*4*16)
    assert torch.allclose(style_loss(X, target, "gatys"), torch.tensor(1034.0 / 256.0))


def test_tv_d2l_by_hand():
    # channel a: dy = [2,2], dx = [1,1]; channel b: dy = [-1,1], dx = [1,3]
    # mean |dy| = (2+2+1+1)/4 = 1.5, mean |dx| = (1+1+1+3)/4 = 1.5 -> 0.5 * 3 = 1.5
    assert torch.allclose(tv_loss(X, "d2l"), torch.tensor(1.5))


def test_tv_keras_by_hand():
    # Only the top-left pixel has both neighbours: a: dx=1, dy=2 -> 5; b: dx=1, dy=-1 -> 2
    expected = 5.0**1.25 + 2.0**1.25
    assert torch.allclose(tv_loss(X, "keras", beta=1.25), torch.tensor(expected), rtol=1e-5)
    assert torch.allclose(tv_loss(X, "keras", beta=1.0), torch.tensor(7.0), rtol=1e-5)


def test_zero_for_identical_inputs():
    assert content_loss(X, X.clone()).item() == 0.0
    assert style_loss(X, gram_matrix(X)).item() == 0.0
    assert tv_loss(torch.ones(1, 3, 4, 4)).item() == 0.0


def test_gradients_match_finite_differences_in_double():
    torch.manual_seed(0)
    x = torch.randn(1, 3, 5, 6, dtype=torch.float64, requires_grad=True)
    target = torch.randn(1, 3, 5, 6, dtype=torch.float64)
    gram_target = gram_matrix(torch.randn(1, 3, 5, 6, dtype=torch.float64))
    for norm in ("d2l", "gatys"):
        assert torch.autograd.gradcheck(lambda t, norm=norm: style_loss(t, gram_target, norm), (x,))
    for reduction in ("mean", "sum"):
        assert torch.autograd.gradcheck(lambda t, reduction=reduction: content_loss(t, target, reduction), (x,))
    assert torch.autograd.gradcheck(lambda t: tv_loss(t, "keras"), (x,))
    assert torch.autograd.gradcheck(lambda t: tv_loss(t, "d2l"), (x,))


def test_terms_weight_each_layer_and_the_whole():
    features = {"a": X, "b": X * 2, INPUT_LAYER: X}
    target_gram = gram_matrix(torch.zeros_like(X))
    content = ContentLoss({"a": torch.zeros_like(X)}, [("a", 2.0)], weight=3.0)
    statistic = GramStatistic("d2l")
    style = StyleLoss(statistic, {"b": statistic.prepare((target_gram,))}, [("b", 0.5)], weight=10.0)
    tv = TotalVariationLoss(0.1)
    assert content.layers == ("a",) and style.layers == ("b",) and tv.layers == (INPUT_LAYER,)
    assert torch.allclose(content(features), torch.tensor(3.0 * 2.0 * 4.5))
    assert torch.allclose(style(features), 10.0 * 0.5 * style_loss(X * 2, target_gram))
    assert torch.allclose(tv(features), torch.tensor(0.1 * 1.5))
    terms = {"content": content(features), "style": style(features)}
    assert torch.allclose(total_loss(terms), terms["content"] + terms["style"])


def test_blended_targets_are_the_mixtures_statistics():
    first, second = torch.randn(1, 4, 3, 5), torch.randn(1, 4, 3, 5) + 1.0
    together = torch.cat([first, second], dim=3)  # the two images' pixels as one population
    for statistic in (GramStatistic("d2l"), MeanCovarianceStatistic()):
        blended = blend_targets([statistic.target(first), statistic.target(second)], [0.5, 0.5])
        for mixed, pooled in zip(blended, statistic.target(together)):
            assert torch.allclose(mixed, pooled, atol=1e-5)
    # Weights pick: (1, 0) is the first image's target.
    assert torch.equal(blend_targets([(first,), (second,)], [1.0, 0.0])[0], first)


def test_gram_statistic_is_the_gram_style_loss():
    statistic = GramStatistic("gatys")
    target = statistic.prepare(statistic.target(X * 3))
    assert torch.equal(statistic.distance(X, target), style_loss(X, gram_matrix(X * 3, "gatys"), "gatys"))


def test_mean_covariance_distance_by_hand():
    # One channel: W2^2 between N(m, s^2) and N(m_t, s_t^2) is (m - m_t)^2 + (s - s_t)^2.
    current = torch.tensor([[[[1.0, 3.0], [1.0, 3.0]]]])  # mean 2, variance 1
    target_image = torch.tensor([[[[-2.0, 2.0], [-2.0, 2.0]]]])  # mean 0, variance 4
    relative, per_channel = MeanCovarianceStatistic("relative"), MeanCovarianceStatistic("d2l")
    mean, second_moment = relative.target(target_image)
    assert torch.allclose(mean, torch.tensor([0.0])) and torch.allclose(second_moment, torch.tensor([[4.0]]))
    # (2 - 0)^2 + (1 - 2)^2 = 5; relative divides by the target's E[x^2] = 4.
    assert torch.allclose(per_channel.distance(current, per_channel.prepare((mean, second_moment))), torch.tensor(5.0))
    assert torch.allclose(relative.distance(current, relative.prepare((mean, second_moment))), torch.tensor(1.25))
    # Two independent channels: the per-channel distances add (then / 2 channels).
    two = torch.cat([current, current * 0 + 7.0], dim=1)
    target_two = torch.cat([target_image, target_image * 0 + 7.0], dim=1)
    assert torch.allclose(per_channel.distance(two, per_channel.prepare(per_channel.target(target_two))),
                          torch.tensor(5.0 / 2), atol=1e-4)
    assert per_channel.distance(two, per_channel.prepare(per_channel.target(two))).item() < 1e-4


def test_mean_covariance_gradient_matches_finite_differences():
    torch.manual_seed(0)
    statistic = MeanCovarianceStatistic("relative")
    target = statistic.prepare(statistic.target(torch.randn(1, 3, 4, 5, dtype=torch.float64) * 2 + 1))
    x = torch.randn(1, 3, 4, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: statistic.distance(t, target), (x,))


def test_relative_content_and_style_by_hand():
    target = torch.ones_like(X)
    # differences 0 1 2 3 -1 0 -2 1: squares sum 20; target squared norm 8
    assert torch.allclose(content_loss(X, target, "relative"), torch.tensor(20.0 / 8.0))
    # relative style: ||G - A||^2 / ||A||^2 with G, A both Gram / (c h w); A = G(ones) = all ones * 4/8
    gram = torch.tensor([[30.0, 7.0], [7.0, 6.0]]) / 8
    target_gram = torch.full((2, 2), 0.5)
    expected = (gram - target_gram).square().sum() / target_gram.square().sum()
    assert torch.allclose(gram_matrix(X, "relative"), gram)
    assert torch.allclose(style_loss(X, target_gram, "relative"), expected)
    # Scale-free: the same relative error on a target ten times larger gives the same loss.
    assert torch.allclose(content_loss(10 * X, 10 * target, "relative"), content_loss(X, target, "relative"))


def test_mean_covariance_few_pixels_path_equals_the_channel_path():
    # 64 channels over 20 pixels takes the 20x20 route; the same pixels repeated 4 times (80 > 64) the 64x64
    # one, with the same statistics (the mask counts each repeated pixel a quarter).
    torch.manual_seed(1)
    statistic = MeanCovarianceStatistic("d2l")
    target = statistic.prepare(statistic.target(torch.randn(1, 64, 6, 7, dtype=torch.float64) * 2 + 1))
    few = torch.randn(1, 64, 4, 5, dtype=torch.float64)
    mask = torch.rand(1, 1, 4, 5, dtype=torch.float64)
    many = few.repeat(1, 1, 1, 4)
    assert torch.allclose(statistic.distance(few, target, mask),
                          statistic.distance(many, target, mask.repeat(1, 1, 1, 4)))


def test_unnormalized_gram_targets_do_not_depend_on_the_style_images_size():
    # A texture and the same texture tiled twice as wide have the same statistics: distance 0 either way.
    torch.manual_seed(2)
    texture = torch.rand(1, 4, 6, 6)
    tiled = texture.repeat(1, 1, 1, 2)
    for normalization in ("gatys", "d2l", "relative"):
        statistic = GramStatistic(normalization)
        assert statistic.distance(texture, statistic.prepare(statistic.target(tiled))).item() < 1e-10
        assert statistic.distance(tiled, statistic.prepare(statistic.target(texture))).item() < 1e-10
    # And a matching target still gives Gatys' own formula on the current image.
    statistic = GramStatistic("gatys")
    other = torch.rand(1, 4, 6, 6)
    assert torch.allclose(statistic.distance(texture, statistic.target(other)),
                          style_loss(texture, gram_matrix(other, "gatys"), "gatys"))


def test_temporal_loss_by_hand_in_rgb_units_whatever_the_network():
    from impasto.loss.terms import TemporalLoss
    from impasto.net.weights import CAFFE, TORCHVISION

    target = torch.zeros(1, 3, 2, 2)
    image = torch.zeros(1, 3, 2, 2)
    image[0, 0] = torch.tensor([[0.1, 0.2], [0.3, 0.4]])  # red only
    mask = torch.tensor([[[[1.0, 0.0], [1.0, 1.0]]]])  # the top right pixel is unreliable
    # mean over 3 channels x 4 pixels of mask * difference^2: (0.01 + 0.09 + 0.16) / 12
    expected = 5.0 * (0.01 + 0.09 + 0.16) / 12
    for normalization in (CAFFE, TORCHVISION):
        loss = TemporalLoss(target, mask, 5.0, normalization)
        value = loss({INPUT_LAYER: normalization.preprocess(image)})
        assert abs(value.item() - expected) < 1e-6, normalization.name
    assert TemporalLoss.layers == (INPUT_LAYER,)


def test_terms_hold_their_targets_as_buffers_so_one_call_moves_them():
    statistic = GramStatistic("relative")
    masks = {"relu1_1": torch.ones(1, 1, 2, 2)}
    style = StyleLoss(statistic, {"relu1_1": statistic.target(X)}, [("relu1_1", 1.0)], 2.0, masks)
    content = ContentLoss({"relu1_1": X}, [("relu1_1", 1.0)], 1.0)
    assert {name for name, _ in style.named_buffers()} == {"target_relu1_1_0", "mask_relu1_1"}
    assert {name for name, _ in content.named_buffers()} == {"target_relu1_1"}
    doubled = style.to(torch.float64)
    assert doubled.targets["relu1_1"][0].dtype == torch.float64 and doubled.masks["relu1_1"].dtype == torch.float64
    # Moved or not, the value is the one computed by hand from the statistic.
    assert doubled({"relu1_1": (X * 2).double()}).item() == pytest.approx(
        2.0 * statistic.distance(X * 2, statistic.target(X), masks["relu1_1"]).item(), rel=1e-6)


def test_normalized_gradients_push_each_layer_with_its_weight():
    # jcjohnson's -normalize_gradients: the loss is unchanged, and the gradient reaching each layer's
    # activations is the true one's direction at L1 norm weight * layer weight.
    torch.manual_seed(0)
    features = {"relu1_1": torch.randn(1, 2, 3, 3), "relu2_1": torch.randn(1, 4, 2, 2)}
    targets = {name: torch.randn_like(value) for name, value in features.items()}
    layers = [("relu1_1", 1.0), ("relu2_1", 0.25)]
    gradients = {}
    for normalize in (False, True):
        leaves = {name: value.clone().requires_grad_(True) for name, value in features.items()}
        loss = ContentLoss(targets, layers, weight=3.0, reduction="sum", normalize_gradients=normalize)(leaves)
        loss.backward()
        gradients[normalize] = (loss.item(), {name: leaf.grad for name, leaf in leaves.items()})
    (plain_loss, plain), (normalized_loss, normalized) = gradients[False], gradients[True]
    assert normalized_loss == pytest.approx(plain_loss)
    for name, layer_weight in layers:
        # By hand: the plain gradient of 3 * w * sum((F - P)^2) is 6 w (F - P).
        assert torch.allclose(plain[name], 6 * layer_weight * (features[name] - targets[name]), atol=1e-5)
        assert normalized[name].abs().sum().item() == pytest.approx(3.0 * layer_weight, rel=1e-5)
        direction = plain[name] / plain[name].abs().sum()
        assert torch.allclose(normalized[name] / normalized[name].abs().sum(), direction, atol=1e-6)


def test_normalized_style_gradients_do_not_depend_on_the_losss_scale():
    torch.manual_seed(1)
    activation = torch.randn(1, 3, 4, 4)
    statistic = GramStatistic("d2l")
    target = statistic.prepare(statistic.target(torch.randn(1, 3, 4, 4)))
    gradients = []
    for weight in (1.0, 1e6):
        leaf = activation.clone().requires_grad_(True)
        StyleLoss(statistic, {"relu1_1": target}, [("relu1_1", 1.0)], weight, normalize_gradients=True)(
            {"relu1_1": leaf}).backward()
        gradients.append(leaf.grad / weight)
    # A million times the weight is a million times the push, and nothing else.
    assert torch.allclose(gradients[0], gradients[1], rtol=1e-4, atol=1e-9)
    assert gradients[0].abs().sum().item() == pytest.approx(1.0, rel=1e-5)
