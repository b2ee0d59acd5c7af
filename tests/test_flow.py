import numpy as np
import pytest
import torch

from impasto.errors import OptionError
from impasto.imaging.flow import optical_flow, reliable, temporal_difference, warp
from impasto.imaging.samples import sample_clip


def constant_flow(height, width, dx, dy):
    flow = np.zeros((height, width, 2), np.float32)
    flow[..., 0], flow[..., 1] = dx, dy
    return flow


def test_warp_samples_the_image_where_the_flow_points():
    image = torch.arange(5 * 6, dtype=torch.float32).view(1, 1, 5, 6)
    warped = warp(image, constant_flow(5, 6, 2, 1))
    # Pixel (x, y) takes the value at (x + 2, y + 1); past the edge, the border pixel's.
    assert torch.equal(warped[0, 0, :4, :4], image[0, 0, 1:5, 2:6])
    assert torch.equal(warped[0, 0, 4, :4], image[0, 0, 4, 2:6])
    half = warp(image, constant_flow(5, 6, 0.5, 0))
    assert half[0, 0, 0, 0].item() == pytest.approx(0.5)  # bilinear between 0 and 1


def test_consistent_smooth_flow_is_reliable_everywhere():
    mask = reliable(constant_flow(8, 8, 1.5, -2), constant_flow(8, 8, -1.5, 2))
    assert mask.shape == (1, 1, 8, 8) and mask.min() == 1


def test_flows_that_do_not_undo_each_other_are_unreliable_there():
    backward, forward = constant_flow(8, 8, 3, 0), constant_flow(8, 8, -3, 0)
    forward[:, :4] = 3  # the left half of the earlier frame went somewhere else: an occlusion
    mask = reliable(backward, forward)[0, 0]
    # A pixel of frame t at column x came from x + 3: only column 0 comes from the broken left half.
    assert mask[:, 0].max() == 0 and mask[:, 1:].min() == 1


def test_a_motion_boundary_is_unreliable():
    backward = constant_flow(8, 8, 0, 0)
    backward[:, 4:] = (2, 0)
    forward = -backward
    mask = reliable(backward, forward)[0, 0]
    assert mask[:, 3].max() == 0  # the step between columns 3 and 4
    assert mask[:, 0].min() == 1


@pytest.mark.parametrize("method,bound", [("dis", 3.0), ("farneback", 4.5)])
def test_estimated_flow_is_close_to_the_clips_true_flow(method, bound):
    frames, truth = sample_clip(frames=6, size=(256, 144))
    errors = [np.sqrt(((optical_flow(frames[t], frames[t - 1], method) - truth[t - 1]) ** 2).sum(-1)).mean()
              for t in range(1, 6)]
    # The camera moves 6-9 px per frame here; the error is the mean end-point error in pixels.
    motion = np.mean([np.sqrt((flow ** 2).sum(-1)).mean() for flow in truth])
    assert motion > 4 and np.mean(errors) < bound


def test_the_true_flow_warps_one_frame_onto_the_next():
    frames, truth = sample_clip(frames=3, size=(128, 72))
    before, after = (torch.from_numpy(np.asarray(frame, np.float32)).permute(2, 0, 1)[None] for frame in frames[:2])
    assert (warp(before, truth[0]) - after).abs().mean() < 0.3 * (before - after).abs().mean()


def test_temporal_difference_of_a_still_clip_is_zero_and_of_noise_is_large():
    frames, _ = sample_clip(frames=3, size=(128, 72), pan=0, zoom=1)
    still = [frames[0]] * 3
    assert temporal_difference(still, still) < 0.01  # DIS finds (almost) no motion
    rng = np.random.default_rng(0)
    from PIL import Image

    noise = [Image.fromarray(rng.integers(0, 256, (72, 128, 3), dtype=np.uint8)) for _ in range(3)]
    assert temporal_difference(noise, still) > 60
    with pytest.raises(OptionError):
        temporal_difference(still[:1], still[:1])
