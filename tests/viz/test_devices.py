"""Every picture gives the same numbers on each device as on the CPU."""
import numpy as np

import minidl
import minidl.functional as F
from minidl import viz
from tests.viz.twins import tiny_convnet

IMAGES = np.random.default_rng(0).standard_normal((3, 2, 8, 8))


def test_same_numbers_on_every_device(device):
    cpu, there = tiny_convnet(), tiny_convnet()
    there.load_state_dict(cpu.state_dict())
    there.to(device)
    for f in (lambda m: viz.saliency(m, IMAGES, target=1),
              lambda m: viz.grad_cam(m, IMAGES, "relu", target=[0, 1, 2]),
              lambda m: viz.feature_maps(m, "pool", IMAGES)):
        np.testing.assert_allclose(f(there), f(cpu), rtol=1e-10, atol=1e-12)
    assert viz.top_activations(there, "relu", 2, IMAGES, k=2) == viz.top_activations(cpu, "relu", 2, IMAGES,
                                                                                      k=2)
    flows = []
    for model in (cpu, there):
        with viz.GradientFlow(model) as flow:
            x = minidl.Tensor(IMAGES).to(device if model is there else "cpu")
            F.cross_entropy(model(x), minidl.tensor([0, 1, 2]).to(x.device)).backward()
        flows.append(flow)
    for cpu_stat, there_stat in zip(flows[0].averages()[1:], flows[1].averages()[1:]):
        np.testing.assert_allclose(there_stat, cpu_stat, rtol=1e-10)
