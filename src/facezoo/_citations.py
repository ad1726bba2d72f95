"""Citation and licence facts of the datasets facezoo models are trained on, keyed by ``facezoo.datasets`` name.

The model cards written by :func:`facezoo.hub.save_pretrained` cite from here. Every dataset is licensed for
non-commercial research only, and so are weights trained on it.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DatasetCitation", "DATASETS", "NON_COMMERCIAL"]

NON_COMMERCIAL = (
    "The dataset is licensed for non-commercial research use only; these weights are derived from it and inherit "
    "that restriction. Do not use them commercially."
)


@dataclass(frozen=True)
class DatasetCitation:
    """How to cite a dataset.

    Attributes:
        title: Human-readable dataset name.
        reference: One-line citation (authors, title, venue, year).
        bibtex: BibTeX entry.
        url: Home page of the dataset, or ``""`` when it has none.
    """

    title: str
    reference: str
    bibtex: str
    url: str = ""


DATASETS: dict[str, DatasetCitation] = {
    "scut_fbp5500": DatasetCitation(
        title="SCUT-FBP5500",
        reference=(
            "L. Liang, L. Lin, L. Jin, D. Xie, M. Li. SCUT-FBP5500: A Diverse Benchmark Dataset for Multi-Paradigm "
            "Facial Beauty Prediction. ICPR 2018. arXiv:1801.06345"
        ),
        bibtex="""@inproceedings{liang2018scutfbp5500,
  title     = {SCUT-FBP5500: A Diverse Benchmark Dataset for Multi-Paradigm Facial Beauty Prediction},
  author    = {Liang, Lingyu and Lin, Luojun and Jin, Lianwen and Xie, Duorui and Li, Mengru},
  booktitle = {24th International Conference on Pattern Recognition (ICPR)},
  year      = {2018},
  eprint    = {1801.06345},
  archivePrefix = {arXiv}
}""",
        url="https://github.com/HCIILAB/SCUT-FBP5500-Database-Release",
    ),
    "celeba": DatasetCitation(
        title="CelebA",
        reference="Z. Liu, P. Luo, X. Wang, X. Tang. Deep Learning Face Attributes in the Wild. ICCV 2015",
        bibtex="""@inproceedings{liu2015faceattributes,
  title     = {Deep Learning Face Attributes in the Wild},
  author    = {Liu, Ziwei and Luo, Ping and Wang, Xiaogang and Tang, Xiaoou},
  booktitle = {Proceedings of International Conference on Computer Vision (ICCV)},
  year      = {2015}
}""",
        url="https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html",
    ),
    "utkface": DatasetCitation(
        title="UTKFace",
        reference=(
            "Z. Zhang, Y. Song, H. Qi. Age Progression/Regression by Conditional Adversarial Autoencoder. CVPR 2017"
        ),
        bibtex="""@inproceedings{zhang2017age,
  title     = {Age Progression/Regression by Conditional Adversarial Autoencoder},
  author    = {Zhang, Zhifei and Song, Yang and Qi, Hairong},
  booktitle = {IEEE Conference on Computer Vision and Pattern Recognition (CVPR)},
  year      = {2017}
}""",
        url="https://susanqq.github.io/UTKFace/",
    ),
    "imfdb_age": DatasetCitation(
        title="IMFDB age detection (Analytics Vidhya 'Age Detection of Indian Actors')",
        reference=(
            "S. Setty et al. Indian Movie Face Database: A Benchmark for Face Recognition Under Wide Variations. "
            "NCVPRIPG 2013; age labels from the Analytics Vidhya 'Age Detection of Indian Actors' practice problem"
        ),
        bibtex="""@inproceedings{setty2013imfdb,
  title     = {Indian Movie Face Database: A Benchmark for Face Recognition Under Wide Variations},
  author    = {Setty, Shankar and Husain, Moula and Beham, Parisa and Gudavalli, Jyothi and Kandasamy, Menaka
               and Vaddi, Radhesyam and Hemadri, Vidyagouri and Karure, J. C. and Raju, Raja and Rajan, B.
               and Kumar, Vijay and Jawahar, C. V.},
  booktitle = {National Conference on Computer Vision, Pattern Recognition, Image Processing and Graphics (NCVPRIPG)},
  year      = {2013}
}""",
        url="https://cvit.iiit.ac.in/projects/IMFDB/",
    ),
    "selfie": DatasetCitation(
        title="CRCV UCF Selfie dataset",
        reference="M. Kalayeh, M. Seifu, W. LaLanne, M. Shah. How to Take a Good Selfie? ACM Multimedia 2015",
        bibtex="""@inproceedings{kalayeh2015selfie,
  title     = {How to Take a Good Selfie?},
  author    = {Kalayeh, Mahdi M. and Seifu, Misrak and LaLanne, Wesna and Shah, Mubarak},
  booktitle = {Proceedings of the 23rd ACM International Conference on Multimedia},
  year      = {2015}
}""",
        url="https://www.crcv.ucf.edu/data/Selfie/",
    ),
    "person_attributes": DatasetCitation(
        title="Person attributes (HVC hackathon dataset)",
        reference="Person attribute recognition dataset of the HVC hackathon (no paper; cite the hackathon)",
        bibtex="""@misc{hvc_person_attributes,
  title        = {Person Attribute Recognition},
  howpublished = {HVC hackathon dataset}
}""",
    ),
}

#: The union of the zoo's face datasets (``facezoo.datasets.faces``) cites every member.
_FACE_MEMBERS = ("utkface", "imfdb_age", "celeba", "scut_fbp5500")
DATASETS["faces"] = DatasetCitation(
    title="facezoo faces (" + " + ".join(DATASETS[m].title for m in _FACE_MEMBERS) + ")",
    reference="; ".join(DATASETS[m].reference for m in _FACE_MEMBERS),
    bibtex="\n\n".join(DATASETS[m].bibtex for m in _FACE_MEMBERS),
)
