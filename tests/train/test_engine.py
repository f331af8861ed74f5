"""fit, train_one_epoch, evaluate and predict on a tiny classification problem.

The references are independent of the engine: a hand-written training loop,
the loss of the whole set in one call, the learning rates a schedule gives.
"""
import sys

import numpy as np
import pytest

import minidl
import minidl.functional as F
from minidl import nn, optim
from minidl.data import DataLoader, TensorDataset
from minidl.train import TrainingDiverged, evaluate, fit, predict, train_one_epoch

N, FEATURES, CLASSES = 96, 6, 3


def _problem(n=N, seed=0):
    """Three classes, told apart by which of the first three features is largest."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, FEATURES)).astype(np.float32)
    y = np.argmax(x[:, :CLASSES], axis=1)
    return x, y


def _model(dropout=0.0):
    minidl.manual_seed(0)
    return nn.Sequential(nn.Linear(FEATURES, 16), nn.ReLU(), nn.Dropout(dropout), nn.Linear(16, CLASSES))


def _loader(x, y, batch_size=16, shuffle=True, device=None):
    return DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=shuffle, device=device)


def _weights(model):
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}


def test_fit_learns_and_records_every_epoch():
    x, y = _problem()
    model = _model()
    optimizer = optim.SGD(model.parameters(), lr=0.2, momentum=0.9)
    history = fit(model, _loader(x, y), _loader(x, y, shuffle=False), optimizer, epochs=8, progress=False)
    assert [r["epoch"] for r in history] == list(range(1, 9))
    assert set(history[0]) == {"epoch", "lr", "train_loss", "train_acc", "train_top5",
                               "val_loss", "val_acc", "val_top5", "time", "images_per_s"}
    assert history[-1]["train_loss"] < history[0]["train_loss"] / 2
    assert history[-1]["val_acc"] >= 0.9
    assert history[-1]["val_top5"] == 1.0       # 3 classes: every target is in the top 5


def test_fit_does_what_a_hand_written_loop_does():
    x, y = _problem()
    model = _model(dropout=0.3)
    fit(model, _loader(x, y), None, optim.SGD(model.parameters(), lr=0.1, momentum=0.9), epochs=2,
        progress=False)

    reference = _model(dropout=0.3)
    reference_optimizer = optim.SGD(reference.parameters(), lr=0.1, momentum=0.9)
    loader = _loader(x, y)
    for _ in range(2):
        for xb, yb in loader:
            loss = F.cross_entropy(reference(xb), yb)
            reference_optimizer.zero_grad()
            loss.backward()
            reference_optimizer.step()
    for name, value in _weights(reference).items():
        np.testing.assert_array_equal(_weights(model)[name], value, err_msg=name)


def test_evaluate_averages_over_samples_not_batches():
    x, y = _problem(n=50)
    model = _model(dropout=0.5)
    figures = evaluate(model, _loader(x, y, batch_size=16, shuffle=False))   # batches of 16, 16, 16, 2
    model.eval()
    with minidl.no_grad():
        logits = model(minidl.tensor(x))
    assert figures["loss"] == pytest.approx(F.cross_entropy(logits, minidl.tensor(y)).item(), rel=1e-5)
    assert figures["acc"] == pytest.approx(np.mean(logits.numpy().argmax(axis=1) == y))


def test_evaluate_restores_the_mode_and_records_no_graph():
    x, y = _problem(n=20)
    model = _model(dropout=0.5)
    model.train()
    evaluate(model, _loader(x, y))
    assert model.training
    assert all(p.grad is None for p in model.parameters())
    first = evaluate(model, _loader(x, y, shuffle=False))["loss"]
    assert evaluate(model, _loader(x, y, shuffle=False))["loss"] == first      # dropout is off


def test_train_one_epoch_returns_its_figures():
    x, y = _problem(n=40)
    model = _model()
    figures = train_one_epoch(model, _loader(x, y, batch_size=8), optim.SGD(model.parameters(), lr=0.1),
                              progress=False)
    assert set(figures) == {"loss", "acc", "top5", "time", "images_per_s"}
    assert figures["images_per_s"] > 0 and 0 <= figures["acc"] <= 1


def test_custom_loss_and_metrics():
    x, y = _problem(n=32)
    model = _model()

    def wrong(output, target):
        return float((output.numpy().argmax(axis=1) != target.numpy()).mean())

    history = fit(model, _loader(x, y), _loader(x, y), optim.SGD(model.parameters(), lr=0.1),
                  loss=lambda out, t: F.cross_entropy(out, t, label_smoothing=0.1),
                  metrics={"error": wrong}, epochs=1, progress=False)
    assert {"train_error", "val_error"} <= set(history[0]) and "val_acc" not in history[0]


def test_the_scheduler_steps_once_per_epoch():
    x, y = _problem(n=32)
    model = _model()
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    history = fit(model, _loader(x, y), None, optimizer, scheduler, epochs=5, progress=False)
    assert [r["lr"] for r in history] == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025])


def test_reduce_on_plateau_gets_the_validation_loss():
    x, y = _problem(n=32)
    model = _model()
    optimizer = optim.SGD(model.parameters(), lr=0.0)      # nothing changes, so the loss never improves
    scheduler = optim.lr_scheduler.ReduceLROnPlateau(optimizer, patience=0, factor=0.5)
    fit(model, _loader(x, y), _loader(x, y), optimizer, scheduler, epochs=3, progress=False)
    assert scheduler.best == pytest.approx(evaluate(model, _loader(x, y))["loss"], rel=1e-6)


def test_a_callback_returning_true_stops_training():
    x, y = _problem(n=32)
    model = _model()
    seen = []

    def stop_after_two(state):
        seen.append(state.epoch)
        return state.epoch == 2

    history = fit(model, _loader(x, y), None, optim.SGD(model.parameters(), lr=0.1), epochs=5,
                  callbacks=[stop_after_two], progress=False)
    assert seen == [1, 2] and len(history) == 2


def test_fit_prints_one_line_per_epoch(capsys):
    x, y = _problem(n=32)
    model = _model()
    fit(model, _loader(x, y), _loader(x, y), optim.SGD(model.parameters(), lr=0.1), epochs=2)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("  ")[0] for line in lines] == ["epoch 1/2", "epoch 2/2"]
    assert "train loss" in lines[0] and "val loss" in lines[0] and "acc" in lines[0]


def test_fit_without_progress_does_not_import_the_notebook_bar(monkeypatch):
    # In a notebook without ipywidgets, importing tqdm.auto prints a warning: no bar, no import.
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    x, y = _problem(n=32)
    model = _model()
    history = fit(model, _loader(x, y), _loader(x, y), optim.SGD(model.parameters(), lr=0.1), epochs=1,
                  progress=False)
    assert len(history) == 1


def test_fit_on_a_device_moves_the_model_and_the_batches():
    x, y = _problem()
    histories, weights = [], []
    for device in ["cpu", "strict"]:
        model = _model()
        optimizer = optim.SGD(model.parameters(), lr=0.2, momentum=0.9)
        histories.append(fit(model, _loader(x, y), _loader(x, y), optimizer, epochs=2, device=device,
                             progress=False))
        assert all(p.device == minidl.device(device) for p in model.parameters())
        weights.append(_weights(model))
    for name in weights[0]:
        np.testing.assert_allclose(weights[1][name], weights[0][name], rtol=1e-5, atol=1e-6, err_msg=name)
    assert histories[1][-1]["val_acc"] == histories[0][-1]["val_acc"]


def test_predict_gives_classes_and_targets_in_order():
    x, y = _problem(n=30)
    model = _model()
    predictions, targets = predict(model, _loader(x, y, batch_size=7, shuffle=False))
    np.testing.assert_array_equal(targets, y)
    with minidl.no_grad():
        np.testing.assert_array_equal(predictions, model(minidl.tensor(x)).numpy().argmax(axis=1))


def test_fit_needs_an_optimizer():
    x, y = _problem(n=8)
    with pytest.raises(ValueError, match="fit: an optimizer is needed"):
        fit(_model(), _loader(x, y), epochs=1)


def _blow_up():
    """A model and an optimizer whose first step sends the weights to infinity."""
    model = _model()
    return model, optim.SGD(model.parameters(), lr=1e30)


def test_a_nan_or_infinite_loss_stops_fit_at_once():
    x, y = _problem()
    model, optimizer = _blow_up()
    history = []
    with np.errstate(all="ignore"), pytest.raises(TrainingDiverged) as error:
        fit(model, _loader(x, y, shuffle=False), _loader(x, y), optimizer, epochs=3, history=history,
            progress=False)
    # step 1 is finite and sends the weights to infinity; step 2's loss is the first that is not finite
    assert (error.value.epoch, error.value.step, error.value.steps) == (1, 2, len(_loader(x, y)))
    assert not np.isfinite(error.value.loss) and history == []
    assert str(error.value) == (f"training diverged: the loss is {error.value.loss} at epoch 1, step 2 of 6 "
                                "(learning rate 1e+30); try a smaller learning rate")


def test_train_one_epoch_alone_names_the_step():
    x, y = _problem()
    model, optimizer = _blow_up()
    with np.errstate(all="ignore"), pytest.raises(TrainingDiverged, match=r"at step 2 of 6 \(learning rate"):
        train_one_epoch(model, _loader(x, y, shuffle=False), optimizer, progress=False)


def test_a_nan_validation_loss_stops_fit_after_the_epoch():
    x, y = _problem(n=32)
    model = _model()

    def nan_in_eval(output, target):
        return F.cross_entropy(output, target) * (1.0 if model.training else float("nan"))

    with pytest.raises(TrainingDiverged, match="the validation loss is nan after epoch 1 "):
        fit(model, _loader(x, y), _loader(x, y), optim.SGD(model.parameters(), lr=0.1), loss=nan_in_eval,
            epochs=2, progress=False)


def test_without_a_device_fit_moves_nothing(monkeypatch):
    """A model placed before its optimizer and a loader that places its batches: one owner each."""
    x, y = _problem(n=32)
    model = _model()
    loaders = _loader(x, y), _loader(x, y)
    optimizer = optim.SGD(model.parameters(), lr=0.1)

    def no_moves(*args, **kwargs):
        raise AssertionError("fit moved a tensor or the model")
    monkeypatch.setattr(minidl.Tensor, "to", no_moves)
    monkeypatch.setattr(nn.Module, "to", no_moves)
    history = fit(model, *loaders, optimizer, epochs=1, progress=False)
    predict(model, loaders[1])
    assert len(history) == 1
