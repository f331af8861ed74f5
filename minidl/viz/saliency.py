"""Saliency maps: which pixels the class score is most sensitive to.

Simonyan, Vedaldi & Zisserman, "Deep Inside Convolutional Networks:
Visualising Image Classification Models and Saliency Maps", ICLR 2014
workshop, Sec. 3: the map is the gradient of the class score S_c (the logit,
before the softmax) with respect to the image, ``|dS_c/dx|``, maximised over
the colour channels.
"""
from .. import backend
from .probe import as_batch, class_scores_gradient, held_still

__all__ = ["input_gradient", "saliency"]


def input_gradient(model, images, target=None):
    """dS_c/dx: the gradient of each image's class score with respect to the image.

    images (N, C, H, W); ``target`` None (each image's predicted class), one
    class index, or N of them.  The model runs in eval mode, so the images do
    not interact, and its parameters' ``.grad`` are left as they were.
    Returns (the gradient, a NumPy array (N, C, H, W); the targets (N,)).
    """
    with held_still(model):
        x = as_batch(model, images, "saliency").requires_grad_()
        scores = model(x)
        seed, target = class_scores_gradient(scores, target, "saliency")
        scores.backward(seed)
    return backend.to_numpy(x.grad.data), target


def saliency(model, images, target=None):
    """Simonyan et al.'s saliency map: ``max over channels of |dS_c/dx|``, a NumPy array (N, H, W).

    Arguments as :func:`input_gradient`.
    """
    gradient, _ = input_gradient(model, images, target)
    return abs(gradient).max(axis=1)
