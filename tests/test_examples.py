"""Every script in examples/ smoke-runs as a subprocess on tiny synthetic data and writes what it promises.

Run only these with ``python -m pytest -m examples`` (all of them) or ``-m "examples and not slow"`` (those of the
default run). The training examples run two at a time (each is mostly single-threaded graph tracing). DenseNet121,
MobileNetV2 and the selfie CNNs are replaced by tiny registered stand-ins (``tests/example_stand_ins.py``); ``-m slow``
runs the training examples other than DEFAULT_EXAMPLE and three examples with the real models.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

pytest.importorskip("matplotlib", reason="the examples write plots with matplotlib (pip install facezoo[plots])")

pytestmark = pytest.mark.examples

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent
SMOKE = ["--epochs", "1", "--limit", "8", "--batch-size", "4"]
# Runs the script as __main__ after registering the stand-in backbones (with examples/ on the path, as `python
# examples/x.py` has it, for the shared examples/_plots.py).
STAND_IN_BOOT = (
    f"import runpy, sys; sys.path[:0] = [{str(ROOT / 'examples')!r}, {str(TESTS)!r}]; import example_stand_ins; "
    "sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"
)

#: Training example -> (tiny arguments, whether it needs the stand-ins, files it promises).
TRAINING = {
    "selfie_ablation": (
        ["--model", "stand_in_selfie", "--image-size", "32"],
        True,
        [
            "table1_residual_batch_norm.csv",
            "table1_residual_batch_norm.md",
            "table2_layers_filters.csv",
            "table2_layers_filters.md",
            "errors_by_gender.csv",
            "errors_by_gender.md",
            "errors_by_age_category.csv",
            "errors_by_age_category.md",
            "error_histogram.png",
            "figure2_val_mae.png",
            "figure3_val_mae.png",
            "samples.png",
            "test_errors.png",
        ],
    ),
    "age_from_scratch_vs_vgg16": (
        ["--image-size", "94", "--sample-sizes", "4", "2"],
        False,
        ["comparison.csv", "comparison.md", "val_accuracy.png"],
    ),
    "person_attributes_multitask": (
        ["--model", "stand_in_person_attributes", "--image-size", "32", "--stages", "100px", "100px_frozen"],
        True,
        [
            "heads.csv",
            "heads.md",
            "per_class.csv",
            "per_class.md",
            "stages.csv",
            "stages.md",
            "head_accuracy.png",
            "validation_heads.csv",
            "validation_heads.md",
        ],
    ),
    "celeba_gender": (
        ["--image-size", "36", "30"],
        False,
        [
            "metrics.csv",
            "metrics.md",
            "per_class.csv",
            "per_class.md",
            "confusion.png",
            "curves.png",
            "correct.png",
            "incorrect.png",
        ],
    ),
    "attractive_net_two_stage": (
        ["--model", "stand_in_attractive_net", "--image-size", "32"],
        True,
        ["metrics.csv", "metrics.md", "stages.csv", "stages.md", "curves.png", "error_histogram.png"],
    ),
    "utkface_age_gender": (
        ["--image-size", "32", "--width", "4"],
        False,
        [
            "metrics.csv",
            "metrics.md",
            "age_error_by_gender.csv",
            "age_error_by_gender.md",
            "age_error_by_race.csv",
            "age_error_by_race.md",
            "gender_per_class.csv",
            "gender_per_class.md",
            "race_per_class.csv",
            "race_per_class.md",
            "age_error_histogram.png",
        ],
    ),
}


#: The training example of the default run (two stages on the MobileNetV2 stand-in, about 10 s of CPU). The others
#: take 11-22 s of CPU each (eight selfie variants, four age experiments with VGG16, eight person-attribute heads over
#: two stages, the CelebA and UTKFace CNNs) and run with ``-m slow``; tests/training/test_training_fit.py fits each
#: recipe.
DEFAULT_EXAMPLE = "attractive_net_two_stage"


def example_param(name: str, *values: str):
    """``pytest.param(name, *values)``, marked slow unless ``name`` is DEFAULT_EXAMPLE."""
    return pytest.param(name, *values, marks=[] if name == DEFAULT_EXAMPLE else [pytest.mark.slow])


def run_example(name: str, *args: str, stand_ins: bool = False, timeout: float = 600) -> subprocess.CompletedProcess:
    script = str(ROOT / "examples" / f"{name}.py")
    command = [sys.executable, "-c", STAND_IN_BOOT, script] if stand_ins else [sys.executable, script]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run(
        [*command, *map(str, args)], capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT
    )


def assert_written(folder: Path, files: list[str]) -> None:
    for file in files:
        assert (folder / file).is_file() and (folder / file).stat().st_size > 0, f"{file} missing or empty"
    for file in files:
        if file.endswith(".png"):
            assert (folder / file).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", file


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    """All six datasets in their upstream layouts, tiny (``tests/training/fixtures.py``)."""
    spec = importlib.util.spec_from_file_location("example_fixtures", TESTS / "training" / "fixtures.py")
    fixtures = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fixtures)
    root = tmp_path_factory.mktemp("data")
    for make in fixtures.MAKERS.values():
        make(root)
    return root


@pytest.fixture(scope="module")
def training_runs(request, data_root, tmp_path_factory):
    """Start every selected training example at once, two at a time; name -> (future of the run, output folder)."""
    selected = dict.fromkeys(
        item.callspec.params["name"]
        for item in request.session.items
        if item.module is request.module and getattr(item, "callspec", None) and "name" in item.callspec.params
    )
    runs = {}
    with ThreadPoolExecutor(2) as pool:
        for name in selected:
            args, stand_ins, _ = TRAINING[name]
            out = tmp_path_factory.mktemp(name)
            future = pool.submit(
                run_example, name, "--data-dir", data_root, "--output-dir", out, *SMOKE, *args, stand_ins=stand_ins
            )
            runs[name] = (future, out)
        yield runs


@pytest.mark.parametrize("name", [example_param(name) for name in TRAINING])
def test_training_example(name, training_runs):
    future, out = training_runs[name]
    done: subprocess.CompletedProcess = future.result()
    assert done.returncode == 0, done.stderr[-3000:]
    assert_written(out, TRAINING[name][2])
    assert "written to" in done.stdout
    for csv in out.glob("*.csv"):
        assert len(csv.read_text().splitlines()) >= 2, f"{csv.name} has no rows"


@pytest.mark.slow  # reads the output of the selfie_ablation example, a slow one
def test_selfie_ablation_tables_hold_every_variant(training_runs):
    future, out = training_runs["selfie_ablation"]
    assert future.result().returncode == 0
    table1 = (out / "table1_residual_batch_norm.csv").read_text().splitlines()
    assert table1[0] == "residual,batch_norm,test_mae,write_up_test_mae" and len(table1) == 5
    table2 = (out / "table2_layers_filters.md").read_text()
    assert "| 18 | 16 |" in table2 and "0.389" in table2
    assert (out / "errors_by_gender.csv").read_text().startswith("gender,count,mae,mean_error")


@pytest.mark.parametrize(
    "name, file, header",
    [
        example_param(
            "age_from_scratch_vs_vgg16",
            "comparison.csv",
            "experiment,val_accuracy,write_up_val_accuracy,val_macro_f1",
        ),
        example_param(
            "person_attributes_multitask",
            "validation_heads.csv",
            "head,val_loss,write_up_val_loss,val_accuracy,write_up_val_accuracy",
        ),
        example_param(
            "celeba_gender",
            "metrics.csv",
            "model,test_accuracy,test_f1_male,images,write_up_test_accuracy,write_up_test_f1_male",
        ),
        example_param("attractive_net_two_stage", "metrics.csv", "metric,test,write_up"),
    ],
)
def test_examples_put_the_write_up_beside_facezoo(name, file, header, training_runs):
    """Every table of a write-up's numbers has its write-up column, and the run prints it."""
    future, out = training_runs[name]
    done = future.result()
    assert done.returncode == 0, done.stderr[-3000:]
    lines = (out / file).read_text().splitlines()
    assert lines[0] == header
    assert "write_up" in done.stdout


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    """A save_pretrained folder of a tiny UTKFace model."""
    import facezoo
    from facezoo.hub import save_pretrained

    folder = tmp_path_factory.mktemp("model") / "utkface-tiny"
    save_pretrained(facezoo.models.utkface_multitask(width=4, input_shape=(32, 32, 3)), folder)
    return folder


def test_predict_folder(model_dir, tmp_path):
    done = run_example(
        "predict_folder", "--data-dir", ROOT / "examples" / "images", "--model", model_dir, "--output-dir", tmp_path
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert_written(tmp_path, ["predictions.csv", "predictions.md", "predictions.json", "predictions.png"])
    assert "astronaut.jpg" in (tmp_path / "predictions.md").read_text()
    assert (tmp_path / "predictions.csv").read_text().splitlines()[0].startswith("image,age,gender,gender_probability")


def test_predict_folder_bad_usage_and_empty_folder(tmp_path):
    done = run_example("predict_folder")
    assert done.returncode == 2 and "give the image folder" in done.stderr
    done = run_example("predict_folder", tmp_path, "--output-dir", tmp_path / "out")
    assert done.returncode == 1 and done.stderr.strip() == f"predict_folder.py: error: no images in {tmp_path}"


def test_publish_to_hub(model_dir, fake_hub):
    from facezoo.hub import from_pretrained

    endpoint = os.environ["HF_ENDPOINT"]
    done = run_example(
        "publish_to_hub",
        model_dir,
        "someone/utkface-tiny",
        "--endpoint",
        endpoint,
        "--tag",
        "v1",
        "--revision",
        "dev",
        "--token",
        "hf_test",
    )
    assert done.returncode == 0, done.stderr[-3000:]
    url = done.stdout.strip()
    assert url.startswith(f"{endpoint}/someone/utkface-tiny/commit/"), url
    repo = fake_hub.repos["someone/utkface-tiny"]
    assert repo.tags["v1"] == repo.branches["dev"] == url.rsplit("/", 1)[1]
    model = from_pretrained("hf://someone/utkface-tiny@v1", endpoint=endpoint)
    assert sorted(model.output_names) == ["age", "gender", "race"]


def test_publish_to_hub_refuses_a_folder_that_is_not_a_model(tmp_path, fake_hub):
    done = run_example("publish_to_hub", tmp_path, "someone/nothing", "--endpoint", os.environ["HF_ENDPOINT"])
    assert done.returncode == 1 and done.stderr.count("\n") == 1 and "publish_to_hub.py: error:" in done.stderr
    assert "someone/nothing" not in fake_hub.repos


@pytest.mark.slow
@pytest.mark.parametrize(
    "name, args",
    [
        ("person_attributes_multitask", ["--image-size", "32", "--stages", "100px"]),
        ("attractive_net_two_stage", ["--image-size", "32"]),
        ("selfie_ablation", ["--image-size", "65"]),  # 18 layers need 65 px
    ],
)
def test_example_with_the_real_backbone(name, args, data_root, tmp_path):
    done = run_example(name, "--data-dir", data_root, "--output-dir", tmp_path, *SMOKE, *args)
    assert done.returncode == 0, done.stderr[-3000:]
    assert_written(tmp_path, TRAINING[name][2])
