"""What ``Module.register_full_backward_hook`` needs: gradient taps around one call of a module.

A tap is an identity Function.  One tap on the module's tensor inputs and
one on its outputs make the engine hand over, in their backward, the
gradients of the outputs (first) and of the inputs (last, once the module's
own backward is done).  The hooks then run as in PyTorch:
``hook(module, grad_input, grad_output)``, whose non-None result replaces
``grad_input`` in what flows on to the layers before.
"""
from ..autograd import Function, Tensor

__all__ = ["BackwardHookCall"]


class _Tap(Function):
    """y_i = x_i for each input; backward hands the gradients to ``on_backward``, which may replace them."""

    def __init__(self, on_backward):
        self.on_backward = on_backward

    def forward(self, *xs):
        return xs

    def backward(self, *gys):
        return tuple(self.on_backward(gys))


def _needs_tap(x):
    return isinstance(x, Tensor) and x.requires_grad


class BackwardHookCall:
    """The taps of one call of ``module``, whose backward hooks are the values of ``hooks``."""

    def __init__(self, module, hooks):
        self.module, self.hooks = module, hooks
        self.tapped_inputs = None     # positions, among the tensor arguments, of those tapped
        self.grad_output = None

    def tap_inputs(self, args):
        """``args`` with each tensor that requires grad passed through the input tap."""
        tensors = [a for a in args if isinstance(a, Tensor)]
        self.num_inputs = len(tensors)
        self.tapped_inputs = [i for i, t in enumerate(tensors) if t.requires_grad]
        if not self.tapped_inputs:
            return args
        tapped = iter(_Tap(self._inputs_backward)(*[t for t in tensors if t.requires_grad]))
        return tuple(next(tapped) if _needs_tap(a) else a for a in args)

    def tap_outputs(self, output):
        """``output`` (a Tensor or a tuple or list of them) with what requires grad tapped."""
        outputs = output if isinstance(output, (tuple, list)) else (output,)
        if not any(_needs_tap(o) for o in outputs):
            return output
        tapped = iter(_Tap(self._outputs_backward)(*[o for o in outputs if _needs_tap(o)]))
        outputs = [next(tapped) if _needs_tap(o) else o for o in outputs]
        return type(output)(outputs) if isinstance(output, (tuple, list)) else outputs[0]

    def _outputs_backward(self, gys):
        self.grad_output = tuple(Tensor(g) for g in gys)
        if not self.tapped_inputs:    # no gradient will reach the inputs: the hooks run now, as PyTorch's do
            self._run_hooks((None,) * self.num_inputs)
        return gys

    def _inputs_backward(self, gys):
        grad_input = [None] * self.num_inputs
        for i, g in zip(self.tapped_inputs, gys):
            grad_input[i] = Tensor(g)
        grad_input = self._run_hooks(tuple(grad_input))
        return [_array(grad_input[i], g) for i, g in zip(self.tapped_inputs, gys)]

    def _run_hooks(self, grad_input):
        name = type(self.module).__name__
        for hook in list(self.hooks.values()):
            result = hook(self.module, grad_input, self.grad_output)
            if result is None:
                continue
            result = tuple(result) if isinstance(result, (tuple, list)) else (result,)
            if len(result) != len(grad_input):
                raise RuntimeError(f"{name} full backward hook returned {len(result)} gradients "
                                   f"for {len(grad_input)} tensor inputs")
            grad_input = result
        return grad_input


def _array(grad, old):
    """The array of a hook's replacement gradient, checked against the gradient it replaces."""
    if grad is None:
        raise RuntimeError("full backward hook returned None for an input that requires grad; "
                           "return a zero gradient to stop it")
    data = grad.data if isinstance(grad, Tensor) else grad
    if tuple(data.shape) != tuple(old.shape):
        raise RuntimeError(f"full backward hook returned a gradient of shape {tuple(data.shape)} "
                           f"for an input of shape {tuple(old.shape)}")
    return data
