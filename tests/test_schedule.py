from impasto.config.options import resolve_options
from impasto.engine.schedule import learning_rate, plan_stages, stage_long_sides


def test_long_sides_are_geometric():
    assert stage_long_sides(512, 128, 3) == [128, 256, 512]
    assert stage_long_sides(512, 128, 1) == [512]
    assert stage_long_sides(100, 160, 3) == [32, 57, 100]  # 100/4 is below the 32 px floor


def test_stages_keep_the_content_aspect():
    options = resolve_options(size=400, scales=2, min_size=200, iterations=[7, 3])
    stages = plan_stages(options, (800, 400))
    assert [(s.shape, s.iterations) for s in stages] == [((100, 200), 7), ((200, 400), 3)]


def test_step_decay_like_d2l():
    options = resolve_options("d2l")
    first, second = plan_stages(options, (900, 600))
    assert learning_rate(options, first, 0) == 0.01
    assert learning_rate(options, first, 199) == 0.01
    assert abs(learning_rate(options, first, 200) - 0.001) < 1e-12
    assert abs(learning_rate(options, second, 250) - 0.01 * 0.1**2) < 1e-12
    constant = resolve_options(lr_decay_every=0)
    assert learning_rate(constant, plan_stages(constant, (64, 64))[0], 1000) == constant.lr


def test_the_default_gives_a_square_photo_fewer_iterations_at_every_scale():
    options = resolve_options()  # impasto's preset: 40,20,8,10 for a 3:2 photo
    assert options.iterations_aspect == 1.5
    assert [s.iterations for s in plan_stages(options, (768, 512))] == [40, 20, 8, 10]  # 512x341: 3:2
    assert [s.iterations for s in plan_stages(options, (512, 256))] == [40, 20, 8, 10]  # 2:1 keeps them too
    # A square has 1.5 times a 3:2 photo's pixels at every scale: 40 / 1.5 = 26.7 -> 27, 13.3 -> 13, 5.3 -> 5,
    # 6.7 -> 7; 4:3 (512x384 at the last scale) 10 * (512 * 512 / 1.5) / (512 * 384) = 8.9 -> 9.
    assert [s.iterations for s in plan_stages(options, (1000, 1000))] == [27, 13, 5, 7]
    assert [s.iterations for s in plan_stages(options, (1024, 768))] == [36, 18, 7, 9]
    assert [s.iterations for s in plan_stages(options, (768, 1024))] == [36, 18, 7, 9]  # portrait alike
    # Draft: the square gets 20, 8 and its one last iteration (never fewer than one).
    assert [s.iterations for s in plan_stages(resolve_options(quality="draft"), (600, 600))] == [20, 8, 1]
    assert [s.iterations for s in plan_stages(resolve_options(quality="draft"), (600, 400))] == [30, 12, 1]


def test_iterations_aspect_off_keeps_the_iterations_and_high_is_as_given():
    assert [s.iterations for s in plan_stages(resolve_options(iterations_aspect=0), (1000, 1000))] == [40, 20, 8, 10]
    assert [s.iterations for s in plan_stages(resolve_options(quality="high"), (600, 600))] == [100, 50, 25, 35]
    # A recipe with exact stage shapes is never changed, whatever the option says.
    d2l = resolve_options("d2l", iterations_aspect=1.5)
    assert [s.iterations for s in plan_stages(d2l, (500, 500))] == [500, 300]
