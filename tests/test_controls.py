"""The artistic controls: colour preservation, stroke size, style masks, timelapse and snapshots."""
import json

import numpy as np
import pytest
import torch
from PIL import Image

from impasto import Interrupted, Stylizer, stylize
from impasto.errors import ImageInputError, OptionError, OutputError
from impasto.net.features import VGGFeatures
from impasto.imaging.images import image_to_tensor
from impasto.loss.statistics import GramStatistic
from impasto.config.options import resolve_options
from impasto.imaging.palette import color_statistics, rgb_to_yiq
from tests.conftest import gradient_image, stripes_image
from tests.test_cli import assert_clean_failure, run_cli

# The controls are measured on one fixed loss (every style layer at weight 1, no balance factor), not on
# whatever the default preset is tuned to next.
SMALL = dict(size=64, scales=1, iterations=20, style_weight=1.0, style_balance=0.0, seed=0,
             style_layers="relu1_1,relu2_1,relu3_1,relu4_1,relu5_1")


def run(content, styles, weights, **options):
    masks = options.pop("style_masks", None)
    stylizer = Stylizer(content, styles, resolve_options(**{**SMALL, **options}), weights=weights, style_masks=masks)
    return stylizer, stylizer.run()


def test_luminance_keeps_the_photos_chroma(vgg19_weights):
    content, style = gradient_image(96, 64), stripes_image(80, 80)
    _, result = run(content, style, vgg19_weights, preserve_colors="luminance")
    photo = image_to_tensor(content, (result.height, result.width))
    painted = image_to_tensor(result)
    gap = (rgb_to_yiq(painted)[:, 1:] - rgb_to_yiq(photo)[:, 1:]).abs().amax(dim=1)
    # Where the new luminance with the old chroma is a displayable colour (no channel clipped), the chroma
    # is the photo's to 8-bit rounding; elsewhere clipping moves it a little.
    in_gamut = ((painted > 1 / 255) & (painted < 254 / 255)).all(dim=1)
    assert in_gamut.float().mean() > 0.5 and gap[in_gamut].max() < 0.012 and gap.mean() < 0.03
    luma_change = (rgb_to_yiq(painted)[:, :1] - rgb_to_yiq(photo)[:, :1]).abs().mean().item()
    assert luma_change > 0.03  # the luminance really was painted
    _, plain = run(content, style, vgg19_weights)
    assert (rgb_to_yiq(image_to_tensor(plain))[:, 1:] - rgb_to_yiq(photo)[:, 1:]).abs().mean().item() > 0.05


def test_histogram_keeps_the_photos_palette(vgg19_weights):
    content, style = gradient_image(96, 64), stripes_image(80, 80)
    photo = color_statistics(image_to_tensor(content))
    _, kept = run(content, style, vgg19_weights, preserve_colors="histogram")
    _, plain = run(content, style, vgg19_weights)

    def distance(image):
        stats = color_statistics(image_to_tensor(image))
        return ((stats.mean - photo.mean).norm() + (stats.covariance - photo.covariance).norm()).item()

    # 0.07 with float32 convolutions, 0.081 with bfloat16 ones (precision auto on a CPU with bfloat16 hardware).
    assert distance(kept) < 0.1 and distance(plain) > 3 * distance(kept)


def test_style_scale_is_a_style_size_relative_to_the_output(vgg19_weights):
    content, style = gradient_image(96, 64), stripes_image(80, 80)
    _, scaled = run(content, style, vgg19_weights, style_scale=0.5, iterations=3)
    _, sized = run(content, style, vgg19_weights, style_size=32, iterations=3)
    _, plain = run(content, style, vgg19_weights, iterations=3)
    assert np.array_equal(np.asarray(scaled), np.asarray(sized))
    assert not np.array_equal(np.asarray(scaled), np.asarray(plain))
    with pytest.raises(OptionError, match="not both"):
        resolve_options(style_scale=0.5, style_size=256)
    with pytest.raises(OptionError, match="from 0.05 to 8"):
        resolve_options(style_scale=100)


def test_a_mask_reaches_each_layer_with_soft_borders(vgg19_weights):
    network = VGGFeatures(vgg19_weights)
    mask = torch.zeros(1, 1, 64, 64)
    mask[..., :32] = 1.0
    masks = network.propagate_mask(mask, ["relu1_1", "relu3_1"])
    assert masks["relu1_1"].shape == (1, 1, 64, 64) and masks["relu3_1"].shape == (1, 1, 16, 16)
    row = masks["relu3_1"][0, 0, 8]
    assert row[0] == 1 and row[-1] == 0 and 0 < row[7] < 1 and 0 < row[8] < 1  # the border column pair is mixed
    assert torch.all(row[:-1] >= row[1:])


def halves(width, height):
    left = Image.new("L", (width, height), 0)
    left.paste(255, (0, 0, width // 2, height))
    return left, Image.fromarray(255 - np.asarray(left))


def checkerboard(size=80, square=10):
    y, x = np.mgrid[0:size, 0:size]
    checks = (((x // square) + (y // square)) % 2).astype(bool)
    array = np.zeros((size, size, 3), np.uint8)
    array[checks], array[~checks] = (20, 200, 60), (60, 0, 90)
    return Image.fromarray(array)


def test_each_masked_region_takes_its_own_style(vgg19_weights):
    content, stripes, checks = gradient_image(128, 64), stripes_image(80, 80), checkerboard()
    left, right = halves(128, 64)
    options = dict(size=128, iterations=60, init_palette="content")
    _, painted = run(content, [stripes, checks], vgg19_weights, style_masks=[left, right], **options)
    _, swapped = run(content, [stripes, checks], vgg19_weights, style_masks=[right, left], **options)
    network = VGGFeatures(vgg19_weights, ["relu1_1", "relu2_1"])
    statistic = GramStatistic("relative")

    def distance(region, style):
        features, targets = network(image_to_tensor(region)), network(image_to_tensor(style, (64, 64)))
        return sum(statistic.distance(features[layer], statistic.target(targets[layer])).item()
                   for layer in ("relu1_1", "relu2_1"))

    def leaning_to_stripes(image, box):
        """Negative: the region's statistics are nearer the stripes than the checkerboard."""
        region = image.crop(box)
        return distance(region, stripes) - distance(region, checks)

    # The same half of the same photo leans clearly towards the painting its mask gave it.
    left_box, right_box = (0, 0, 64, 64), (64, 0, 128, 64)
    assert leaning_to_stripes(painted, left_box) < leaning_to_stripes(swapped, left_box) - 0.2
    assert leaning_to_stripes(painted, right_box) > leaning_to_stripes(swapped, right_box) + 0.2


def test_bad_masks_are_one_line_errors(tmp_path, vgg19_weights, content_path, style_path):
    content, style = gradient_image(96, 64), stripes_image(80, 80)
    left, right = halves(96, 64)
    with pytest.raises(OptionError, match="1 style mask\\(s\\) for 2 style image"):
        run(content, [style, style], vgg19_weights, style_masks=[left])
    with pytest.raises(OptionError, match="all black"):
        run(content, [style, style], vgg19_weights, style_masks=[left, Image.new("L", (96, 64))])
    with pytest.raises(OptionError, match="aspect ratio"):
        run(content, [style], vgg19_weights, style_masks=[Image.new("L", (64, 64), 255)])
    with pytest.raises(ImageInputError, match="style mask 1"):
        run(content, [style], vgg19_weights, style_masks=[str(tmp_path / "missing.png")])
    garbage = tmp_path / "mask.png"
    garbage.write_bytes(b"not a png")
    result = run_cli(content_path, style_path, "--style-mask", garbage, "-o", tmp_path / "out.png", "--size", "48",
                     "--scales", "1", "--iterations", "1", "--quiet")
    assert_clean_failure(result, "style mask 1")


def test_timelapse_frames_and_snapshots_of_the_current_image(tmp_path, content_path, style_path):
    movie, snapshots = tmp_path / "run.gif", tmp_path / "snaps"
    stylize(content_path, style_path, output=tmp_path / "out.png", timelapse=movie, timelapse_every=4,
            snapshots=snapshots, save_every=10, **SMALL)
    with Image.open(movie) as animation:
        # Iterations 1, 5, 9, 13, 17 and the final result.
        assert animation.n_frames == 6 and animation.size == (64, 43)
        animation.seek(0)
        first = np.asarray(animation.convert("RGB"), dtype=float)
        animation.seek(5)
        last = np.asarray(animation.convert("RGB"), dtype=float)
    assert np.abs(first - last).mean() > 3
    assert sorted(path.name for path in snapshots.iterdir()) == ["step_00010.png", "step_00020.png"]
    with pytest.raises(OutputError, match="must end in one of"):
        stylize(content_path, style_path, timelapse=tmp_path / "run.avi", **SMALL)
    with pytest.raises(OptionError, match="needs a timelapse file"):
        stylize(content_path, style_path, timelapse_every=3, **SMALL)


def test_an_interrupted_run_still_writes_its_timelapse(tmp_path, content_path, style_path):
    def interrupt(progress):
        if progress.step == 7:
            raise KeyboardInterrupt

    with pytest.raises(Interrupted) as caught:
        stylize(content_path, style_path, output=tmp_path / "out.png", timelapse=tmp_path / "run.png",
                timelapse_every=3, callback=interrupt, **SMALL)
    assert tmp_path / "run.png" in caught.value.saved
    with Image.open(tmp_path / "run.png") as animation, Image.open(tmp_path / "out.png") as output:
        # Iterations 1, 4, 7 and the best image (Pillow merges a last frame identical to the one before).
        assert animation.n_frames in (3, 4)
        animation.seek(animation.n_frames - 1)
        assert np.array_equal(np.asarray(animation.convert("RGB")), np.asarray(output.convert("RGB")))


def test_controls_compose_and_are_recorded(tmp_path, vgg19_weights):
    content, stripes, checks = gradient_image(128, 64), stripes_image(80, 80), checkerboard()
    left, right = halves(128, 64)
    output = tmp_path / "out.png"
    result = stylize(content, [stripes, checks], output=output, style_masks=[left, right], style_blend=[2, 1],
                     preserve_colors="luminance", style_scale=0.75, style_loss="meancov", timelapse=tmp_path / "t.gif",
                     **{**SMALL, "size": 96, "iterations": 6})
    photo = image_to_tensor(content, (result.height, result.width))
    painted = image_to_tensor(result)
    in_gamut = ((painted > 1 / 255) & (painted < 254 / 255)).all(dim=1)
    gap = (rgb_to_yiq(painted)[:, 1:] - rgb_to_yiq(photo)[:, 1:]).abs().amax(dim=1)
    assert gap[in_gamut].max() < 0.012
    with Image.open(output) as saved:
        record = json.loads(saved.text["impasto"])
    options = record["options"]
    assert (options["preserve_colors"], options["style_scale"], options["style_loss"]) == ("luminance", 0.75, "meancov")
    assert options["style_blend"] == [2.0, 1.0] and record["style_masks"] == ["in memory", "in memory"]
