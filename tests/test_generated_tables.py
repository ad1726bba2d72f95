"""The README's and docs' weights and recipe tables are what ``tools/generate_tables.py`` writes from the registry."""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

import pytest

from facezoo import registry
from facezoo.registry import OutputSpec, WeightsInfo

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("generate_tables", ROOT / "tools" / "generate_tables.py")
generate_tables = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(generate_tables)


def test_generated_blocks_are_up_to_date():
    stale = generate_tables.stale_files()
    assert not stale, f"stale generated tables in {', '.join(stale)}; run: {generate_tables.COMMAND}"


def test_every_weight_and_recipe_appears():
    from facezoo.training.recipes import EXPERIMENTS, RECIPES

    weights = generate_tables.weights_table()
    for name in registry.list_models():
        for tag in registry.model_info(name).weights:
            assert f"`{name}.{tag}`" in weights
    recipes = generate_tables.recipe_table()
    assert all(f"| `{name}` |" in recipes for name in RECIPES)
    age = generate_tables.recipe_table(family="age")
    assert "| `age_cnn` |" in age and "| `age_vgg16` |" in age and "`utkface`" not in age
    experiments = generate_tables.experiment_table()
    assert all(f'(experiment="{name}")`' in experiments for names in EXPERIMENTS.values() for name in names)
    age = generate_tables.experiment_table(family="age")
    assert '| `fit_age_cnn(experiment="vgg16")` | 001: VGG16 transfer' in age and "validation accuracy 0.67 |" in age


@pytest.fixture
def two_tag_model():
    """A registered model with one embedded and one uploaded weight, removed afterwards."""

    def tiny_zoo_model(input_shape=(8, 8, 3)):
        raise AssertionError("never built")

    def weights(tag: str, **kw) -> WeightsInfo:
        return WeightsInfo(
            tag=tag,
            repo_id=f"facezoo/tiny-{tag}",
            revision="main",
            filename="w.h5",
            sha256="0" * 64,
            file_size=1_500_000,
            metrics={"head/mae": 1.23456},
            split="test",
            dataset="utkface",
            num_params=10,
            **kw,
        )

    registry.register_model(
        family="tiny_family",
        task="regression",
        outputs=(OutputSpec("head", "regression"),),
        dataset="utkface",
        reference="test",
        num_params=10,
        weights=(weights("one", embedded="facezoo/weights/x.h5"), weights("two", commit="abc")),
    )(tiny_zoo_model)
    yield "tiny_zoo_model"
    home = importlib.import_module(registry.register_model.__module__)  # where the registry's tables live
    home._BUILDERS.pop("tiny_zoo_model")
    home._INFOS.pop("tiny_zoo_model")


def test_a_new_model_with_several_tags_gets_a_row_per_tag(two_tag_model):
    page = "intro\n<!-- generated: weights-table family=tiny_family -->\nold\n<!-- end generated -->\noutro\n"
    rendered = generate_tables.render(page)
    assert rendered.startswith("intro\n<!-- generated: weights-table family=tiny_family -->\n| weights |")
    assert rendered.endswith("<!-- end generated -->\noutro\n") and "old" not in rendered
    assert "| `tiny_zoo_model.one` | defaults |" in rendered  # the weights' config, empty here
    assert "`tiny_zoo_model.one`" in rendered and "| embedded |" in rendered
    assert "`tiny_zoo_model.two`" in rendered and "| Hub `facezoo/tiny-two` |" in rendered
    assert "head MAE 1.235" in rendered and "1.5 MB" in rendered
    assert generate_tables.render(rendered) == rendered


def test_bad_markers_say_what_to_use():
    with pytest.raises(ValueError, match="unknown generated block 'nope'"):
        generate_tables.render("<!-- generated: nope -->\n<!-- end generated -->")
    with pytest.raises(ValueError, match="unknown recipe 'nope'.*choose from"):
        generate_tables.render("<!-- generated: recipe-table recipe=nope -->\n<!-- end generated -->")
