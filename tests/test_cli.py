"""The command line, run in-process with ``main([...])``: errors are one line and exit code 2,
training writes its files and resumes bit for bit, the other commands print what they promise."""
import json

import numpy as np
import pytest

import minidl
import minidl.train
from minidl import cli, nn
from minidl.train import command
from minidl.models import registry


@pytest.fixture
def tiny_model(monkeypatch):
    """A model that trains on the synthetic 28x28 shapes in milliseconds, registered for the test only."""
    def tiny_mlp(num_classes=10):
        return nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 32), nn.ReLU(), nn.Dropout(0.2),
                             nn.Linear(32, num_classes))
    monkeypatch.setitem(registry._MODELS, "tiny_mlp", tiny_mlp)
    return "tiny_mlp"


def _train(out, *flags):
    return cli.main(["train", "--model", "tiny_mlp", "--dataset", "synthetic", "--epochs", "2",
                     "--batch-size", "50", "--lr", "0.05", "--quiet", "--out", str(out), *flags])


def _usage_error(capsys, argv):
    """Run ``argv``, expect exit code 2; return the error line (after checking there is no traceback)."""
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert lines[0].startswith("usage: python -m minidl") and len(lines) == 2, err
    return lines[1]


# --------------------------------------------------------------------------- #
# errors
# --------------------------------------------------------------------------- #
def test_unknown_model_lists_the_valid_ones(capsys):
    line = _usage_error(capsys, ["train", "--model", "lenet"])
    assert "unknown model 'lenet' (did you mean 'lenet5'?)" in line
    assert "valid models: " in line and "mnist_convnet" in line and "vgg16" in line


def test_unknown_dataset_lists_the_valid_ones(capsys):
    line = _usage_error(capsys, ["train", "--dataset", "fashion_mnist"])
    assert "unknown dataset 'fashion_mnist' (did you mean 'fashion-mnist'?)" in line
    assert "valid datasets: cifar10, cifar100, digits, fashion-mnist" in line


def test_unknown_device(capsys):
    line = _usage_error(capsys, ["train", "--device", "tpu"])
    assert "unknown device 'tpu'" in line and line.endswith("valid devices: cpu, cuda, cuda:N")


@pytest.mark.skipif(minidl.cuda.is_available(), reason="a GPU answers here")
def test_cuda_without_a_gpu(capsys):
    assert _usage_error(capsys, ["train", "--device", "cuda"]).endswith("error: no CUDA device is available")


def test_misspelt_flag(capsys):
    assert "unrecognized arguments: --epohcs" in _usage_error(capsys, ["train", "--epohcs", "3"])


@pytest.mark.parametrize("argv, message", [
    (["train", "--schedule", "step:five:0.5"], "bad schedule 'step:five:0.5'"),
    (["train", "--schedule", "linear"], "bad schedule 'linear'"),
    (["train", "--optimizer", "sgdm"], "invalid choice: 'sgdm'"),
    (["train", "--epochs", "ten"], "expected a positive integer, got 'ten'"),
    (["train", "--batch-size", "0"], "expected a positive integer, got '0'"),
    (["summary", "resnet", "--input", "3,224,224"], "unknown model 'resnet'"),
    (["summary", "lenet5", "--input", "1x28x28"], "expected positive sizes separated by commas"),
    (["gradcheck", "conv3d"], "unknown op 'conv3d'"),
    (["fly"], "invalid choice: 'fly'"),
])
def test_other_usage_errors(capsys, argv, message):
    assert message in _usage_error(capsys, argv)


def test_a_model_that_cannot_read_the_images_says_so(capsys, tmp_path, monkeypatch):
    monkeypatch.setitem(registry._MODELS, "wide_input", lambda num_classes=10: nn.Sequential(
        nn.Flatten(), nn.Linear(32 * 32, num_classes)))
    line = _usage_error(capsys, ["train", "--model", "wide_input", "--dataset", "synthetic",
                                 "--out", str(tmp_path)])
    assert "model wide_input cannot read the synthetic images of shape (1, 28, 28)" in line


# --------------------------------------------------------------------------- #
# train
# --------------------------------------------------------------------------- #
def test_train_writes_the_run(tmp_path, capsys, tiny_model):
    _train(tmp_path)
    out = capsys.readouterr().out
    assert "dataset synthetic: 2,000 training / 500 test images 1x28x28, 4 classes" in out
    assert "test accuracy" in out
    history = json.loads((tmp_path / "history.json").read_text())
    assert [r["epoch"] for r in history] == [1, 2]
    assert history[-1]["val_acc"] > 0.4         # four classes: chance is 0.25
    assert json.loads((tmp_path / "config.json").read_text())["model"] == "tiny_mlp"
    for name in ("curves.png", "confusion.png", "misclassified.png"):
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"
    checkpoint = minidl.load(tmp_path / "checkpoint.npz")
    assert checkpoint["epoch"] == 2 and checkpoint["history"] == history


def test_resume_continues_an_interrupted_run_bit_for_bit(tmp_path, tiny_model, monkeypatch):
    monkeypatch.setattr(command, "write_figures", lambda *args: [])      # not what this test is about
    _train(tmp_path / "whole")

    class KilledAfterTheFirstCheckpoint(minidl.train.Checkpoint):
        def __call__(self, state):
            super().__call__(state)
            if state.epoch == 1:
                raise KeyboardInterrupt("killed")

    with monkeypatch.context() as patch:
        patch.setattr(command, "Checkpoint", KilledAfterTheFirstCheckpoint)
        with pytest.raises(KeyboardInterrupt):
            _train(tmp_path / "split")
    assert minidl.load(tmp_path / "split" / "checkpoint.npz")["epoch"] == 1
    minidl.manual_seed(99)
    _train(tmp_path / "split", "--resume")
    whole = minidl.load(tmp_path / "whole" / "checkpoint.npz")
    split = minidl.load(tmp_path / "split" / "checkpoint.npz")
    assert split["epoch"] == 2
    for name, value in whole["model"].items():
        assert np.array_equal(split["model"][name], value), name
    assert split["random"] == whole["random"]


def test_resume_without_a_checkpoint_starts_afresh(tmp_path, capsys, tiny_model, monkeypatch):
    monkeypatch.setattr(command, "write_figures", lambda *args: [])
    _train(tmp_path, "--epochs", "1", "--resume")
    assert "no checkpoint at" in capsys.readouterr().out
    assert minidl.load(tmp_path / "checkpoint.npz")["epoch"] == 1


# --------------------------------------------------------------------------- #
# models, summary, gradcheck, bench, demo
# --------------------------------------------------------------------------- #
def _zoo(capsys, *patterns):
    cli.main(["models", *patterns])
    return dict(line.split() for line in capsys.readouterr().out.splitlines()[1:])


def test_models_counts_parameters_as_the_lectures_do(capsys):
    rows = _zoo(capsys, "lenet5*", "mnist_convnet", "vgg16")
    assert sorted(rows) == ["lenet5", "lenet5_original", "mnist_convnet", "vgg16"]
    assert rows["mnist_convnet"] == "536,710"      # lab 03: 500 + 45,100 + 490,100 + 1,010
    assert rows["lenet5_original"] == "60,840"     # LeCun 1998: 60,000 trainable + 840 fixed RBF centres
    assert rows["vgg16"] == "138,357,544"          # Simonyan & Zisserman: 138M (torchvision's count)


@pytest.mark.slow
def test_models_lists_the_whole_zoo(capsys):
    assert set(_zoo(capsys)) == set(minidl.models.list_models())


def test_models_with_a_pattern_that_matches_nothing(capsys):
    assert "no model matches 'lenet7'" in _usage_error(capsys, ["models", "lenet7"])


def test_counting_leaves_weight_initialization_random():
    with pytest.raises(KeyError), cli._no_random_draws():
        assert not nn.Linear(20, 20).weight.numpy().any()
        raise KeyError("a model that fails to build")
    assert nn.Linear(20, 20).weight.numpy().all()


def test_summary_prints_the_layers_and_totals(capsys):
    cli.main(["summary", "lenet5", "--input", "1,28,28"])
    out = capsys.readouterr().out
    assert "61,706" in out and "(6, 28, 28)" in out


def test_gradcheck_reports_each_op(capsys):
    assert cli.main(["gradcheck", "linear", "softmax", "cross_entropy"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[:2] for line in lines] == [["linear", "ok"], ["softmax", "ok"],
                                                    ["cross_entropy", "ok"]]
    assert all(float(line.split()[-1]) < 1e-6 for line in lines)


def test_gradcheck_catches_a_wrong_backward(capsys, monkeypatch):
    class Double(minidl.Function):
        def forward(self, x):
            return 2 * x

        def backward(self, gy):
            return 3 * gy      # wrong: should be 2 gy

    monkeypatch.setattr(cli, "_gradcheck_cases", lambda: {"double": (lambda x: Double()(x), [(3,)])})
    assert cli.main(["gradcheck", "double"]) == 1
    line = capsys.readouterr().out.strip()
    assert line.split()[:2] == ["double", "FAILED"]
    assert float(line.split()[-1]) > 0.1      # a third of the numerical gradient, not rounding noise


def test_bench_without_the_benchmarks_folder(capsys, monkeypatch, tmp_path):
    monkeypatch.setattr(cli, "BENCHMARK_SCRIPT", tmp_path / "benchmarks" / "run.py")
    assert "the benchmarks are not installed" in _usage_error(capsys, ["bench", "--quick"])


def test_bench_passes_its_arguments_through(capfd):
    if not cli.BENCHMARK_SCRIPT.exists():
        pytest.skip("benchmarks/ is not beside the package")
    assert cli.main(["bench", "--help"]) == 0
    assert "--compare" in capfd.readouterr().out


def test_demo_still_runs(capsys):
    cli.main(["demo", "--steps", "20"])
    assert capsys.readouterr().out.startswith("step    0  loss")


@pytest.mark.parametrize("flags, threads", [((), 1), (("--threads", "2"), 2)])
def test_threads_limits_blas_during_the_run_only(tmp_path, tiny_model, monkeypatch, flags, threads):
    threadpoolctl = pytest.importorskip("threadpoolctl")

    def blas_threads():
        return [pool["num_threads"] for pool in threadpoolctl.threadpool_info() if pool["user_api"] == "blas"]

    before, during = blas_threads(), []
    monkeypatch.setattr(command, "write_figures", lambda *args: during.extend(blas_threads()) or [])
    _train(tmp_path, "--epochs", "1", *flags)
    assert during and set(during) == {threads}
    assert blas_threads() == before


def test_train_help_states_the_data_parallel_rules(capsys):
    with pytest.raises(SystemExit):
        cli.main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--distributed" in text and "the learning rate is not scaled" in text
    assert "batch-norm statistics are per rank" in text and "rank 0 alone prints" in text
