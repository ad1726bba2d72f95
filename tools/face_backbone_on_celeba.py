"""Measure the face backbone's ``gender`` head on the test split of ``celeba_cnn.celeba`` (CelebA ``Male``).

    python tools/face_backbone_on_celeba.py ../shared/data

The face backbone's CelebA member uses the same identity-disjoint protocol as ``celeba_cnn.celeba``, so none of
these test identities were in its training data. Images are resized to the backbone's 128x128 input as in its
training. Prints accuracy and macro F1 (the numbers in docs/models/celeba.md).
"""

from __future__ import annotations

import argparse

import numpy as np

import facezoo
from facezoo import datasets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data_dir", help="the datasets folder holding celeba/")
    parser.add_argument("--weights", default="face_mobilenet_v2.faces")
    args = parser.parse_args()
    options = dict(facezoo.model_info("celeba_cnn").weights["celeba"].dataset_options)
    test = datasets.load("celeba", args.data_dir, split="test", **options)
    model = facezoo.create_model(args.weights)
    size = tuple(model.input_shape[1:3])
    scores = [np.asarray(model.predict_on_batch(x)["gender"]) for x, _ in test.as_tf_dataset(size, 64)]
    labels = facezoo.model_info("face_mobilenet_v2").outputs[1].labels
    predicted_male = np.concatenate(scores).argmax(axis=1) == labels.index("male")
    truth_male = np.asarray(test.targets["Male"]).reshape(-1) == 1
    accuracy = float(np.mean(predicted_male == truth_male))
    f1s = []
    for positive in (True, False):
        tp = np.sum((predicted_male == positive) & (truth_male == positive))
        precision = tp / max(np.sum(predicted_male == positive), 1)
        recall = tp / max(np.sum(truth_male == positive), 1)
        f1s.append(2 * precision * recall / max(precision + recall, 1e-12))
    print(
        f"{args.weights} gender head on CelebA test ({len(truth_male)} images): accuracy {accuracy:.4f}, "
        f"macro F1 {np.mean(f1s):.4f}"
    )


if __name__ == "__main__":
    main()
