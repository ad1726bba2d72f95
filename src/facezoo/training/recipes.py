"""Training recipes: small frozen configs, one per write-up, that :func:`facezoo.training.run_recipe` executes.

A :class:`Recipe` names a registered model, a ``facezoo.datasets`` dataset and a sequence of :class:`Stage`; each
stage fixes its epochs, optimizer, losses, augmentation, image size, frozen backbone and callbacks. An
:class:`Experiment` of :data:`EXPERIMENTS` is a recipe as a write-up ran one of its experiments. Nothing here
imports TensorFlow.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Mapping

from facezoo._registry import model_info
from facezoo.datasets import augment
from facezoo.datasets.augment import Augmentation

__all__ = [
    "Augmentation",
    "Optimizer",
    "Loss",
    "EarlyStopping",
    "ReduceLROnPlateau",
    "Stage",
    "Recipe",
    "SELFIE",
    "AGE",
    "AGE_VGG16",
    "PERSON_ATTRIBUTES",
    "CELEBA",
    "ATTRACTIVE_NET",
    "UTKFACE",
    "AGE_MOBILENET_V2",
    "CELEBA_MOBILENET_V2",
    "FACE_BACKBONE",
    "RECIPES",
    "SELFIE_ABLATION",
    "SELFIE_GRID",
    "UTKFACE_MOBILENET_V2",
    "Experiment",
    "EXPERIMENTS",
    "resolve_recipe",
    "find_experiment",
    "random_backbone",
]


def _frozen(mapping: Mapping | None) -> Mapping:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class Optimizer:
    """Optimizer of a stage: ``name`` is ``"adam"``, ``"rmsprop"`` or ``"sgd"`` (Keras defaults otherwise).

    Attributes:
        name: Keras optimizer name.
        learning_rate: Initial (peak, with a schedule) learning rate.
        clipnorm: Clip the gradient of each variable to this norm (tf.keras' ``clipnorm``: per variable, not the
            global norm), after the gradients of the replicas are summed, so any replica count makes the update
            of one device; ``None`` for no clipping.
        lr_decay: Multiply the learning rate by this factor after every epoch (``lr = lr0 * lr_decay**epoch``).
        schedule: ``"cosine"``: after ``warmup_epochs`` of linear warm-up, decay per epoch along a half cosine
            towards 0 over the rest of the stage's epochs; ``None`` for none.
        warmup_epochs: Epochs of linear warm-up (epoch ``e`` uses ``lr0 * (e + 1) / (warmup_epochs + 1)``).
    """

    name: str = "adam"
    learning_rate: float = 1e-3
    clipnorm: float | None = None
    lr_decay: float | None = None
    schedule: str | None = None
    warmup_epochs: int = 0

    def __post_init__(self) -> None:
        if self.schedule not in (None, "cosine"):
            raise ValueError(f"Optimizer schedule must be None or 'cosine', got {self.schedule!r}.")
        if self.schedule and self.lr_decay is not None:
            raise ValueError("Optimizer takes lr_decay or schedule, not both.")

    def learning_rate_at(self, epoch: int, epochs: int) -> float:
        """The learning rate of 0-based ``epoch`` of a stage of ``epochs`` epochs."""
        lr0 = self.learning_rate
        if epoch < self.warmup_epochs:
            return lr0 * (epoch + 1) / (self.warmup_epochs + 1)
        if self.lr_decay is not None:
            return lr0 * self.lr_decay**epoch
        if self.schedule == "cosine":
            progress = (epoch - self.warmup_epochs) / max(epochs - self.warmup_epochs, 1)
            return lr0 * 0.5 * (1 + math.cos(math.pi * progress))
        return lr0


@dataclass(frozen=True)
class Loss:
    """Loss of one head.

    Attributes:
        name: ``"huber"``, ``"mse"``, ``"mae"``, ``"binary_crossentropy"`` or ``"sparse_categorical_crossentropy"``
            (equivalent to categorical cross-entropy on one-hot targets; targets are class indices).
        delta: Huber's delta.
    """

    name: str
    delta: float | None = None


@dataclass(frozen=True)
class EarlyStopping:
    """``keras.callbacks.EarlyStopping`` settings; ``monitor`` defaults to the stage's monitor."""

    patience: int
    min_delta: float = 0.0
    restore_best_weights: bool = False


@dataclass(frozen=True)
class ReduceLROnPlateau:
    """``keras.callbacks.ReduceLROnPlateau`` settings; ``monitor`` defaults to the stage's monitor."""

    factor: float
    patience: int
    min_lr: float = 0.0
    min_delta: float = 1e-4


@dataclass(frozen=True)
class Stage:
    """One ``fit`` of a recipe; multi-stage recipes run their stages in order on the same weights.

    Attributes:
        name: Stage name (checkpoints are kept per stage).
        epochs: Maximum number of epochs.
        optimizer: Optimizer and learning-rate schedule.
        losses: Model output name -> loss.
        loss_weights: Model output name -> weight of its loss (1 when absent).
        augmentation: Training augmentation (``facezoo.datasets.Augmentation``, ``ImageDataGenerator`` terms plus
            random erasing); ``None`` for none.
        image_size: ``(height, width)`` of this stage; ``None`` takes the recipe's.
        freeze_backbone: Freeze (``True``) or unfreeze (``False``) the pretrained-style backbone sub-model;
            ``None`` keeps what the builder set.
        monitor: Validation quantity watched by the callbacks and the best checkpoint.
        early_stopping: Early stopping, or ``None``.
        reduce_lr_on_plateau: Learning-rate reduction on plateaus, or ``None``.
    """

    name: str
    epochs: int
    optimizer: Optimizer
    losses: Mapping[str, Loss]
    loss_weights: Mapping[str, float] = field(default_factory=dict)
    augmentation: Augmentation | None = None
    image_size: tuple[int, int] | None = None
    freeze_backbone: bool | None = None
    monitor: str = "val_loss"
    early_stopping: EarlyStopping | None = None
    reduce_lr_on_plateau: ReduceLROnPlateau | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "losses", _frozen(self.losses))
        object.__setattr__(self, "loss_weights", _frozen(self.loss_weights))
        if self.image_size is not None:
            object.__setattr__(self, "image_size", tuple(self.image_size))


@dataclass(frozen=True)
class Recipe:
    """A documented training recipe.

    Attributes:
        name: Recipe name (also the ``fit_*`` helper's suffix).
        model: Registered model name.
        dataset: ``facezoo.datasets`` name.
        image_size: ``(height, width)`` of stages without their own.
        batch_size: Global batch size (split over replicas).
        stages: The stages, run in order.
        targets: Model output name -> dataset target head.
        model_config: Builder keyword arguments.
        splits: ``(train, validation, test)`` split names.
        dataset_options: Keyword arguments for ``facezoo.datasets.load``.
        seed: Default seed of shuffling, augmentation and initialisation.
        reference: The write-up this recipe reproduces.
        license: License of the data (goes into the model card).
    """

    name: str
    model: str
    dataset: str
    image_size: tuple[int, int]
    batch_size: int
    stages: tuple[Stage, ...]
    targets: Mapping[str, str]
    model_config: Mapping[str, Any] = field(default_factory=dict)
    splits: tuple[str, str, str] = ("train", "validation", "test")
    dataset_options: Mapping[str, Any] = field(default_factory=dict)
    seed: int = 1234
    reference: str = ""
    license: str = "non-commercial research use only (dataset license)"

    def __post_init__(self) -> None:
        object.__setattr__(self, "image_size", tuple(self.image_size))
        object.__setattr__(self, "stages", tuple(self.stages))
        object.__setattr__(self, "targets", _frozen(self.targets))
        object.__setattr__(self, "model_config", _frozen(self.model_config))
        object.__setattr__(self, "dataset_options", _frozen(self.dataset_options))
        if not self.stages:
            raise ValueError(f"recipe {self.name!r} has no stages")
        names = [stage.name for stage in self.stages]
        if len(set(names)) != len(names):
            raise ValueError(f"recipe {self.name!r} has duplicate stage names {names}")

    def stage_image_size(self, stage: Stage) -> tuple[int, int]:
        """The ``(height, width)`` a stage trains at."""
        return stage.image_size or self.image_size


# The write-ups' augmentations (ImageDataGenerator arguments).
_GENERATOR_40 = Augmentation(
    horizontal_flip=True,
    rotation_range=40,
    width_shift_range=0.2,
    height_shift_range=0.2,
    shear_range=0.2,
    zoom_range=0.2,
    fill_mode="nearest",
)
_PERSON_AUGMENTATION = augment.PERSON_ATTRIBUTES
#: Stage 3's "aggressive" augmentation: the write-up gives no numbers; facezoo adds rotation and shear and erases more.
_PERSON_HEAVY_AUGMENTATION = Augmentation(
    horizontal_flip=True,
    rotation_range=20,
    width_shift_range=0.3,
    height_shift_range=0.2,
    shear_range=10,
    zoom_range=0.3,
    random_erasing=0.8,
    erasing_area=(0.02, 0.3),
)

_CE = Loss("sparse_categorical_crossentropy")

SELFIE = Recipe(
    name="selfie_resnet",
    model="selfie_resnet",
    dataset="selfie",
    image_size=(150, 150),
    batch_size=32,
    targets={"popularity": "popularity"},
    stages=(
        Stage(
            name="train",
            epochs=20,
            optimizer=Optimizer("adam", 1e-3, clipnorm=2.0, lr_decay=0.90),
            losses={"popularity": Loss("huber", delta=0.05)},
            loss_weights={"popularity": 100.0},
            monitor="val_mae",
        ),
    ),
    reference="000: Selfie popularity (Adam 1e-3 x 0.90^epoch, clipnorm 2, 100 x Huber(0.05), 20 epochs, batch 32)",
    license="research use (CRCV UCF Selfie dataset)",
)

#: The write-up's Table 1: (residual, batch_norm) variants and their test MAE.
SELFIE_ABLATION: tuple[tuple[bool, bool, float], ...] = (
    (True, True, 0.386),
    (False, True, 0.363),
    (True, False, 0.378),
    (False, False, 0.361),
)
#: The write-up's Table 2 (vanilla CNN without batch norm): (n_layers, n_filters, test MAE).
SELFIE_GRID: tuple[tuple[int, int, float], ...] = ((12, 8, 0.396), (18, 8, 0.389), (12, 16, 0.361), (18, 16, 0.389))

_AGE_STAGE = Stage(
    name="train",
    epochs=30,
    optimizer=Optimizer("rmsprop", 1e-4),
    losses={"age": _CE},
    augmentation=_GENERATOR_40,
    monitor="val_accuracy",
)
AGE = Recipe(
    name="age_cnn",
    model="age_cnn",
    dataset="imfdb_age",
    image_size=(128, 128),
    batch_size=32,
    targets={"age": "age"},
    stages=(_AGE_STAGE,),
    reference="001: IMFDB age (RMSprop 1e-4, categorical CE, 30 epochs, batch 32, ImageDataGenerator augmentation)",
)
AGE_VGG16 = Recipe(
    name="age_vgg16",
    model="age_vgg16",
    dataset="imfdb_age",
    image_size=(128, 128),
    batch_size=32,
    targets={"age": "age"},
    model_config={"freeze_backbone": True},
    stages=(replace(_AGE_STAGE, epochs=50, freeze_backbone=True),),
    reference="001: IMFDB age, VGG16 transfer with a frozen base (RMSprop 1e-4, 50 epochs)",
)

_PERSON_HEADS = ("gender", "image_quality", "age", "weight", "bag", "footwear", "pose", "emotion")
_PERSON_CALLBACKS: dict[str, Any] = {
    "early_stopping": EarlyStopping(patience=8, min_delta=1e-3, restore_best_weights=True),
    "reduce_lr_on_plateau": ReduceLROnPlateau(factor=0.7, patience=3, min_lr=1e-6, min_delta=1e-3),
}


def _person_stage(name: str, size: int, *, frozen: bool, lr: float = 1e-3, heavy: bool = False) -> Stage:
    return Stage(
        name=name,
        epochs=50,
        optimizer=Optimizer("adam", lr),
        losses={head: _CE for head in _PERSON_HEADS},
        augmentation=_PERSON_HEAVY_AUGMENTATION if heavy else _PERSON_AUGMENTATION,
        image_size=(size, size),
        freeze_backbone=frozen,
        **_PERSON_CALLBACKS,
    )


PERSON_ATTRIBUTES = Recipe(
    name="person_attributes",
    model="person_attributes_densenet121",
    dataset="person_attributes",
    image_size=(200, 200),
    batch_size=32,
    targets={head: head for head in _PERSON_HEADS},
    stages=(
        _person_stage("100px", 100, frozen=False),
        _person_stage("100px_frozen", 100, frozen=True),
        _person_stage("100px_heavy_aug", 100, frozen=False, lr=1e-4, heavy=True),
        _person_stage("200px", 200, frozen=False),
        _person_stage("200px_frozen", 200, frozen=True),
    ),
    reference="002: person attributes, DenseNet121 from scratch, 5 stages 100 px -> 200 px, Adam 1e-3, 8 CE heads",
)

CELEBA = Recipe(
    name="celeba_gender",
    model="celeba_cnn",
    dataset="celeba",
    image_size=(218, 178),
    batch_size=128,
    targets={"male": "Male"},
    dataset_options={"protocol": "sample"},  # 10,000 + 10,000 train, 5,000 validation, 5,000 test
    stages=(
        Stage(
            name="train",
            epochs=50,
            optimizer=Optimizer("adam", 1e-3),
            losses={"male": Loss("binary_crossentropy")},
            augmentation=Augmentation(
                horizontal_flip=True, width_shift_range=0.4, height_shift_range=0.4, zoom_range=0.3, rotation_range=20
            ),
            monitor="val_accuracy",
        ),
    ),
    reference="003: CelebA Male (10,000 + 10,000 sample, Adam 1e-3, binary CE, 50 epochs, batch 128, 218x178)",
)

_ATTRACTIVE_EARLY_STOPPING = EarlyStopping(patience=7, min_delta=1e-3)
ATTRACTIVE_NET = Recipe(
    name="attractive_net",
    model="attractive_net",
    dataset="scut_fbp5500",
    image_size=(350, 350),
    batch_size=32,
    targets={"beauty": "beauty"},
    stages=(
        Stage(
            name="frozen_backbone",
            epochs=30,
            optimizer=Optimizer("adam", 1e-3),
            losses={"beauty": Loss("mse")},
            augmentation=_GENERATOR_40,
            freeze_backbone=True,
            early_stopping=_ATTRACTIVE_EARLY_STOPPING,
        ),
        Stage(
            name="fine_tune",
            epochs=30,
            optimizer=Optimizer("adam", 1e-4),
            losses={"beauty": Loss("mse")},
            augmentation=_GENERATOR_40,
            freeze_backbone=False,
            early_stopping=_ATTRACTIVE_EARLY_STOPPING,
        ),
    ),
    reference="004: AttractiveNet (MSE; stage 1 frozen MobileNetV2, Adam 1e-3; stage 2 all layers, 1e-4; batch 32)",
)

#: facezoo's own recipe: age in years with Huber (delta 5 years, robust to UTKFace's label noise) weighted so the
#: three losses start at similar scales, plus gender and race cross-entropy; Adam 1e-3 with a 0.9 per-epoch decay;
#: flip, small rotation / shift / zoom (faces are aligned).
UTKFACE = Recipe(
    name="utkface",
    model="utkface_multitask",
    dataset="utkface",
    image_size=(128, 128),
    batch_size=64,
    targets={"age": "age", "gender": "gender", "race": "race"},
    stages=(
        Stage(
            name="train",
            epochs=30,
            optimizer=Optimizer("adam", 1e-3, lr_decay=0.9),
            losses={"age": Loss("huber", delta=5.0), "gender": _CE, "race": _CE},
            loss_weights={"age": 0.1, "gender": 1.0, "race": 1.0},
            augmentation=Augmentation(
                horizontal_flip=True, rotation_range=10, width_shift_range=0.1, height_shift_range=0.1, zoom_range=0.1
            ),
            early_stopping=EarlyStopping(patience=6, min_delta=1e-3, restore_best_weights=True),
        ),
    ),
    reference="facezoo: UTKFace multi-task (0.1 x Huber(5 y) age + gender CE + race CE, Adam 1e-3 x 0.9^epoch)",
)

_FACE_AUGMENTATION = Augmentation(
    horizontal_flip=True, rotation_range=10, width_shift_range=0.1, height_shift_range=0.1, zoom_range=0.1
)
_FACE_LOSSES = {"age": Loss("huber", delta=5.0), "gender": _CE, "race": _CE, "age_class": _CE, "beauty": Loss("mse")}
#: Each head's loss counts only the images labelled for it (a quarter to a half of a batch; a ninth for beauty),
#: so the weights bring the heads' contributions to similar scales: age's Huber is ~5 x years of error.
_FACE_LOSS_WEIGHTS = {"age": 0.15, "gender": 2.0, "race": 2.0, "age_class": 1.0, "beauty": 10.0}

_FACE_STAGE = Stage(
    name="96px",
    epochs=6,
    optimizer=Optimizer("adam", 2e-3, schedule="cosine", warmup_epochs=1),
    losses=_FACE_LOSSES,
    loss_weights=_FACE_LOSS_WEIGHTS,
    augmentation=_FACE_AUGMENTATION,
    image_size=(96, 96),
)

#: facezoo's face backbone: MobileNetV2 multi-task on the union of the zoo's face datasets' training splits, with
#: progressive resizing (most epochs at 96 px, the last at 128 px) and a warm-up + cosine schedule per stage.
FACE_BACKBONE = Recipe(
    name="face_backbone",
    model="face_mobilenet_v2",
    dataset="faces",
    image_size=(128, 128),
    batch_size=64,
    targets={head: head for head in _FACE_LOSSES},
    stages=(
        _FACE_STAGE,
        replace(
            _FACE_STAGE, name="128px", epochs=2, optimizer=Optimizer("adam", 3e-4, schedule="cosine"), image_size=None
        ),
    ),
    reference="facezoo: face backbone (MobileNetV2, 5 masked heads, Adam 2e-3 warm-up + cosine, 96 px then 128 px)",
)


def _face_fine_tune(losses: Mapping[str, Loss], loss_weights: Mapping[str, float], epochs: int) -> tuple[Stage, ...]:
    """Fine-tuning a model built on the face backbone: every layer trains, ``epochs`` at 96 px (Adam 3e-4, one
    warm-up epoch, cosine), then 2 at 128 px (1e-4, cosine); the face backbone's augmentation."""
    low = Stage(
        name="96px",
        epochs=epochs,
        optimizer=Optimizer("adam", 3e-4, schedule="cosine", warmup_epochs=1),
        losses=losses,
        loss_weights=loss_weights,
        augmentation=_FACE_AUGMENTATION,
        image_size=(96, 96),
        freeze_backbone=False,
    )
    return low, replace(
        low, name="128px", epochs=2, optimizer=Optimizer("adam", 1e-4, schedule="cosine"), image_size=None
    )


#: facezoo's IMFDB age-class model on the face backbone (the write-up's models are AGE and AGE_VGG16).
AGE_MOBILENET_V2 = Recipe(
    name="age_mobilenet_v2",
    model="age_mobilenet_v2",
    dataset="imfdb_age",
    image_size=(128, 128),
    batch_size=64,
    targets={"age": "age"},
    stages=_face_fine_tune({"age": _CE}, {}, epochs=6),
    reference="facezoo: age class on the face backbone (fine-tune, Adam 3e-4 warm-up + cosine, 96 px then 128 px)",
)
#: facezoo's UTKFace model on the face backbone: UTKFACE's losses and weights.
UTKFACE_MOBILENET_V2 = Recipe(
    name="utkface_mobilenet_v2",
    model="utkface_mobilenet_v2",
    dataset="utkface",
    image_size=(128, 128),
    batch_size=64,
    targets={"age": "age", "gender": "gender", "race": "race"},
    stages=_face_fine_tune(UTKFACE.stages[0].losses, UTKFACE.stages[0].loss_weights, epochs=8),
    reference="facezoo: UTKFace on the face backbone (fine-tune, Adam 3e-4 warm-up + cosine, 96 px then 128 px)",
)
#: facezoo's CelebA ``Male`` model on the face backbone, on the identity-disjoint split ``celeba_cnn.celeba`` was
#: measured on (the face backbone's CelebA member uses the same split, so no test identity was in its training).
CELEBA_MOBILENET_V2 = Recipe(
    name="celeba_mobilenet_v2",
    model="celeba_mobilenet_v2",
    dataset="celeba",
    image_size=(128, 128),
    batch_size=64,
    targets={"male": "Male"},
    dataset_options={"protocol": "identity", "label_from_identity": True, "identity_fractions": (0.15, 0.15)},
    stages=_face_fine_tune({"male": Loss("binary_crossentropy")}, {}, epochs=8),
    reference="facezoo: CelebA Male on the face backbone (fine-tune, Adam 3e-4 warm-up + cosine, 96 px then 128 px)",
)

#: Recipe name -> recipe.
RECIPES: Mapping[str, Recipe] = _frozen(
    {
        r.name: r
        for r in (
            SELFIE,
            AGE,
            AGE_VGG16,
            AGE_MOBILENET_V2,
            PERSON_ATTRIBUTES,
            CELEBA,
            CELEBA_MOBILENET_V2,
            ATTRACTIVE_NET,
            UTKFACE,
            UTKFACE_MOBILENET_V2,
            FACE_BACKBONE,
        )
    }
)


def resolve_recipe(
    recipe: Recipe,
    *,
    model: str | None = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    image_size: int | tuple[int, int] | None = None,
    seed: int | None = None,
    **overrides: Any,
) -> Recipe:
    """Apply a ``fit_*`` call's arguments to a recipe.

    ``overrides`` may hold builder arguments of the model (e.g. ``n_layers=6``), :class:`Stage` fields
    (``augmentation=None``, ``freeze_backbone``, ...), :class:`Optimizer` fields (``learning_rate``, ``clipnorm``,
    ``lr_decay``) applied to every stage, ``stages`` (names of the stages to run), the recipe's ``splits`` and
    ``dataset_options`` (merged into the recipe's). ``epochs`` and ``image_size`` replace every stage's.

    Raises:
        ValueError: an unknown override or a non-positive size.
    """
    changes: dict[str, Any] = {}
    name = model or recipe.model
    info = model_info(name)
    config = {k: v for k, v in recipe.model_config.items() if k in info.default_config}
    stage_fields = {f.name for f in dataclasses.fields(Stage)} - {"name", "epochs", "image_size"}
    optimizer_fields = {f.name for f in dataclasses.fields(Optimizer)} - {"name"}
    stage_changes, optimizer_changes = {}, {}
    for key, value in overrides.items():
        if key in info.default_config and key != "input_shape":
            config[key] = value
        elif key in stage_fields:
            stage_changes[key] = value
        elif key in optimizer_fields:
            optimizer_changes[key] = value
        elif key == "splits":
            changes[key] = tuple(value)
        elif key == "dataset_options":
            changes[key] = {**recipe.dataset_options, **value}
        elif key != "stages":
            allowed = sorted(
                {*info.default_config} - {"input_shape"}
                | stage_fields
                | optimizer_fields
                | {"stages", "splits", "dataset_options"}
            )
            raise ValueError(f"Unknown override {key!r} for recipe {recipe.name!r}; allowed: {', '.join(allowed)}.")
    stages = recipe.stages
    if "stages" in overrides:
        wanted = [overrides["stages"]] if isinstance(overrides["stages"], str) else list(overrides["stages"])
        unknown = [s for s in wanted if s not in {stage.name for stage in stages}]
        if unknown or not wanted:
            raise ValueError(
                f"Unknown stages {unknown or wanted}; recipe {recipe.name!r} has {[s.name for s in stages]}."
            )
        stages = tuple(stage for stage in stages if stage.name in wanted)
    size = None
    if image_size is not None:
        size = (image_size, image_size) if isinstance(image_size, int) else tuple(int(s) for s in image_size)
        if len(size) != 2 or min(size) < 1:
            raise ValueError(f"image_size must be an int or (height, width), got {image_size!r}.")
        changes["image_size"] = size
    if epochs is not None and (not isinstance(epochs, int) or epochs < 1):
        raise ValueError(f"epochs must be a positive integer, got {epochs!r}.")

    def stage_with(stage: Stage) -> Stage:
        new = dict(stage_changes)
        if optimizer_changes:
            new["optimizer"] = dataclasses.replace(stage_changes.get("optimizer", stage.optimizer), **optimizer_changes)
        if epochs is not None:
            new["epochs"] = epochs
        if size is not None:
            new["image_size"] = size
        return dataclasses.replace(stage, **new)

    if batch_size is not None:
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}.")
        changes["batch_size"] = batch_size
    if seed is not None:
        changes["seed"] = int(seed)
    return dataclasses.replace(
        recipe, model=name, model_config=config, stages=tuple(stage_with(s) for s in stages), **changes
    )


# ------------------------------------------------------------------------------------------------ experiments


@dataclass(frozen=True)
class Experiment:
    """One experiment of a write-up, as the write-up ran it: a named variant of a recipe.

    Attributes:
        name: What ``fit(recipe, ..., experiment=name)`` takes.
        recipe: The variant: the base recipe with :attr:`overrides` applied (its ``reference`` names the experiment).
        overrides: What the experiment changes in its base recipe, as :func:`resolve_recipe` arguments.
        write_up: The write-up's number, e.g. ``"001"``.
        row: The write-up's experiment (its table row), in words.
        reported: The write-up's numbers for it, under facezoo's metric names (``"accuracy"``, ``"mae"``,
            ``"gender/accuracy"``, ...).
        reported_split: The split the write-up measured them on (``"validation"`` or ``"test"``).
    """

    name: str
    recipe: Recipe
    overrides: Mapping[str, Any]
    write_up: str
    row: str
    reported: Mapping[str, float]
    reported_split: str = "test"

    def __post_init__(self) -> None:
        object.__setattr__(self, "overrides", _frozen(self.overrides))
        object.__setattr__(self, "reported", _frozen(self.reported))


def _experiment(
    base: Recipe, name: str, write_up: str, row: str, reported: Mapping[str, float], split: str, **overrides: Any
) -> Experiment:
    numbers = ", ".join(f"{metric} {value:g}" for metric, value in reported.items())
    recipe = replace(
        resolve_recipe(base, **overrides),
        reference=f"{write_up} experiment {name!r}: {row}, as the write-up ran it (write-up: {split} {numbers})",
    )
    return Experiment(name, recipe, overrides, write_up, row, reported, split)


#: Write-up 001's split: its balanced 1,600 / 800 images per class; it measured on the 800 (there is no test part).
_BALANCED: dict[str, Any] = {
    "dataset_options": {"protocol": "reference"},
    "splits": ("train", "validation", "validation"),
}
_AGE_EXPERIMENTS = (
    _experiment(AGE, "baseline", "001", "baseline CNN, no augmentation", {"accuracy": 0.68}, "validation",
                variant="baseline", augmentation=None, **_BALANCED),
    _experiment(AGE, "regularized", "001", "CNN with batch norm and dropout, no augmentation", {"accuracy": 0.70},
                "validation", variant="regularized", augmentation=None, **_BALANCED),
    _experiment(AGE, "augmented", "001", "CNN with batch norm and dropout, with augmentation", {"accuracy": 0.74},
                "validation", variant="regularized", **_BALANCED),
    _experiment(AGE_VGG16, "vgg16", "001", "VGG16 transfer, frozen ImageNet base, with augmentation",
                {"accuracy": 0.67}, "validation", backbone_weights="imagenet", **_BALANCED),
)  # fmt: skip


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


_SELFIE_EXPERIMENTS = tuple(
    _experiment(SELFIE, f"residual_{_yes(residual)}-batch_norm_{_yes(bn)}", "000",
                f"Table 1, residual {_yes(residual)}, batch norm {_yes(bn)}", {"mae": mae}, "test",
                residual=residual, batch_norm=bn)
    for residual, bn, mae in SELFIE_ABLATION
) + tuple(
    _experiment(SELFIE, f"layers_{layers}-filters_{filters}", "000",
                f"Table 2, {layers} layers, {filters} filters, no residual, no batch norm", {"mae": mae}, "test",
                n_layers=layers, n_filters=filters, residual=False, batch_norm=False)
    for layers, filters, mae in SELFIE_GRID
)  # fmt: skip

#: The write-up's validation accuracy per head (its final 200 px model).
_PERSON_REPORTED = {"gender": 0.888889, "image_quality": 0.584821, "age": 0.447421, "weight": 0.652778,
                    "bag": 0.697917, "footwear": 0.670635, "pose": 0.857143, "emotion": 0.704365}  # fmt: skip
_PERSON_EXPERIMENTS = (
    _experiment(PERSON_ATTRIBUTES, "five_stage", "002", "DenseNet121 from scratch, five stages 100 px then 200 px",
                {f"{head}/accuracy": value for head, value in _PERSON_REPORTED.items()}, "validation"),
)  # fmt: skip
_CELEBA_EXPERIMENTS = (
    _experiment(CELEBA, "cnn", "003", "simple CNN", {"accuracy": 0.9418}, "test"),
    _experiment(CELEBA, "inception_v3", "003", "InceptionV3 transfer, frozen ImageNet base", {"accuracy": 0.9244},
                "test", model="celeba_inception_v3", backbone_weights="imagenet"),
)  # fmt: skip
_ATTRACTIVE_EXPERIMENTS = (
    _experiment(ATTRACTIVE_NET, "two_stage", "004", "MobileNetV2 from ImageNet, frozen then fine-tuned",
                {"mae": 0.212, "rmse": 0.286}, "test", backbone_weights="imagenet"),
)  # fmt: skip

#: Recipe name -> experiment name -> :class:`Experiment`: every write-up experiment facezoo has the architecture for.
EXPERIMENTS: Mapping[str, Mapping[str, Experiment]] = _frozen(
    {
        recipe: _frozen({e.name: e for e in experiments})
        for recipe, experiments in {
            "selfie_resnet": _SELFIE_EXPERIMENTS,
            "age_cnn": _AGE_EXPERIMENTS,
            "person_attributes": _PERSON_EXPERIMENTS,
            "celeba_gender": _CELEBA_EXPERIMENTS,
            "attractive_net": _ATTRACTIVE_EXPERIMENTS,
        }.items()
    }
)


def find_experiment(recipe: str, name: str) -> Experiment:
    """The experiment ``name`` of recipe ``recipe`` (see :data:`EXPERIMENTS`).

    Raises:
        ValueError: no such experiment; the message lists the recipe's experiments and names the recipe that has
            one of that name.
    """
    experiments = EXPERIMENTS.get(recipe, {})
    if name in experiments:
        return experiments[name]
    owner = next((r for r, e in EXPERIMENTS.items() if name in e), None)
    hint = f" {name!r} is an experiment of recipe {owner!r}: fit({owner!r}, ..., experiment={name!r})." if owner else ""
    close = difflib.get_close_matches(str(name), list(experiments), n=1, cutoff=0.6)
    hint = f" Did you mean {close[0]!r}?" if close and not owner else hint
    known = ", ".join(experiments) or "none"
    raise ValueError(f"Recipe {recipe!r} has no experiment {name!r}; its experiments: {known}.{hint}")


#: Families whose recipes pretrain a backbone: they start from random weights on purpose.
PRETRAINING_FAMILIES = ("face_backbone",)


def random_backbone(recipe: Recipe) -> bool:
    """Whether ``recipe`` transfers from a random backbone: its model is a transfer model (the builder takes
    ``backbone_weights`` and ``freeze_backbone``; not a pretraining family) and ``backbone_weights`` is ``None``."""
    info = model_info(recipe.model)
    config = {**info.default_config, **recipe.model_config}
    transfer = "freeze_backbone" in config and "backbone_weights" in config
    return transfer and info.family not in PRETRAINING_FAMILIES and config["backbone_weights"] is None
