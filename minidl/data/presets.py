"""Transforms for photos of any size and aspect ratio, as the Dogs vs Cats practice uses them.

Training draws a random crop (RandomResizedCrop), turns it (RandomRotation)
and mirrors it; validation resizes the shorter side and keeps the central
square, so that every image of a batch has one size.  Both end with
ToFloat and Normalize::

    augment = photo_train_transform(224, IMAGENET_MEAN, IMAGENET_STD)
    train = ImageFolder("dogs-vs-cats/train", transform=augment)
    val = ImageFolder("dogs-vs-cats/val", classes=train.classes,
                      transform=photo_eval_transform(224, IMAGENET_MEAN, IMAGENET_STD))

Use ImageNet's mean and standard deviation with weights pretrained on it,
else the training images' own.
"""
from .transforms import (CenterCrop, Compose, Normalize, RandomHorizontalFlip, RandomResizedCrop,
                         RandomRotation, RandomVerticalFlip, Resize, ToFloat)

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "photo_train_transform", "photo_eval_transform"]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def photo_train_transform(size, mean, std, degrees=90, horizontal_flip=True, vertical_flip=False,
                          scale=(0.08, 1.0)):
    """RandomResizedCrop(size, scale), RandomRotation(degrees) (0: none), the flips asked for,
    ToFloat, Normalize(mean, std): uint8 images (C, H, W) of any size -> float (C, size, size)."""
    steps = [RandomResizedCrop(size, scale=scale)]
    if degrees:
        steps.append(RandomRotation(degrees))
    if horizontal_flip:
        steps.append(RandomHorizontalFlip())
    if vertical_flip:
        steps.append(RandomVerticalFlip())
    return Compose([*steps, ToFloat(), Normalize(mean, std)])


def photo_eval_transform(size, mean, std, resize=None):
    """Resize the shorter side to ``resize`` (default ``size``, the deck's Resize(224); torchvision's
    ImageNet recipe uses 256 for 224), CenterCrop(size), ToFloat, Normalize(mean, std)."""
    return Compose([Resize(resize or size), CenterCrop(size), ToFloat(), Normalize(mean, std)])
