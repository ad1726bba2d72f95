"""The registries agree with each other: models, weights, recipes, datasets, the ``fit_*`` helpers, the CLI and the
docs, each parametrised over its registry so that a new entry is checked without editing a list here."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

import facezoo
from facezoo import datasets, training
from facezoo.training import HELPERS, RECIPES

DOCS = Path(__file__).resolve().parents[1] / "docs"
MODELS = facezoo.list_models()
WEIGHTS = [(name, tag) for name in MODELS for tag in facezoo.model_info(name).weights]


def dataset_heads(name: str) -> list[str]:
    return [head.strip() for head in datasets.describe(name)[1].split(",")]


@pytest.mark.parametrize("name", MODELS)
def test_every_model_has_a_dataset_and_a_docs_page(name):
    info = facezoo.model_info(name)
    assert info.dataset in datasets.list_datasets(), f"{name}: unknown dataset {info.dataset!r}"
    builder = getattr(facezoo.models, name)
    line = f"::: {builder.__module__}.{name}"
    pages = [page for page in (DOCS / "models").glob("*.md") if line in page.read_text(encoding="utf-8").splitlines()]
    assert pages, f"{name}: no docs/models/*.md page has the line {line!r}"


@pytest.mark.parametrize("name, tag", WEIGHTS)
def test_every_weight_names_a_known_dataset(name, tag):
    weights = facezoo.model_info(name).weights[tag]
    assert weights.dataset in datasets.list_datasets()
    assert facezoo.registry.parse_source(f"{name}.{tag}") == facezoo.registry.ModelSource("registered", name, tag)


@pytest.mark.parametrize("name", list(RECIPES))
def test_every_recipe_trains_a_registered_model_on_heads_of_its_dataset(name):
    recipe = RECIPES[name]
    assert recipe.name == name
    info = facezoo.model_info(recipe.model)
    assert recipe.dataset in datasets.list_datasets()
    heads = dataset_heads(recipe.dataset)
    assert set(recipe.targets.values()) <= set(heads), f"{name}: targets {dict(recipe.targets)}, heads {heads}"
    assert set(recipe.targets) == {spec.name for spec in info.outputs}
    for stage in recipe.stages:
        assert set(stage.losses) == set(recipe.targets), f"{name}/{stage.name}: a loss per output"
    assert set(recipe.model_config) <= set(info.default_config)


def test_the_cli_trains_every_recipe():
    from facezoo.cli import build_parser

    train = build_parser()._subparsers._group_actions[0].choices["train"]  # type: ignore[union-attr]
    (recipe,) = [action for action in train._actions if action.dest == "recipe"]
    assert sorted(recipe.choices) == sorted(RECIPES)


@pytest.mark.parametrize("helper", list(HELPERS))
def test_every_helper_is_fit_of_its_recipe_documented_from_the_table(helper):
    function, spec = getattr(training, helper), HELPERS[helper]
    assert spec.recipe in RECIPES and set(spec.model_recipes.values()) <= set(RECIPES)
    assert function.__name__ == helper and helper in training.__all__
    fit_parameters = [p for p in inspect.signature(training.fit).parameters.values() if p.name != "recipe"]
    assert set(inspect.signature(function).parameters) <= {p.name for p in fit_parameters}
    recipe = RECIPES[spec.recipe]
    for stage in recipe.stages:  # the defaults come from the table: a changed recipe changes the docstring
        assert f"stage ``{stage.name}``: {stage.epochs} epochs" in function.__doc__


def test_every_fit_helper_in_the_package_is_in_the_table():
    assert sorted(name for name in training.__all__ if name.startswith("fit_")) == sorted(HELPERS)


@pytest.mark.parametrize("name", datasets.list_datasets())
def test_every_dataset_has_heads_and_a_docs_entry(name):
    assert dataset_heads(name) and all(dataset_heads(name))
    text = (DOCS / "datasets.md").read_text(encoding="utf-8")
    assert re.search(rf"\b{re.escape(name)}\b", text), f"docs/datasets.md does not mention {name!r}"


def test_unknown_recipe_names_close_matches():
    with pytest.raises(ValueError, match="Did you mean age_vgg16"):
        training.fit("age_vgg61")
