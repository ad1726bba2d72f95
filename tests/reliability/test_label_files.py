"""Hostile label files: every parser error names the file, the line, what it found and what it expected."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from facezoo import datasets
from facezoo.datasets.core import MARKER_IMAGES

from .helpers import jpeg

SELFIE_ROW = "img_0 3.5 " + " ".join(["1"] * 36)
HVC_HEADER = "filename,gender,imagequality,age,weight,carryingbag,footwear,emotion,bodypose,image_path"
HVC_ROW = "a.jpg,male,Good,55+,underweight,None,Fancy,Sad,Side,resized/1.jpg"


def _layout(root: Path, name: str, text: str | bytes) -> Path:
    """The dataset ``name`` with its images and its label file holding ``text``; returns the label file."""
    folders = {
        "imfdb_age": ("imfdb-age", "train.csv", "Train/1.jpg"),
        "person_attributes": ("hvc", "hvc_annotations.csv", "resized/1.jpg"),
        "scut_fbp5500": ("SCUT-FBP5500_v2", "train_test_files/All_labels.txt", "Images/AF1.jpg"),
        "selfie": ("Selfie-dataset", "selfie_dataset.txt", "images/img_0.jpg"),
        "celeba": ("celeba", "list_attr_celeba.txt", "img_align_celeba/000001.jpg"),
    }
    folder, labels, image = folders[name]
    for relative in (labels, image):
        (root / folder / relative).parent.mkdir(parents=True, exist_ok=True)
    for number in range(MARKER_IMAGES):  # the image the labels name, and as many as make the folder a dataset
        digits = re.search(r"\d+(?=\.jpg$)", image)
        name = f"{image[: digits.start()]}{int(digits[0]) + number:0{len(digits[0])}d}.jpg"
        (root / folder / name).write_bytes(jpeg(number))
    path = root / folder / labels
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    if name == "celeba":
        (root / folder / "list_eval_partition.txt").write_text("000001.jpg 0\n")
    return path


CASES = {
    "imfdb-short-row": ("imfdb_age", "ID,Class\n1.jpg\n", r"line 2: 1 fields .*; expected 2: ID,Class"),
    "imfdb-extra-row": ("imfdb_age", "ID,Class\n1.jpg,OLD,x\n", r"line 2: 3 fields .*; expected 2: ID,Class"),
    "imfdb-unknown-class": (
        "imfdb_age",
        "ID,Class\n1.jpg,old\n1.jpg,ANCIENT\n",
        r"line 2: Class is 'old'; expected one of YOUNG, MIDDLE, OLD",
    ),
    "imfdb-wrong-header": (
        "imfdb_age",
        "Id;Klasse\n1.jpg;OLD\n",
        r"line 1: the header is 'Id;Klasse'; expected the columns ID, Class",
    ),
    "imfdb-latin1": (
        "imfdb_age",
        "ID,Class\n1.jpg,OLD\n\xe9.jpg,OLD\n".encode("latin-1"),
        r"line 3: byte b'\\xe9' at offset \d+ is not UTF-8; expected a UTF-8 or UTF-16",
    ),
    "hvc-unknown": (
        "person_attributes",
        f"{HVC_HEADER}\n{HVC_ROW.replace('Good', 'Great')}\n",
        r"line 2: imagequality is 'Great'; expected one of Average, Bad, Good",
    ),
    "hvc-short": (
        "person_attributes",
        f"{HVC_HEADER}\na.jpg,male\n",
        r"line 2: 2 fields .*; expected 10: filename,gender",
    ),
    "hvc-missing-column": (
        "person_attributes",
        "filename,gender\na.jpg,male\n",
        r"line 1: the header is 'filename,gender'; expected the columns filename, gender, imagequality",
    ),
    "scut-non-numeric": (
        "scut_fbp5500",
        "AF1.jpg 3.2\nAF2.jpg high\n",
        r"line 2: the score is 'high'; expected the score as a finite number in \[1, 5\]",
    ),
    "scut-nan": ("scut_fbp5500", "AF1.jpg nan\n", r"line 1: the score is 'nan'; expected"),
    "scut-inf": ("scut_fbp5500", "AF1.jpg inf\n", r"line 1: the score is 'inf'; expected"),
    "scut-out-of-range": (
        "scut_fbp5500",
        "AF1.jpg 7.5\n",
        r"line 1: the score is '7.5'; expected the score as a finite number in \[1, 5\]",
    ),
    "scut-extra": ("scut_fbp5500", "AF1.jpg 3.2 x\n", r"line 1: 3 fields .*; expected 2: '<image> <score>'"),
    "selfie-short": (
        "selfie",
        "img_0 3.5 1 1\n",
        r"line 1: 4 fields; expected 38: '<image> <score> <36 attributes 1/-1/0>'",
    ),
    "selfie-bad-attribute": (
        "selfie",
        SELFIE_ROW.replace(" 1 1", " 1 2", 1) + "\n",
        r"line 1: (\w+) is '2'; expected 1, -1 or 0",
    ),
    "selfie-inf-score": (
        "selfie",
        SELFIE_ROW.replace("3.5", "inf") + "\n",
        r"line 1: the popularity score is 'inf'; expected",
    ),
    "celeba-short": ("celeba", "1\nMale Smiling\n000001.jpg 1\n", r"list_attr_celeba.txt line 3: 2 fields; expected 3"),
    "celeba-bad-value": (
        "celeba",
        "1\nMale Smiling\n000001.jpg 1 0\n",
        r"list_attr_celeba.txt line 3: Smiling is '0'; expected 1 or -1",
    ),
    "celeba-no-count": (
        "celeba",
        "Male Smiling\n000001.jpg 1 1\n",
        r"list_attr_celeba.txt line 1: 'Male Smiling'; expected the row count",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_malformed_label_file_is_one_line_naming_file_and_line(tmp_path, case):
    name, text, message = CASES[case]
    path = _layout(tmp_path, name, text)
    with pytest.raises(ValueError) as error:
        datasets.load(name, tmp_path, split="all")
    assert str(error.value).startswith(f"{path} line "), str(error.value)
    assert re.search(message, str(error.value)), str(error.value)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(
    "encoding,bom",
    [("utf-8", b"\xef\xbb\xbf"), ("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff")],
    ids=["utf8-bom", "utf16le", "utf16be"],
)
def test_excel_encodings_are_read(tmp_path, encoding, bom):
    path = _layout(tmp_path, "scut_fbp5500", bom + "AF1.jpg 2.5\r\n".encode(encoding))
    ds = datasets.load("scut_fbp5500", tmp_path, split="all")
    assert ds.paths == [str(path.parents[1] / "Images" / "AF1.jpg")] and ds.targets["beauty"].tolist() == [2.5]
    _layout(tmp_path, "imfdb_age", bom + "ID,Class\r\n1.jpg,OLD\r\n".encode(encoding))
    assert datasets.load("imfdb_age", tmp_path, split="all").targets["age"].tolist() == [2]


def test_celeba_partition_out_of_range(tmp_path):
    _layout(tmp_path, "celeba", "1\nMale\n000001.jpg 1\n")
    partition = tmp_path / "celeba" / "list_eval_partition.txt"
    partition.write_text("000001.jpg 7\n")
    with pytest.raises(
        ValueError, match=rf"^{re.escape(str(partition))} line 1: the partition is '7'; expected one of 0, 1, 2$"
    ):
        datasets.load("celeba", tmp_path, split="all")
