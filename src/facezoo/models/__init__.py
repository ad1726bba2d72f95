"""Model builders, one module per family; every builder is registered in :mod:`facezoo.registry`."""

from facezoo.models.selfie import selfie_cnn, selfie_resnet

__all__ = ["selfie_cnn", "selfie_resnet"]
