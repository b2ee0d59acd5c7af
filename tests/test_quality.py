from PIL import Image, ImageDraw

from impasto.imaging.images import image_to_tensor
from impasto.reports.quality import QualityJudge, edge_map
from tests.conftest import gradient_image, stripes_image


def test_scores_are_zero_for_perfect_matches_and_grow_with_distance(vgg19_weights):
    content, style = gradient_image(96, 64), stripes_image(80, 80)
    judge = QualityJudge(content, [style], weights=vgg19_weights)
    assert judge.content_distance(content) < 1e-6
    assert judge.style_distance(style, 64) < 1e-6
    own = judge.score(content, sizes=(32, 64))
    assert set(own) == {"style_32", "style_64", "content", "structure"}
    assert abs(own["structure"]) < 1e-6
    other = gradient_image(96, 64, seed=9).rotate(180)
    assert judge.content_distance(other) > 0.1
    assert judge.style_distance(content, 64) > 0.3


def test_blended_targets(vgg19_weights):
    content, first, second = gradient_image(64, 64), stripes_image(64, 64), stripes_image(64, 64, seed=4)
    only_first = QualityJudge(content, [first, second], blend=[1.0, 0.0], weights=vgg19_weights)
    assert only_first.style_distance(first, 64) < 1e-6
    assert only_first.style_distance(second, 64) > 0.05


def _square(offset: int) -> Image.Image:
    image = Image.new("RGB", (128, 128), (30, 30, 30))
    ImageDraw.Draw(image).rectangle((32 + offset, 32, 96 + offset, 96), fill=(220, 200, 180))
    return image


def test_edge_map_marks_outlines():
    edges = edge_map(image_to_tensor(_square(0)))[0, 0]
    assert edges.shape == (32, 32)
    # The square's left edge (x = 32 -> block 8) is bright; the flat middle and background are dark.
    assert edges[16, 8] > 0.5 and edges[16, 7] > 0.5
    assert edges[16, 16] < 1e-6 and edges[2, 2] < 1e-6


def test_structure_distance_ranks_shifted_and_recoloured_outlines(vgg19_weights):
    judge = QualityJudge(_square(0), [stripes_image(64, 64)], weights=vgg19_weights)
    recoloured = Image.eval(_square(0), lambda v: 255 - v)  # same outlines, other colours
    shifted = _square(6)
    unrelated = stripes_image(128, 128)
    assert judge.structure_distance(recoloured) < 1e-4
    assert 0.3 < judge.structure_distance(shifted) < judge.structure_distance(unrelated)
