"""The registries agree with each other: models, weights, recipes, datasets, the ``fit_*`` helpers, the CLI and the
docs, each parametrised over its registry so that a new entry is checked without editing a list here."""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import inspect
import re
import warnings
from pathlib import Path

import pytest

import facezoo
from facezoo import datasets, training
from facezoo.datasets.downloader import read_checksums
from facezoo.training import HELPERS, RECIPES

TESTS = Path(__file__).resolve().parent
DOCS = TESTS.parent / "docs"
MODELS = facezoo.list_models()
WEIGHTS = [(name, tag) for name in MODELS for tag in facezoo.model_info(name).weights]
DATASETS = datasets.list_datasets()


def _fixture_makers() -> dict:
    spec = importlib.util.spec_from_file_location("registry_fixtures", TESTS / "training" / "fixtures.py")
    assert spec is not None and spec.loader is not None
    fixtures = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fixtures)
    return fixtures.MAKERS


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


@pytest.mark.parametrize("name", DATASETS)
def test_every_dataset_has_heads_and_a_docs_entry(name):
    assert dataset_heads(name) and all(dataset_heads(name))
    text = (DOCS / "datasets.md").read_text(encoding="utf-8")
    assert re.search(rf"^\| `{re.escape(name)}` \|", text, re.M), f"docs/datasets.md has no table row for {name!r}"


@pytest.mark.parametrize("name", DATASETS)
def test_every_dataset_is_declared_once_in_its_module(name):
    info = datasets.dataset_info(name)
    assert info.name == name and isinstance(info, facezoo.DatasetInfo)
    module = importlib.import_module(f"facezoo.datasets.{name}")
    assert module.INFO is info and info.loader.__module__ == module.__name__
    assert facezoo.dataset_info(name) is info and name in facezoo.list_datasets()
    assert isinstance(info.num_images, int) and info.num_images > 0 and info.download
    assert set(info.options) == {
        p.name for p in inspect.signature(info.loader).parameters.values() if p.kind is p.KEYWORD_ONLY
    }


@pytest.mark.parametrize("name", DATASETS)
def test_every_dataset_has_a_citation(name):
    citation = datasets.dataset_info(name).citation
    assert citation.title and citation.reference and citation.bibtex.lstrip().startswith("@")
    assert citation.bibtex.count("{") == citation.bibtex.count("}")


@pytest.mark.parametrize("name", DATASETS)
def test_every_dataset_has_checksums_or_is_a_union(name):
    info = datasets.dataset_info(name)
    if info.members:  # the stated reason: a union has no files of its own, its members have theirs
        assert info.checksums_file is None and read_checksums(info) == []
        assert set(info.members) <= set(DATASETS) - {name}
        assert info.num_images == sum(datasets.dataset_info(m).num_images for m in info.members)
        return
    assert info.checksums_file is not None and info.checksums_file.is_file(), f"{name}: no {name}_checksums.tsv"
    rows = read_checksums(info)
    assert rows and all(row.filename for row in rows)
    assert info.folder and info.markers and info.contents


@pytest.mark.parametrize("name", DATASETS)
def test_every_dataset_head_has_labels_or_units(name):
    for head in datasets.dataset_info(name).heads:
        if head.kind == "regression":
            assert not head.labels and head.units, f"{name}/{head.name}: a regression head has units, no labels"
        else:
            assert len(head.labels) == len(set(head.labels)) >= 2, f"{name}/{head.name}: labels {head.labels}"
            assert head.kind != "binary" or len(head.labels) == 2


@pytest.mark.parametrize("name", DATASETS)
def test_every_dataset_has_a_fixture_maker_whose_data_loads_with_the_declared_heads(name, tmp_path):
    makers, info = _fixture_makers(), datasets.dataset_info(name)
    for member in info.members or (name,):
        assert member in makers, f"tests/training/fixtures.py: MAKERS has no maker for {member!r}"
        makers[member](tmp_path)
    with warnings.catch_warnings():  # makers may write a malformed name on purpose (its parser warns)
        warnings.simplefilter("ignore", UserWarning)
        data = datasets.load(name, tmp_path, split="all")
    assert data.name == name and len(data) > 0
    assert data.heads == info.heads and list(data.targets) == list(info.head_names)


@pytest.mark.parametrize("name", MODELS)
def test_every_model_output_is_a_head_of_its_dataset(name):
    """Models take their outputs from their dataset's heads: same kind, labels and units (a recipe's ``targets``
    may map an output to a head of another name, e.g. ``male`` -> CelebA's ``Male``)."""
    info = facezoo.model_info(name)
    data = datasets.dataset_info(info.dataset)
    renamed = {out: head for r in RECIPES.values() if r.dataset == info.dataset for out, head in r.targets.items()}
    for spec in info.outputs:
        head = data.head(renamed.get(spec.name, spec.name))
        assert spec == dataclasses.replace(head, name=spec.name), f"{name}/{spec.name} differs from {head}"


def test_unknown_dataset_names_close_matches():
    with pytest.raises(ValueError, match="Unknown dataset 'utkfaces'. Did you mean utkface"):
        datasets.dataset_info("utkfaces")


def test_unknown_recipe_names_close_matches():
    with pytest.raises(ValueError, match="Did you mean age_vgg16"):
        training.fit("age_vgg61")


def test_dataset_heads_by_name():
    celeba = datasets.dataset_info("celeba")
    assert celeba.head("Male").labels == ("female", "male")
    (male,) = celeba.heads_as(male="Male")
    assert (male.name, male.kind, male.labels) == ("male", "binary", ("female", "male"))
    with pytest.raises(ValueError, match="celeba' has no head 'male'; its heads: Male"):
        celeba.head("male")
