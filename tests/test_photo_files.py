"""Photographers' files: colour profiles, HEIC and AVIF, 16-bit outputs, EXIF, GPS and DPI, print sizes.

Every file is made here. The Display P3 profile is built byte by byte (a matrix/curve ICC v2 profile with
Apple's published D50-adapted primaries), and the expected sRGB values are computed with NumPy from the
colour matrices, not by LittleCMS, so the reader is checked against an independent calculation.
"""
from __future__ import annotations

import struct

import numpy as np
import pytest
from PIL import Image

from impasto.errors import ImageInputError, OutputError
from impasto.imaging.images import open_image, save_image
from impasto.imaging.profiles import SOURCE_PROFILE_KEY, profile_name
from impasto.imaging.writers import FileSettings

# Display P3 and sRGB, RGB -> XYZ (D50, Bradford-adapted), columns red, green, blue.
P3_TO_XYZ = np.array([[0.5151, 0.2920, 0.1571], [0.2412, 0.6922, 0.0666], [-0.0011, 0.0419, 0.7841]])
SRGB_TO_XYZ = np.array([[0.4361, 0.3851, 0.1431], [0.2225, 0.7169, 0.0606], [0.0139, 0.0971, 0.7141]])
D50 = (0.9642, 1.0, 0.8249)


def _s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def _srgb_decode(v: np.ndarray) -> np.ndarray:
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def _srgb_encode(v: np.ndarray) -> np.ndarray:
    v = np.clip(v, 0, 1)
    return np.where(v <= 0.0031308, v * 12.92, 1.055 * v ** (1 / 2.4) - 0.055)


def matrix_profile(matrix: np.ndarray, name: str) -> bytes:
    """An ICC v2 display profile: three colorant columns, the sRGB curve on each channel, a description."""
    ascii_name = name.encode("ascii") + b"\x00"
    desc = b"desc\x00\x00\x00\x00" + struct.pack(">I", len(ascii_name)) + ascii_name + bytes(4 + 4 + 2 + 1 + 67)
    curve = (_srgb_decode(np.linspace(0, 1, 1024)) * 65535 + 0.5).astype(">u2").tobytes()
    curv = b"curv\x00\x00\x00\x00" + struct.pack(">I", 1024) + curve

    def xyz(values) -> bytes:
        return b"XYZ \x00\x00\x00\x00" + b"".join(_s15(v) for v in values)

    tags = [(b"desc", desc), (b"wtpt", xyz(D50)), (b"rXYZ", xyz(matrix[:, 0])), (b"gXYZ", xyz(matrix[:, 1])),
            (b"bXYZ", xyz(matrix[:, 2])), (b"rTRC", curv), (b"gTRC", curv), (b"bTRC", curv),
            (b"cprt", b"text\x00\x00\x00\x00made in a test\x00")]
    table_size = 4 + 12 * len(tags)
    offset, entries, data = 128 + table_size, b"", b""
    for signature, body in tags:
        body += bytes(-len(body) % 4)
        entries += signature + struct.pack(">II", offset + len(data), len(body))
        data += body
    size = 128 + table_size + len(data)
    header = (struct.pack(">I", size) + b"lcms" + bytes.fromhex("02100000") + b"mntrRGB XYZ " + bytes(12)
              + b"acsp" + bytes(4 + 4 + 4 + 4 + 8 + 4) + b"".join(_s15(v) for v in D50) + bytes(4 + 44))
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + entries + data


P3_PROFILE = matrix_profile(P3_TO_XYZ, "Display P3 (test)")


def p3_to_srgb(rgb8: np.ndarray) -> np.ndarray:
    """What a colour-managed viewer shows for P3 pixels, in sRGB 0..255 (NumPy, not LittleCMS)."""
    linear = _srgb_decode(rgb8 / 255.0) @ P3_TO_XYZ.T @ np.linalg.inv(SRGB_TO_XYZ).T
    return _srgb_encode(linear) * 255.0


def p3_photo(tmp_path, colours: np.ndarray, name: str = "p3.png", **save) -> str:
    path = tmp_path / name
    Image.fromarray(colours.astype(np.uint8), "RGB").save(path, icc_profile=P3_PROFILE, **save)
    return str(path)


COLOURS = np.array([[[200, 100, 50], [40, 160, 90], [90, 60, 200], [128, 128, 128]]], dtype=np.uint8)


def test_p3_photo_is_converted_to_srgb_on_known_colours(tmp_path):
    image, _ = open_image(p3_photo(tmp_path, COLOURS))
    got = np.asarray(image, dtype=np.float64)
    expected = p3_to_srgb(COLOURS.astype(np.float64))
    assert np.abs(got - expected).max() <= 2.0, (got, expected)
    # Read as if it were sRGB, the saturated colours would be far off: the conversion really happened.
    assert np.abs(COLOURS[0, :3].astype(float) - expected[0, :3]).max() > 15
    assert image.info[SOURCE_PROFILE_KEY] == P3_PROFILE
    assert "srgb" in profile_name(image.info["icc_profile"]).lower()


def test_jpeg_and_grey_and_cmyk_with_profiles_still_open(tmp_path):
    blocks = np.repeat(np.repeat(COLOURS, 16, axis=0), 16, axis=1)  # 16x16 blocks: JPEG's own error stays small
    jpeg, _ = open_image(p3_photo(tmp_path, blocks, "p3.jpg", quality=100, subsampling=0))
    centres = np.asarray(jpeg, float)[8, 8::16]
    assert np.abs(centres - p3_to_srgb(COLOURS.astype(float))[0]).max() < 4
    grey = tmp_path / "grey.png"
    Image.new("L", (4, 4), 100).save(grey)
    assert open_image(str(grey))[0].getpixel((0, 0)) == (100, 100, 100)
    cmyk = tmp_path / "cmyk.tif"
    Image.new("CMYK", (4, 4), (0, 255, 255, 0)).save(cmyk)
    assert open_image(str(cmyk))[0].getpixel((0, 0)) == (255, 0, 0)


def test_damaged_profile_is_one_line_error(tmp_path):
    path = tmp_path / "bad.png"
    Image.new("RGB", (4, 4), (10, 20, 30)).save(path, icc_profile=b"not a profile at all" * 8)
    with pytest.raises(ImageInputError, match="colour profile") as caught:
        open_image(str(path), "content image")
    assert "\n" not in str(caught.value) and "bad.png" in str(caught.value)


def test_output_is_tagged_srgb_and_keep_profile_goes_back(tmp_path):
    photo, _ = open_image(p3_photo(tmp_path, COLOURS))
    plain = save_image(photo, tmp_path / "out.png", photo=photo)
    with Image.open(plain) as written:
        assert "srgb" in profile_name(written.info["icc_profile"]).lower()
        assert np.abs(np.asarray(written, float) - np.asarray(photo, float)).max() == 0
    kept = save_image(photo, tmp_path / "kept.png", photo=photo, settings=FileSettings(keep_profile=True))
    with Image.open(kept) as written:
        assert written.info["icc_profile"] == P3_PROFILE
        back = np.asarray(written, float)
    # Back in P3 the pixels are the photo's own again, except the green outside sRGB's gamut, clipped on
    # the way in (its red channel would be below 0 in sRGB).
    inside = [0, 2, 3]
    assert np.abs(back[0, inside] - COLOURS[0, inside]).max() <= 2
    assert np.abs(back[0, 1] - COLOURS[0, 1]).max() > 2


SKY = np.linspace(0.2, 0.8, 1000, dtype=np.float32)[None, :, None].repeat(3, axis=2).repeat(4, axis=0)


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_sixteen_bit_outputs_keep_more_than_256_levels(tmp_path, suffix):
    photo, _ = open_image(p3_photo(tmp_path, COLOURS))
    eight = Image.fromarray((SKY * 255 + 0.5).astype(np.uint8), "RGB")
    path = save_image(eight, tmp_path / f"sky{suffix}", {"run": 1}, photo=photo, pixels=SKY,
                      settings=FileSettings(bit_depth=16, dpi=300))
    if suffix == ".png":
        import png

        width, height, rows, info = png.Reader(filename=str(path)).asDirect()
        assert info["bitdepth"] == 16 and (width, height) == (1000, 4)
        values = np.vstack([np.asarray(row) for row in rows]).reshape(height, width, 3)
        with Image.open(path) as written:  # Pillow reads the chunks pypng's file carries
            assert "srgb" in profile_name(written.info["icc_profile"]).lower()
            assert round(written.info["dpi"][0]) == 300 and "run" in written.info["impasto"]
    else:
        import tifffile

        with tifffile.TiffFile(path) as tiff:
            values = tiff.asarray()
            tags = tiff.pages[0].tags
            assert "srgb" in profile_name(bytes(tags["InterColorProfile"].value)).lower()
            assert tags["XResolution"].value == (300, 1)
    assert values.dtype == np.uint16
    assert len(np.unique(values[0, :, 0])) > 900  # an 8-bit file has at most 256
    assert np.abs(values[0, :, 0] / 65535.0 - SKY[0, :, 0]).max() < 1e-4


def test_sixteen_bit_keep_profile_converts_smoothly(tmp_path):
    photo, _ = open_image(p3_photo(tmp_path, COLOURS))
    eight = Image.fromarray((SKY * 255 + 0.5).astype(np.uint8), "RGB")
    path = save_image(eight, tmp_path / "sky.tif", photo=photo, pixels=SKY,
                      settings=FileSettings(bit_depth=16, keep_profile=True))
    import tifffile

    with tifffile.TiffFile(path) as tiff:
        values = tiff.asarray()[0].astype(float) / 65535.0
        assert bytes(tiff.pages[0].tags["InterColorProfile"].value) == P3_PROFILE
    # Grey stays grey in P3 (the same white point and curve), and the gradient stays smooth and rising.
    assert np.abs(values - SKY[0]).max() < 3 / 255
    assert len(np.unique(values[:, 1])) > 900 and np.all(np.diff(values[:, 1]) >= -1e-4)


def test_sixteen_bits_refused_for_jpeg(tmp_path):
    with pytest.raises(OutputError, match="8 bits per channel"):
        save_image(Image.new("RGB", (4, 4)), tmp_path / "out.jpg", settings=FileSettings(bit_depth=16))
    assert not list(tmp_path.iterdir())


def _photo_with_exif(tmp_path) -> str:
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0112] = "PhoneMaker", "Phone 15", 6  # make, model, orientation
    exif.get_ifd(0x8769)[0x9003] = "2026:11:30 12:00:00"  # DateTimeOriginal
    exif.get_ifd(0x8825).update({1: "N", 2: (48.0, 51.0, 29.0), 3: "E", 4: (2.0, 17.0, 40.0)})
    path = tmp_path / "exif.jpg"
    Image.new("RGB", (40, 20), (200, 30, 30)).save(path, exif=exif, dpi=(240, 240))
    return str(path)


@pytest.mark.parametrize("keep_gps", [False, True])
def test_exif_kept_orientation_applied_gps_dropped_unless_asked(tmp_path, keep_gps):
    photo, _ = open_image(_photo_with_exif(tmp_path))
    assert photo.size == (20, 40)  # orientation 6: turned upright on reading
    path = save_image(photo, tmp_path / "out.jpg", photo=photo, settings=FileSettings(keep_gps=keep_gps))
    with Image.open(path) as written:
        exif = written.getexif()
        assert exif[0x010F] == "PhoneMaker" and exif[0x0110] == "Phone 15" and exif[0x0131] == "impasto"
        assert 0x0112 not in exif  # no second turn in the viewer
        assert exif.get_ifd(0x8769)[0x9003] == "2026:11:30 12:00:00"
        assert exif.get_ifd(0x8769)[0xA002] == 20  # the output's width
        assert exif.get_ifd(0x8769)[0xA001] == 1  # ColorSpace: sRGB, as the embedded profile
        assert bool(exif.get_ifd(0x8825)) is keep_gps
        assert round(written.info["dpi"][0]) == 240


def test_heic_and_avif_round_trip(tmp_path):
    picture = np.zeros((64, 96, 3), np.uint8)
    picture[:, :48] = (220, 60, 40)
    picture[:, 48:] = (40, 90, 200)
    image = Image.fromarray(picture, "RGB")
    for suffix in (".heic", ".avif"):
        path = save_image(image, tmp_path / f"photo{suffix}")
        read, _ = open_image(str(path))
        assert read.size == (96, 64)
        assert np.abs(np.asarray(read, float)[16:48, [16, 80]] - picture[16:48, [16, 80]]).mean() < 6


def test_damaged_heic_is_one_line_error(tmp_path):
    good = save_image(Image.new("RGB", (64, 64), (10, 200, 30)), tmp_path / "good.heic")
    data = good.read_bytes()
    cut = tmp_path / "cut.heic"
    cut.write_bytes(data[: len(data) // 2])
    junk = tmp_path / "junk.heic"
    junk.write_bytes(b"\x00\x00\x00\x18ftypheic" + bytes(100))
    for path in (cut, junk):
        with pytest.raises(ImageInputError) as caught:
            open_image(str(path), "content image")
        assert "\n" not in str(caught.value) and path.name in str(caught.value)


def test_heic_bomb_refused_before_decoding(tmp_path):
    path = save_image(Image.new("RGB", (64, 64)), tmp_path / "big.heic")
    with pytest.raises(ImageInputError, match="decompression bombs"):
        open_image(str(path), max_pixels=1000)


# -- print sizes ----------------------------------------------------------------------------------------------

def test_print_sizes_resolve_to_pixels_along_the_photo():
    from impasto.config.prints import parse_print_size, print_long_side

    assert parse_print_size("40x30cm") == pytest.approx((40 / 2.54, 30 / 2.54))
    assert parse_print_size("16 x 12 in") == (16.0, 12.0)
    # 40 cm at 300 DPI is 4724 px along a 3:2 landscape photo (its short side, 31.5 cm, overflows the
    # 30 cm box: the fit is then 30 cm * 1.5 = 45 cm, so the long side stays at 40 cm).
    assert print_long_side("40x30cm", 300, 3000, 2000) == round(40 / 2.54 * 300)
    # A square photo in the same box is limited by the box's short side; a portrait box fits a landscape photo.
    assert print_long_side("40x30cm", 300, 1000, 1000) == round(30 / 2.54 * 300)
    assert print_long_side("30x40cm", 300, 3000, 2000) == print_long_side("40x30cm", 300, 3000, 2000)
    assert print_long_side("6x4in", None, 600, 400) == 1800  # 300 DPI by default


@pytest.mark.parametrize("text", ["40x30", "40x30km", "x30cm", "0x30cm", "forty"])
def test_bad_print_sizes_are_one_line_errors(text):
    from impasto.config.prints import parse_print_size
    from impasto.errors import OptionError

    with pytest.raises(OptionError, match="print size") as caught:
        parse_print_size(text)
    assert "\n" not in str(caught.value)


def test_a_print_too_large_to_paint_is_refused():
    from impasto.config.prints import print_long_side
    from impasto.errors import OptionError

    with pytest.raises(OptionError, match="px on its long side"):
        print_long_side("600x400cm", 2400, 3000, 2000)


def test_options_check_the_file_settings():
    from impasto.config.options import resolve_options
    from impasto.errors import OptionError

    for bad in ({"bit_depth": 12}, {"dpi": 0}, {"print_size": "big"}, {"protect": "pets"}, {"keep_gps": "yes"}):
        with pytest.raises(OptionError):
            resolve_options(**bad)
    assert resolve_options(bit_depth=16, print_size="10x8in", dpi=150).dpi == 150


# -- the command line, end to end --------------------------------------------------------------------------------

def test_cli_paints_a_p3_photo_into_a_16_bit_print_file_with_its_exif(tmp_path, style_path):
    from impasto.cli.main import main
    from tests.conftest import gradient_image

    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "PhoneMaker", "Phone 15"
    exif.get_ifd(0x8825).update({1: "N", 2: (48.0, 51.0, 29.0)})
    photo = tmp_path / "phone.png"
    gradient_image(96, 64).save(photo, icc_profile=P3_PROFILE, exif=exif)
    output = tmp_path / "print.png"
    # 3x2 inches at 32 DPI: 96 px on the long side, written at 32 DPI.
    code = main([str(photo), str(style_path), "-o", str(output), "--print", "3x2in", "--dpi", "32",
                 "--bit-depth", "16", "--scales", "1", "--iterations", "3", "--quiet"])
    assert code == 0
    import png

    width, height, rows, info = png.Reader(filename=str(output)).asDirect()
    assert (width, height, info["bitdepth"]) == (96, 64, 16)
    assert len(np.unique(np.vstack(list(rows)))) > 256
    with Image.open(output) as written:
        assert "srgb" in profile_name(written.info["icc_profile"]).lower()
        assert round(written.info["dpi"][0]) == 32
        assert written.getexif()[0x0110] == "Phone 15" and not written.getexif().get_ifd(0x8825)
        assert "print_size" in written.info["impasto"]  # the run's record, as in an 8-bit PNG


@pytest.mark.parametrize("arguments, message", [
    (["--bit-depth", "16", "--size", "48"], "JPEG, which holds 8 bits per channel"),
    (["--print", "big"], "print size must look like 40x30cm"),
])
def test_cli_file_option_errors_are_one_line(tmp_path, content_path, style_path, arguments, message):
    from tests.test_cli import assert_clean_failure, run_cli

    output = tmp_path / "out.jpg"
    result = run_cli(content_path, style_path, "-o", output, *arguments, "--quiet")
    assert_clean_failure(result, message)
    assert not output.exists()


def test_masks_are_not_colour_managed(tmp_path):
    """A mask's greys are weights, not colours: a profile on it changes nothing (a photo's would)."""
    path = tmp_path / "mask.png"
    Image.new("RGB", (4, 4), (128, 128, 128)).save(path, icc_profile=matrix_profile(P3_TO_XYZ * 0.5, "dim"))
    assert open_image(str(path), "style mask", colours=False)[0].getpixel((0, 0)) == (128, 128, 128)
    assert open_image(str(path), "content image")[0].getpixel((0, 0)) != (128, 128, 128)
