import torch

from impasto.imaging.palette import ColorStatistics, blend_color_statistics, color_statistics, match_colors


def _image(seed: int, mean, scale) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    mix = torch.tensor(scale)
    noise = torch.randn((3, 64 * 48), generator=generator)
    return (mix @ noise + torch.tensor(mean)[:, None]).reshape(1, 3, 48, 64)


def test_statistics_by_hand():
    # Two pixels, (0, 0, 0) and (1, 0.5, 0): mean (0.5, 0.25, 0); population covariance.
    rgb = torch.tensor([[0.0, 1.0], [0.0, 0.5], [0.0, 0.0]]).reshape(1, 3, 1, 2)
    stats = color_statistics(rgb)
    assert torch.allclose(stats.mean, torch.tensor([0.5, 0.25, 0.0], dtype=torch.float64))
    expected = torch.tensor([[0.25, 0.125, 0.0], [0.125, 0.0625, 0.0], [0.0, 0.0, 0.0]], dtype=torch.float64)
    assert torch.allclose(stats.covariance, expected)


def test_match_colors_gives_the_target_mean_and_covariance():
    source = _image(0, [0.3, 0.5, 0.6], [[0.05, 0.0, 0.0], [0.02, 0.04, 0.0], [0.0, 0.01, 0.03]])
    painting = _image(1, [0.7, 0.3, 0.2], [[0.08, 0.0, 0.0], [-0.03, 0.05, 0.0], [0.01, 0.02, 0.04]])
    target = color_statistics(painting)
    matched = color_statistics(match_colors(source, target))
    assert torch.allclose(matched.mean, target.mean, atol=2e-3)
    assert torch.allclose(matched.covariance, target.covariance, atol=2e-4)


def test_match_colors_keeps_the_structure():
    source = _image(2, [0.5, 0.5, 0.5], [[0.1, 0.0, 0.0], [0.05, 0.08, 0.0], [0.0, 0.0, 0.06]])
    recoloured = match_colors(source, ColorStatistics(torch.tensor([0.2, 0.4, 0.6]).double(),
                                                      torch.eye(3).double() * 0.01))
    # A linear map of the colours: the luminance of neighbouring pixels keeps its order where it differed.
    correlation = torch.corrcoef(torch.stack([source.mean(1).flatten(), recoloured.mean(1).flatten()]))[0, 1]
    assert correlation > 0.9


def test_blend_of_two_flat_images_is_the_mixture():
    red = color_statistics(torch.tensor([1.0, 0.0, 0.0]).view(1, 3, 1, 1).expand(1, 3, 4, 4))
    blue = color_statistics(torch.tensor([0.0, 0.0, 1.0]).view(1, 3, 1, 1).expand(1, 3, 4, 4))
    mixed = blend_color_statistics([red, blue], [0.5, 0.5])
    assert torch.allclose(mixed.mean, torch.tensor([0.5, 0.0, 0.5], dtype=torch.float64))
    # A 50/50 mixture of red and blue pixels: variance 0.25 on red and blue, covariance -0.25 between them.
    assert torch.allclose(mixed.covariance[0], torch.tensor([0.25, 0.0, -0.25], dtype=torch.float64))
