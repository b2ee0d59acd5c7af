from impasto.quality import QualityJudge
from tests.conftest import gradient_image, stripes_image


def test_scores_are_zero_for_perfect_matches_and_grow_with_distance(vgg19_weights):
    content, style = gradient_image(96, 64), stripes_image(80, 80)
    judge = QualityJudge(content, [style], weights=vgg19_weights)
    assert judge.content_distance(content) < 1e-6
    assert judge.style_distance(style, 64) < 1e-6
    own = judge.score(content, sizes=(32, 64))
    assert set(own) == {"style_32", "style_64", "content"}
    other = gradient_image(96, 64, seed=9).rotate(180)
    assert judge.content_distance(other) > 0.1
    assert judge.style_distance(content, 64) > 0.3


def test_blended_targets(vgg19_weights):
    content, first, second = gradient_image(64, 64), stripes_image(64, 64), stripes_image(64, 64, seed=4)
    only_first = QualityJudge(content, [first, second], blend=[1.0, 0.0], weights=vgg19_weights)
    assert only_first.style_distance(first, 64) < 1e-6
    assert only_first.style_distance(second, 64) > 0.05
