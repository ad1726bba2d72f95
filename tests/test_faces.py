"""facezoo.faces: detection, alignment, analyze; and the image reader they share with predict."""

from __future__ import annotations

import functools
import logging
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import facezoo
from facezoo.faces import (
    LANDMARKS,
    alignment_matrix,
    analyze,
    detect_faces,
    face_geometry,
    similarity_transform,
    warp_affine,
)
from facezoo.inference import read_image

ASTRONAUT = Path(__file__).resolve().parents[1] / "examples" / "images" / "astronaut.jpg"
# Her face and eye centres, marked by hand on the 256x256 picture: (x0, y0, x1, y1) and (x, y).
FACE_REGION = (88, 26, 136, 90)
EYES = ((101, 50), (123, 51))
FACE_DATASETS = ("celeba", "imfdb_age", "scut_fbp5500", "utkface")


def iou(box: list[int], region: tuple[int, int, int, int]) -> float:
    x, y, w, h = box
    ix = max(0, min(x + w, region[2]) - max(x, region[0]))
    iy = max(0, min(y + h, region[3]) - max(y, region[1]))
    inter = ix * iy
    return inter / (w * h + (region[2] - region[0]) * (region[3] - region[1]) - inter)


def scene_background(height: int, width: int, seed: int = 0) -> np.ndarray:
    """Smooth colour gradients and blurred noise: nothing face-like."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width] / max(height, width)
    pixels = 60 + 120 * np.stack([x, y, (x + y) / 2], -1)
    noise = rng.normal(0, 20, (height // 16, width // 16)).astype(np.float32)
    pixels += np.asarray(Image.fromarray(noise).resize((width, height), Image.BICUBIC))[..., None]
    return np.clip(pixels, 0, 255).astype(np.uint8)


@functools.cache
def astronaut_face(side: int) -> np.ndarray:
    """Her head, cropped with a margin and resized to ``side`` x ``side``."""
    return np.asarray(
        Image.open(ASTRONAUT).convert("RGB").crop((70, 10, 154, 106)).resize((side, side), Image.BILINEAR)
    )


@functools.cache
def small_multitask():
    return facezoo.models.utkface_multitask(width=4, input_shape=(32, 32, 3))


def fixed_detector(pixels: np.ndarray) -> list[dict]:
    """A stand-in detector: one small and one large face at fixed places."""

    def face(x, y, size, confidence):
        landmarks = dict(
            zip(
                LANDMARKS,
                [
                    (x + size * u, y + size * v)
                    for u, v in [(0.3, 0.4), (0.7, 0.4), (0.5, 0.55), (0.35, 0.75), (0.65, 0.75)]
                ],
            )
        )
        return {"box": [x, y, size, size], "confidence": confidence, "landmarks": landmarks}

    return [face(5, 5, 30, 0.95), face(40, 10, 50, 0.99), face(0, 60, 30, 0.5)]


# --- the image reader -------------------------------------------------------------------------------------------


def test_read_image_applies_exif_orientation(tmp_path):
    upright = np.zeros((20, 40, 3), np.uint8)
    upright[:, :20] = 255  # white left half
    stored = Image.fromarray(np.rot90(upright, -1).copy())  # stored rotated 90 degrees clockwise: 40 high, 20 wide
    exif = Image.Exif()
    exif[0x0112] = 8  # "rotate 90 CW to view": a viewer turns it back
    for name in ("rotated.jpg", "rotated.png"):
        stored.save(tmp_path / name, exif=exif)
        pixels = read_image(tmp_path / name)
        assert pixels.shape == (20, 40, 3)
        assert pixels[:, :18].mean() > 240 and pixels[:, 22:].mean() < 15
    assert read_image(Image.open(tmp_path / "rotated.png")).shape == (20, 40, 3)


def test_read_image_scales_16_bit_and_float_images(tmp_path):
    ramp = np.linspace(0, 1, 64 * 64).reshape(64, 64)
    Image.fromarray((ramp * 65535).astype(np.uint16)).save(tmp_path / "gray16.png")
    Image.fromarray(ramp.astype(np.float32)).save(tmp_path / "float.tif")
    for name in ("gray16.png", "float.tif"):
        pixels = read_image(tmp_path / name)
        assert pixels.dtype == np.uint8 and pixels.shape == (64, 64, 3)
        np.testing.assert_allclose(pixels[..., 0], ramp * 255, atol=1)
    np.testing.assert_array_equal(read_image(np.full((4, 4), 65535, np.uint16)), np.full((4, 4, 3), 255))


def test_read_image_converts_palette_alpha_and_cmyk(tmp_path):
    rgb = np.zeros((8, 8, 3), np.uint8)
    rgb[..., 0] = 200
    palette = Image.fromarray(rgb).convert("P")
    palette.info["transparency"] = 0
    palette.save(tmp_path / "palette.png")
    Image.fromarray(rgb).convert("CMYK").save(tmp_path / "cmyk.jpg", quality=100)
    Image.fromarray(np.dstack([rgb, np.full((8, 8), 128, np.uint8)])).save(tmp_path / "alpha.png")
    for name in ("palette.png", "cmyk.jpg", "alpha.png"):
        pixels = read_image(tmp_path / name)
        assert pixels.shape == (8, 8, 3)
        np.testing.assert_allclose(pixels.mean((0, 1)), [200, 0, 0], atol=3)


def test_decompression_bombs_are_refused_naming_the_file(tmp_path, monkeypatch):
    Image.new("RGB", (64, 64)).save(tmp_path / "bomb.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(ValueError, match=r"bomb\.png.*decompression bomb"):
        read_image(tmp_path / "bomb.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # Pillow's own check (2x the limit) is caught as well
    with pytest.raises(ValueError, match=r"bomb\.png"):
        read_image(tmp_path / "bomb.png")


def test_predict_skips_a_bad_image_and_keeps_the_good_ones(tmp_path, caplog):
    good = []
    for i in range(3):
        good.append(tmp_path / f"good{i}.png")
        Image.fromarray(np.full((40, 40, 3), 50 * i, np.uint8)).save(good[-1])
    bad = tmp_path / "bad.jpg"
    bad.write_text("not an image")
    files = [good[0], bad, good[1], good[2]]
    with pytest.raises(ValueError, match="bad.jpg"):
        facezoo.predict(small_multitask(), files, batch_size=2)
    with caplog.at_level(logging.WARNING, logger="facezoo"):
        results = facezoo.predict(small_multitask(), files, batch_size=2, on_error="skip")
    assert [r["image"] for r in results] == [str(p) for p in good]
    assert ["bad.jpg" in r.message for r in caplog.records] == [True]  # one line for the one skipped file
    expected = facezoo.predict(small_multitask(), good, batch_size=2)
    assert [r["age"]["score"] for r in results] == pytest.approx([r["age"]["score"] for r in expected], abs=1e-4)
    with pytest.raises(ValueError, match="on_error"):
        facezoo.predict(small_multitask(), files, on_error="ignore")


# --- geometry and alignment -------------------------------------------------------------------------------------


def test_every_face_model_has_a_measured_geometry():
    for name in facezoo.list_models():
        info = facezoo.model_info(name)
        if info.dataset in ("selfie", "person_attributes"):  # whole selfies and person photos: not face crops
            assert info.face_geometry is None
            continue
        geometry = info.face_geometry
        assert geometry is not None, name
        assert geometry.count >= 200 and 0.5 < geometry.detection_rate <= 1
        assert "mtcnn" in geometry.measured_by and "tools/measure_face_geometry.py" in geometry.measured_by
        (lx, ly), (rx, ry), (nx, ny), (mlx, mly), (mrx, mry) = geometry.points
        assert lx < nx < rx and mlx < mrx and max(ly, ry) < ny < min(mly, mry)
        assert all(0 < s < 0.25 for spread in geometry.spread.values() for s in spread)
    union = face_geometry("faces")
    assert set(union.datasets) == set(FACE_DATASETS)
    assert union.count == sum(face_geometry(name).count for name in FACE_DATASETS)
    assert face_geometry("selfie") is None


def test_similarity_transform_recovers_a_known_transform():
    rng = np.random.default_rng(0)
    source = rng.uniform(0, 100, (5, 2))
    angle, scale, shift = 0.4, 1.7, np.array([12.0, -5.0])
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    matrix = similarity_transform(source, source @ (scale * rotation).T + shift)
    np.testing.assert_allclose(matrix, np.hstack([scale * rotation, shift[:, None]]), atol=1e-9)


@pytest.mark.parametrize(("scale", "degrees"), [(2.5, 20.0), (0.8, -35.0)])
def test_alignment_round_trip(scale, degrees):
    """A 128x128 face crop, pasted into a larger canvas at a known scale and rotation, comes back aligned to
    within a mean absolute error of 4 (of 255) per pixel on the central 80 % (bilinear resampling twice)."""
    geometry = face_geometry("utkface")
    crop = astronaut_face(128)
    angle = np.deg2rad(degrees)
    forward = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]) * scale
    shift = np.array([400.0, 300.0]) - forward @ [64, 64]
    canvas = warp_affine(crop, np.hstack([forward, shift[:, None]]), (600, 800))
    landmarks = {name: tuple(forward @ (point * 128) + shift) for name, point in zip(LANDMARKS, geometry.points)}
    aligned = warp_affine(canvas, alignment_matrix(landmarks, geometry, (128, 128)), (128, 128))
    error = np.abs(aligned.astype(float) - crop)[13:-13, 13:-13].mean()
    assert error < 4.0, error
    model_aligned = facezoo.align_face(canvas, {"landmarks": landmarks}, small_multitask())
    assert model_aligned.shape == (32, 32, 3)


def test_alignment_round_trip_through_the_detector():
    """A scene turned by 15 degrees and enlarged 1.5x: the detector finds the same face, its landmarks mapped back
    lie within 2 pixels of the upright ones (measured: 0.3-1.3), and its aligned 64x64 crop is within a mean
    absolute error of 10 (of 255; measured 7.7) of the crop aligned in the upright scene."""
    scene = scene_background(240, 320)
    scene[60:160, 80:180] = astronaut_face(100)
    angle = np.deg2rad(15)
    forward = 1.5 * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    shift = np.array([300.0, 225.0]) - forward @ [160, 120]
    turned = warp_affine(scene, np.hstack([forward, shift[:, None]]), (450, 600))
    (upright,), (found,) = detect_faces(scene), detect_faces(turned)
    for name in LANDMARKS:  # the turned scene's landmarks, mapped back, are where they were
        back = np.linalg.solve(forward, np.subtract(found["landmarks"][name], shift))
        assert np.hypot(*(back - upright["landmarks"][name])) < 2.0, name
    first = facezoo.align_face(scene, upright, "utkface_multitask").astype(float)
    second = facezoo.align_face(turned, found, "utkface_multitask").astype(float)
    assert np.abs(first - second)[6:-6, 6:-6].mean() < 10.0


def test_alignment_needs_a_face_dataset():
    with pytest.raises(ValueError, match="selfie_resnet was trained on selfie, whose images are not face crops"):
        facezoo.align_face(np.zeros((64, 64, 3), np.uint8), fixed_detector(None)[0], "selfie_resnet")


# --- analyze with a stand-in detector (no MTCNN) ------------------------------------------------------------------


def test_analyze_batches_faces_per_model_and_orders_them(monkeypatch):
    model = small_multitask()
    calls = []
    original = model.predict_on_batch
    monkeypatch.setattr(model, "predict_on_batch", lambda batch: calls.append(len(batch)) or original(batch))
    images = list(np.random.default_rng(0).integers(0, 255, (3, 100, 100, 3), dtype=np.uint8))
    faces = analyze(images, [model], detector=fixed_detector, batch_size=8)
    assert [(f["image"], f["face"]) for f in faces] == [(i, n) for i in range(3) for n in range(2)]
    assert [f["box"][2] for f in faces[:2]] == [50, 30]  # largest first; the 0.5-confidence face is dropped
    assert calls == [8]  # one forward pass, of one whole batch, for the six faces
    one_by_one = analyze(images, [model], detector=fixed_detector, batch_size=1)  # flushes 4 faces, then 2
    assert [f["predictions"]["utkface_multitask"]["age"]["score"] for f in one_by_one] == pytest.approx(
        [f["predictions"]["utkface_multitask"]["age"]["score"] for f in faces], abs=1e-4
    )
    prediction = faces[0]["predictions"]["utkface_multitask"]
    assert set(prediction) == {"age", "gender", "race"}
    direct = facezoo.predict(model, facezoo.align_face(images[0], faces[0], model))[0]
    assert prediction["age"]["score"] == pytest.approx(direct["age"]["score"], abs=1e-4)
    boxed = analyze(images[0], model, detector=fixed_detector, align=False)
    assert len(boxed) == 2 and boxed[0]["predictions"]["utkface_multitask"]["age"] != prediction["age"]


def test_analyze_refuses_non_face_models_and_skips_bad_files(tmp_path, caplog):
    with pytest.raises(ValueError, match="not face crops"):
        analyze(np.zeros((64, 64, 3), np.uint8), ["selfie_resnet"], detector=fixed_detector)
    Image.fromarray(np.zeros((100, 100, 3), np.uint8)).save(tmp_path / "a.png")
    (tmp_path / "b.png").write_bytes(b"\x89PNG broken")
    files = [tmp_path / "a.png", tmp_path / "b.png"]
    with pytest.raises(ValueError, match="b.png"):
        analyze(files, [small_multitask()], detector=fixed_detector)
    with caplog.at_level(logging.WARNING, logger="facezoo"):
        faces = analyze(files, [small_multitask()], detector=fixed_detector, on_error="skip")
    assert {f["image"] for f in faces} == {str(tmp_path / "a.png")}
    assert sum("b.png" in r.message for r in caplog.records) == 1


def test_default_models_are_the_embedded_face_models():
    from facezoo.faces import _default_models

    names = _default_models()
    assert "utkface_multitask" in names
    for name in names:
        info = facezoo.model_info(name)
        assert info.default_weights.embedded and info.face_geometry is not None


# --- the real detector (MTCNN) --------------------------------------------------------------------------------------


def test_astronaut_has_one_face_where_her_face_is():
    faces = detect_faces(ASTRONAUT)
    assert len(faces) == 1
    face = faces[0]
    assert iou(face["box"], FACE_REGION) > 0.6 and face["confidence"] > 0.95
    for (x, y), eye in zip(EYES, ("left_eye", "right_eye")):
        assert np.hypot(face["landmarks"][eye][0] - x, face["landmarks"][eye][1] - y) < 4


def test_two_pasted_faces_are_found_where_they_were_pasted():
    scene = scene_background(300, 400)
    places = [(30, 60, 120), (250, 150, 80)]  # x, y, side
    for x, y, side in places:
        scene[y : y + side, x : x + side] = astronaut_face(side)
    faces = detect_faces(scene)
    assert len(faces) == 2
    for face, (x, y, side) in zip(faces, places):  # largest first
        x0, y0, x1, y1 = FACE_REGION  # her face in the pasted crop (70, 10, 154, 106), scaled to side x side
        region = (
            x + (x0 - 70) * side / 84,
            y + (y0 - 10) * side / 96,
            x + (x1 - 70) * side / 84,
            y + (y1 - 10) * side / 96,
        )
        assert iou(face["box"], region) > 0.6


def test_a_scene_without_faces_gives_nothing(caplog):
    with caplog.at_level(logging.WARNING, logger="facezoo"):
        assert analyze([scene_background(240, 320, seed=3)], [small_multitask()]) == []
    assert any("No face found in 0" in r.message for r in caplog.records)


def test_exif_rotated_astronaut_gives_the_same_result(tmp_path):
    upright = np.asarray(Image.open(ASTRONAUT).convert("RGB"))
    Image.fromarray(upright).save(tmp_path / "upright.png")
    exif = Image.Exif()
    exif[0x0112] = 6  # stored turned 90 degrees counter-clockwise; "rotate 90 CW to view"
    Image.fromarray(np.rot90(upright, 1).copy()).save(tmp_path / "rotated.png", exif=exif)
    first, second = analyze([tmp_path / "upright.png", tmp_path / "rotated.png"], ["utkface_multitask"])
    assert first["box"] == second["box"] and first["landmarks"] == second["landmarks"]
    assert first["predictions"] == second["predictions"]


def test_faces_and_geometry_do_not_import_tensorflow():
    import subprocess
    import sys

    code = (
        "import sys, facezoo, facezoo.faces; g = facezoo.model_info('utkface_multitask').face_geometry; "
        "assert g.dataset == 'utkface'; "
        "assert not {'tensorflow', 'keras', 'mtcnn'} & set(sys.modules), 'imported too much'"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
