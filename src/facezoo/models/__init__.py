"""Model builders, one module per family; every builder is registered in :mod:`facezoo.registry`.

Every model takes RGB images as floats in [0, 255] at its input size; its recipe's scaling is a layer inside.
"""

from facezoo.models.age import age_cnn, age_mobilenet_v2, age_vgg16
from facezoo.models.attractive_net import attractive_net
from facezoo.models.celeba import celeba_cnn, celeba_inception_v3, celeba_mobilenet_v2
from facezoo.models.face_backbone import face_mobilenet_v2
from facezoo.models.person_attributes import person_attributes_densenet121
from facezoo.models.selfie import selfie_cnn, selfie_resnet
from facezoo.models.utkface import utkface_mobilenet_v2, utkface_multitask

__all__ = [
    "age_cnn",
    "age_mobilenet_v2",
    "age_vgg16",
    "attractive_net",
    "celeba_cnn",
    "celeba_inception_v3",
    "celeba_mobilenet_v2",
    "face_mobilenet_v2",
    "person_attributes_densenet121",
    "selfie_cnn",
    "selfie_resnet",
    "utkface_mobilenet_v2",
    "utkface_multitask",
]
