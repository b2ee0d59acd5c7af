import torch

from impasto.losses import LossTerms, StyleTransferLoss, content_loss, gram_matrix, style_loss, tv_loss

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
        assert torch.autograd.gradcheck(lambda t: style_loss(t, gram_target, norm), (x,))
    for reduction in ("mean", "sum"):
        assert torch.autograd.gradcheck(lambda t: content_loss(t, target, reduction), (x,))
    assert torch.autograd.gradcheck(lambda t: tv_loss(t, "keras"), (x,))
    assert torch.autograd.gradcheck(lambda t: tv_loss(t, "d2l"), (x,))


def test_combined_loss_weights_each_part():
    features = {"a": X, "b": X * 2}
    target_gram = gram_matrix(torch.zeros_like(X))
    loss = StyleTransferLoss(
        content_targets={"a": torch.zeros_like(X)}, style_grams={"b": target_gram},
        content_layers=[("a", 2.0)], style_layers=[("b", 0.5)],
        content_weight=3.0, style_weight=10.0, tv_weight=0.1,
    )
    terms = loss(features, X)
    assert isinstance(terms, LossTerms)
    assert torch.allclose(terms.content, torch.tensor(3.0 * 2.0 * 4.5))
    assert torch.allclose(terms.style, 10.0 * 0.5 * style_loss(X * 2, target_gram))
    assert torch.allclose(terms.tv, torch.tensor(0.1 * 1.5))
    assert torch.allclose(terms.total, terms.content + terms.style + terms.tv)


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
