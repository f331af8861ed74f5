"""The command line, run in-process with ``main([...])``: errors are one line and exit code 2,
training writes its files and resumes bit for bit, the other commands print what they promise."""
import json
import os
import re
import stat
import sys
from pathlib import Path

import numpy as np
import pytest

import minidl
import minidl.train
from minidl import cli, nn
from minidl.cli import gradcheck as cli_gradcheck
from minidl.cli import train as cli_train
from minidl.models import registry

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def tiny_model(monkeypatch):
    """A model that trains on the synthetic 28x28 shapes in milliseconds, registered for the test only."""
    def tiny_mlp(num_classes=10):
        return nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 32), nn.ReLU(), nn.Dropout(0.2),
                             nn.Linear(32, num_classes))
    monkeypatch.setitem(registry._MODELS, "tiny_mlp", tiny_mlp)
    return "tiny_mlp"


@pytest.fixture
def no_figures(monkeypatch):
    """Training without the figures, for the tests that are not about them."""
    monkeypatch.setattr(cli_train, "write_figures", lambda *args: [])


def _train(out, *flags):
    return cli.main(["train", "--model", "tiny_mlp", "--dataset", "synthetic", "--epochs", "2",
                     "--batch-size", "50", "--lr", "0.05", "--quiet", "--out", str(out), *flags])


def _resume(out, *flags):
    return cli.main(["train", "--quiet", "--out", str(out), "--resume", *flags])


def _usage_error(capsys, argv):
    """Run ``argv``, expect exit code 2; return the error line (after checking there is no traceback)."""
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert lines[0].startswith("usage: python -m minidl") and len(lines) == 2, err
    assert lines[1].startswith("python -m minidl") and ": error: " in lines[1]
    return lines[1]


def _error_line(capsys):
    """The one line a failed command wrote to stderr."""
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


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
    (["train", "--lr", "-1"], "argument --lr: expected a positive number, got '-1'"),
    (["train", "--lr", "0"], "argument --lr: expected a positive number, got '0'"),
    (["train", "--lr", "nan"], "argument --lr: expected a positive number, got 'nan'"),
    (["train", "--lr", "inf"], "argument --lr: expected a positive number, got 'inf'"),
    (["train", "--momentum", "-0.9"], "argument --momentum: expected a non-negative number, got '-0.9'"),
    (["train", "--weight-decay", "nan"], "argument --weight-decay: expected a non-negative number"),
    (["train", "--image-size", "32"], "--image-size resizes the images of --dataset image-folder only"),
    (["summary", "resnet", "--input", "3,224,224"], "unknown model 'resnet'"),
    (["summary", "lenet5", "--input", "1x28x28"], "expected positive sizes separated by commas"),
    (["summary", "resnet18", "--input", "3,224"],
     "model resnet18 cannot read an input of shape 3,224 (it was designed for 3,224,224): "),
    (["summary", "lenet5", "--input", "3,32,32"],
     "model lenet5 cannot read an input of shape 3,32,32 (it was designed for 1,28,28): "),
    (["summary", "inception_v3", "--input", "3,32,32"],
     "model inception_v3 cannot read an input of shape 3,32,32 (it was designed for 3,299,299): "),
    (["summary", "kim_cnn"], "model kim_cnn takes no images, so it has no input size to assume"),
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


def test_a_missing_dataset_gets_its_whole_message_on_one_line(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("MINIDL_DATA", str(tmp_path / "data"))
    try:
        minidl.data.get_dataset("cifar10", root=tmp_path)
        pytest.skip("CIFAR-10 is installed here")
    except minidl.data.DatasetError:
        pass
    line = _usage_error(capsys, ["train", "--dataset", "cifar10", "--data-dir", str(tmp_path),
                                 "--out", str(tmp_path / "out")])
    assert "not found. Searched: " in line and str(tmp_path / "cifar10") in line
    assert "or set MINIDL_DATA to a directory that holds it." in line       # the end of the message


def test_out_that_is_a_file(capsys, tmp_path):
    (tmp_path / "run").write_text("not a folder")
    line = _usage_error(capsys, ["train", "--out", str(tmp_path / "run")])
    assert line.endswith(f"--out {tmp_path / 'run'}: {tmp_path / 'run'} is a file, not a folder")
    line = _usage_error(capsys, ["train", "--out", str(tmp_path / "run" / "a" / "b")])
    assert line.endswith(f"{tmp_path / 'run'} is a file, not a folder")


def test_out_where_writing_fails(capsys, tmp_path, monkeypatch):
    def refused(*args, **kwargs):
        raise PermissionError(13, "Permission denied")
    monkeypatch.setattr(cli_train.tempfile, "TemporaryFile", refused)
    line = _usage_error(capsys, ["train", "--out", str(tmp_path / "run")])
    assert line.endswith(f"--out {tmp_path / 'run'}: cannot write there (Permission denied)")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root may write anywhere")
def test_out_that_cannot_be_written(capsys, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        line = _usage_error(capsys, ["train", "--out", str(locked / "run")])
    finally:
        locked.chmod(0o700)
    assert f"--out {locked / 'run'}: cannot write there (Permission denied)" in line


def _no_loading(*args, **kwargs):
    raise AssertionError("the data was loaded before the flags were checked")


def test_the_out_folder_is_checked_before_the_data_loads(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(minidl.train.recipes, "load_datasets", _no_loading)
    (tmp_path / "run").write_text("")
    _usage_error(capsys, ["train", "--out", str(tmp_path / "run")])


# --------------------------------------------------------------------------- #
# train
# --------------------------------------------------------------------------- #
def test_train_writes_the_run(tmp_path, capsys, tiny_model):
    assert _train(tmp_path) == 0
    out = capsys.readouterr().out
    assert "dataset synthetic: 2,000 training / 500 test images 1x28x28, 4 classes" in out
    assert "for 2 epochs" in out and "test accuracy" in out and "after 2 epochs;" in out
    history = json.loads((tmp_path / "history.json").read_text())
    assert [r["epoch"] for r in history] == [1, 2]
    assert history[-1]["val_acc"] > 0.4         # four classes: chance is 0.25
    for name in ("curves.png", "confusion.png", "misclassified.png"):
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"
    checkpoint = minidl.load(tmp_path / "checkpoint.npz")
    assert checkpoint["epoch"] == 2 and checkpoint["history"] == history


def test_config_records_the_settings_that_ran(tmp_path, tiny_model, no_figures):
    _train(tmp_path, "--epochs", "1")
    config = json.loads((tmp_path / "config.json").read_text())
    assert {key: config[key] for key in ("model", "dataset", "epochs", "batch_size", "lr", "schedule")} == {
        "model": "tiny_mlp", "dataset": "synthetic", "epochs": 1, "batch_size": 50, "lr": 0.05,
        "schedule": "cosine"}
    assert config["out"] == str(tmp_path) and config["device"] == "cpu"
    assert config["threads"] is not None and config["resumes"] == []


def test_one_epoch_is_singular(tmp_path, capsys, tiny_model, no_figures):
    _train(tmp_path, "--epochs", "1")
    out = capsys.readouterr().out
    assert "for 1 epoch\n" in out and "after 1 epoch;" in out and "1 epochs" not in out


def test_the_files_of_a_run_share_their_permissions(tmp_path, tiny_model, no_figures):
    _train(tmp_path, "--epochs", "1")
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()}
    assert set(modes) == {"checkpoint.npz", "history.json", "config.json"}
    assert len(set(modes.values())) == 1, modes


def test_resume_continues_an_interrupted_run_bit_for_bit(tmp_path, capsys, tiny_model, no_figures,
                                                          monkeypatch):
    _train(tmp_path / "whole")

    class KilledAfterTheFirstCheckpoint(minidl.train.Checkpoint):
        def __call__(self, state):
            super().__call__(state)
            if state.epoch == 1:
                raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(cli_train, "Checkpoint", KilledAfterTheFirstCheckpoint)
        capsys.readouterr()
        assert _train(tmp_path / "split") == 130
    split_dir = tmp_path / "split"
    assert _error_line(capsys) == (f"python -m minidl train: interrupted: {split_dir / 'checkpoint.npz'} "
                                   f"holds epoch 1 of 2; go on with: python -m minidl train "
                                   f"--out {split_dir} --resume")
    assert minidl.load(split_dir / "checkpoint.npz")["epoch"] == 1
    minidl.manual_seed(99)
    assert _resume(split_dir) == 0              # the settings come from the run's config.json
    whole = minidl.load(tmp_path / "whole" / "checkpoint.npz")
    split = minidl.load(split_dir / "checkpoint.npz")
    assert split["epoch"] == 2
    for name, value in whole["model"].items():
        assert np.array_equal(split["model"][name], value), name
    assert split["random"] == whole["random"]


def test_ctrl_c_before_the_first_checkpoint(tmp_path, capsys, tiny_model, no_figures, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(cli_train, "fit", interrupted)
    assert _train(tmp_path) == 130
    assert _error_line(capsys) == (f"python -m minidl train: interrupted: no epoch was finished, so "
                                   f"nothing was saved in {tmp_path}")


def test_resume_without_a_checkpoint_starts_afresh(tmp_path, capsys, tiny_model, no_figures):
    _train(tmp_path, "--epochs", "1", "--resume")
    assert "no checkpoint at" in capsys.readouterr().out
    assert minidl.load(tmp_path / "checkpoint.npz")["epoch"] == 1


def test_config_keeps_the_first_settings_and_records_each_resume(tmp_path, tiny_model, no_figures):
    _train(tmp_path, "--epochs", "1", "--schedule", "step:1:0.5")
    first = json.loads((tmp_path / "config.json").read_text())
    _resume(tmp_path, "--epochs", "2")
    _resume(tmp_path, "--epochs", "3")
    config = json.loads((tmp_path / "config.json").read_text())
    assert {k: v for k, v in config.items() if k != "resumes"} == {k: v for k, v in first.items()
                                                                   if k != "resumes"}
    assert [(r["after_epoch"], r["epochs"]) for r in config["resumes"]] == [(1, 2), (2, 3)]
    # the step schedule goes on where it was: 0.05 halved after every epoch
    history = json.loads((tmp_path / "history.json").read_text())
    assert [r["lr"] for r in history] == pytest.approx([0.05, 0.025, 0.0125])


def test_resume_keeps_the_total_of_the_last_invocation(tmp_path, tiny_model, no_figures, monkeypatch):
    _train(tmp_path, "--epochs", "1", "--schedule", "none")
    save = minidl.train.Checkpoint.__call__

    def killed_after_epoch_2(self, state):
        save(self, state)
        if state.epoch == 2:
            raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(cli_train.Checkpoint, "__call__", killed_after_epoch_2)
        assert _resume(tmp_path, "--epochs", "3") == 130
    assert _resume(tmp_path) == 0
    assert minidl.load(tmp_path / "checkpoint.npz")["epoch"] == 3


def test_resume_of_a_finished_run_trains_nothing(tmp_path, capsys, tiny_model, no_figures):
    _train(tmp_path, "--epochs", "1")
    capsys.readouterr()
    assert _resume(tmp_path) == 0
    out = capsys.readouterr().out
    assert "checkpoint.npz already holds 1 epoch, the total asked for: nothing to train" in out
    assert minidl.load(tmp_path / "checkpoint.npz")["epoch"] == 1


def test_a_cosine_schedule_is_not_stretched(tmp_path, capsys, tiny_model, no_figures):
    _train(tmp_path, "--epochs", "1")
    line = _usage_error(capsys, ["train", "--out", str(tmp_path), "--resume", "--epochs", "3"])
    assert "--epochs 3: the cosine schedule of the run in" in line
    assert "spans 1 epoch and reaches a learning rate of 0 at the last one" in line


def test_resume_refuses_a_total_already_passed(tmp_path, capsys, tiny_model, no_figures):
    _train(tmp_path, "--schedule", "none")
    line = _usage_error(capsys, ["train", "--out", str(tmp_path), "--resume", "--epochs", "1"])
    assert "--epochs 1: --epochs is the total number of epochs" in line and "already holds 2" in line


@pytest.mark.parametrize("flags, named", [
    (["--model", "lenet5"], "--model lenet5 (the run's: --model tiny_mlp)"),
    (["--optimizer", "adam"], "--optimizer adam (the run's: --optimizer sgd)"),
    (["--dataset", "digits"], "--dataset digits (the run's: --dataset synthetic)"),
    (["--schedule", "step:1:0.5"], "--schedule step:1:0.5 (the run's: --schedule cosine)"),
    (["--lr", "0.1", "--no-augment"], "--lr 0.1 (the run's: --lr 0.05); --no-augment (the run's: --augment)"),
])
def test_resume_refuses_flags_that_differ_from_the_run(tmp_path, capsys, tiny_model, no_figures, flags,
                                                       named, monkeypatch):
    _train(tmp_path, "--epochs", "1")
    monkeypatch.setattr(minidl.train.recipes, "load_datasets", _no_loading)     # refused before any data
    line = _usage_error(capsys, ["train", "--out", str(tmp_path), "--resume", "--epochs", "1", *flags])
    assert f"--resume: the run in {tmp_path} has other settings: {named}; " in line


def test_resume_accepts_flags_equal_to_the_run(tmp_path, capsys, tiny_model, no_figures):
    _train(tmp_path, "--epochs", "1", "--schedule", "step:1:0.5")
    assert _resume(tmp_path, "--model", "tiny_mlp", "--lr", "0.05", "--schedule", "step:01:0.50",
                   "--epochs", "2") == 0
    assert minidl.load(tmp_path / "checkpoint.npz")["epoch"] == 2


# what is wrong with an unreadable file is minidl.serialization's to say; the command says it on one line
@pytest.mark.parametrize("content, message", [
    (b"", ""),
    (b"model weights, honest\n", ""),
    ("truncated", ""),
    ("weights only", "holds no training state"),
])
def test_resume_from_a_file_that_is_no_checkpoint(tmp_path, capsys, tiny_model, no_figures, content, message):
    _train(tmp_path, "--epochs", "1")
    path = tmp_path / "checkpoint.npz"
    if content == "truncated":
        content = path.read_bytes()[:1000]
    elif content == "weights only":
        minidl.save(minidl.load(path)["model"], path)
        content = path.read_bytes()
    path.write_bytes(content)
    line = _usage_error(capsys, ["train", "--out", str(tmp_path), "--resume", "--epochs", "2"])
    assert f"--resume: cannot go on from {path}: " in line and message in line


def test_resume_from_a_checkpoint_of_another_model(tmp_path, capsys, tiny_model, no_figures):
    _train(tmp_path, "--epochs", "1", "--schedule", "none")
    config = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**config, "model": "lenet5"}))
    line = _usage_error(capsys, ["train", "--out", str(tmp_path), "--resume", "--epochs", "2"])
    assert f"--resume: {tmp_path / 'checkpoint.npz'} does not fit this run: " in line
    assert "missing keys: " in line


def test_resume_without_config_json(tmp_path, capsys, tiny_model, no_figures):
    _train(tmp_path, "--epochs", "1")
    (tmp_path / "config.json").unlink()
    line = _usage_error(capsys, ["train", "--out", str(tmp_path), "--resume", "--epochs", "2"])
    assert f"--resume: {tmp_path} has a checkpoint but no config.json" in line


@pytest.mark.parametrize("lr", ["1e6", "inf-like"])
def test_a_diverging_run_is_an_error_not_a_score(tmp_path, capsys, tiny_model, no_figures, lr):
    lr = "1e30" if lr == "inf-like" else lr
    assert _train(tmp_path, "--lr", lr) == 1
    captured = capsys.readouterr()
    assert "test accuracy" not in captured.out
    line = captured.err.strip()
    assert "\n" not in line and "Traceback" not in line
    assert re.match(r"python -m minidl train: error: training diverged: the loss is (nan|inf) at epoch 1, "
                    r"step \d+ of 40 \(learning rate 1e\+\d+\); try a smaller learning rate; no epoch was "
                    r"finished, so no checkpoint was written$", line), line


def test_the_main_job_with_a_learning_rate_of_20_diverges(tmp_path, capsys):
    assert cli.main(["train", "--lr", "20", "--quiet", "--out", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert "test accuracy" not in captured.out
    expected = (r"python -m minidl train: error: training diverged: the loss is (nan|inf) at epoch 1, "
                r"step \d+ of 63 \(learning rate 20\); try a smaller learning rate; no epoch was finished, "
                r"so no checkpoint was written\n")
    assert re.fullmatch(expected, captured.err), captured.err


def test_ctrl_c_in_any_command_is_one_line_and_exit_code_130(capsys, monkeypatch):
    def interrupted(args):
        raise KeyboardInterrupt
    monkeypatch.setattr(cli_gradcheck, "run", interrupted)
    assert cli.main(["gradcheck"]) == 130
    assert _error_line(capsys) == "python -m minidl gradcheck: interrupted: stopped by Ctrl-C"


def test_the_loaders_place_the_batches_and_fit_moves_nothing(tmp_path, tiny_model, no_figures, monkeypatch):
    seen = {}

    def fit(model, train_loader, test_loader, optimizer, scheduler, epochs, **options):
        seen.update(options, loaders=(train_loader.device, test_loader.device),
                    model=next(model.parameters()).device)
        return [{"epoch": 1, "val_acc": 1.0, "val_top5": 1.0, "val_loss": 0.0}]
    monkeypatch.setattr(cli_train, "fit", fit)
    _train(tmp_path, "--epochs", "1")
    assert "device" not in seen
    assert seen["loaders"] == (minidl.backend.device("cpu"),) * 2 and seen["model"] == seen["loaders"][0]


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


def test_summary_prints_the_layers_and_totals(capsys):
    cli.main(["summary", "lenet5", "--input", "1,28,28"])
    out = capsys.readouterr().out
    assert "61,706" in out and "(6, 28, 28)" in out


@pytest.mark.parametrize("model, first_output", [("lenet5", "(6, 28, 28)"), ("resnet20", "(16, 32, 32)"),
                                                 ("alexnet_original", "(96, 55, 55)")])
def test_summary_without_input_uses_the_models_own_size(capsys, model, first_output):
    cli.main(["summary", model])
    assert first_output in capsys.readouterr().out


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

    monkeypatch.setattr(cli_gradcheck, "CASES", {"double": (lambda x: Double()(x), [(3,)])})
    assert cli.main(["gradcheck", "double"]) == 1
    line = capsys.readouterr().out.strip()
    assert line.split()[:2] == ["double", "FAILED"]
    assert float(line.split()[-1]) > 0.1      # a third of the numerical gradient, not rounding noise


def test_building_the_parser_builds_no_tensor(monkeypatch):
    def no_tensors(self, *args, **kwargs):
        raise AssertionError("a Tensor was built while building the parser")
    monkeypatch.setattr(minidl.Tensor, "__init__", no_tensors)
    cli.build_parser()


def test_each_module_of_the_cli_package_is_a_command():
    assert cli.command_names() == ["bench", "demo", "export_torchvision", "gradcheck", "models", "summary",
                                   "train"]


def test_the_library_never_imports_the_command_line():
    for path in (REPO / "minidl").rglob("*.py"):
        if path.parent.name == "cli" or path.name == "__main__.py":
            continue
        text = path.read_text()
        assert not re.search(r"minidl\.cli|from \.+cli\b|from \.+ import cli\b", text), path


def test_bench_outside_a_clone(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    line = _usage_error(capsys, ["bench", "--quick"])
    assert f"no benchmarks/run.py in {tmp_path}" in line
    assert "run this command from the root of a clone" in line


def test_bench_passes_its_arguments_through(capfd, monkeypatch):
    monkeypatch.chdir(REPO)
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
    monkeypatch.setattr(cli_train, "write_figures", lambda *args: during.extend(blas_threads()) or [])
    _train(tmp_path, "--epochs", "1", *flags)
    assert during and set(during) == {threads}
    assert blas_threads() == before


def test_train_help_states_the_data_parallel_rules(capsys):
    with pytest.raises(SystemExit):
        cli.main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--distributed" in text and "the learning rate is not scaled" in text
    assert "batch-norm statistics are per rank" in text and "rank 0 alone prints" in text


# --------------------------------------------------------------------------- #
# photos of any size: Dogs vs Cats as the practice does it, and fine-tuning
# --------------------------------------------------------------------------- #
def _photos(root, layout, per_class=8):
    """JPEGs of mixed sizes and aspect ratios, cats reddish and dogs greenish, in Kaggle's flat layout
    (root/cat.0.jpg) or in class folders (root/cat/0.jpg)."""
    from PIL import Image
    rng = np.random.default_rng(0)
    for i in range(per_class):
        for label, name in enumerate(["cat", "dog"]):
            h, w = rng.integers(12, 40, size=2)
            pixels = rng.integers(0, 100, size=(h, w, 3)).astype(np.uint8)
            pixels[..., label] += 150
            path = root / f"{name}.{i}.jpg" if layout == "flat" else root / name / f"{i}.jpg"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(pixels).save(path)
    return root


@pytest.fixture
def tiny_cnn(monkeypatch):
    """A convolutional model for colour photos of any size, with batch norm in its body."""
    def tiny_cnn(num_classes=10):
        return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                             nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, num_classes))
    monkeypatch.setitem(registry._MODELS, "tiny_cnn", tiny_cnn)
    return "tiny_cnn"


def _train_photos(folder, out, *flags):
    return cli.main(["train", "--dataset", "image-folder", "--data-dir", str(folder), "--model", "tiny_cnn",
                     "--image-size", "16", "--epochs", "2", "--batch-size", "4", "--quiet", "--out", str(out),
                     *flags])


@pytest.mark.parametrize("layout", ["flat", "folders"])
def test_train_on_photos_of_mixed_sizes(tmp_path, capsys, tiny_cnn, layout):
    folder = _photos(tmp_path / "photos", layout)
    assert _train_photos(folder, tmp_path / "run") == 0
    out = capsys.readouterr().out
    # no val/ folder: 10% of each class drawn from the training photos
    assert "14 training / 2 validation photos" in out and "cropped to 16x16, 2 classes (cat, dog)" in out
    assert (tmp_path / "run" / "misclassified.png").exists()


def test_the_photos_get_the_transforms_of_the_practice(tmp_path, monkeypatch):
    from minidl.data import presets
    from minidl.train import recipes
    made = []
    for name in ("photo_train_transform", "photo_eval_transform"):
        original = getattr(presets, name)
        monkeypatch.setattr(presets, name,
                            lambda *a, _f=original, _n=name, **k: made.append(_n) or _f(*a, **k))
    train, val, _ = recipes.load_photo_folder(_photos(tmp_path, "flat"), 16, augment=True)
    assert sorted(made) == ["photo_eval_transform", "photo_train_transform"]
    assert train[0][0].shape == val[0][0].shape == (3, 16, 16)
    assert abs(np.mean([val[i][0].mean() for i in range(len(val))])) < 1     # normalized by their own stats


def _weights(tmp_path, num_classes=5):
    """A weights file of tiny_cnn trained for another number of classes."""
    path = tmp_path / "weights.npz"
    minidl.save(registry.get("tiny_cnn", num_classes=num_classes).state_dict(), path)
    return path


def test_weights_that_do_not_exist_or_fit_are_one_error_line(tmp_path, capsys, tiny_cnn):
    folder = _photos(tmp_path / "photos", "flat")
    line = _usage_error(capsys, ["train", "--dataset", "image-folder", "--data-dir", str(folder), "--model",
                                 "tiny_cnn", "--image-size", "16", "--weights", str(tmp_path / "none.npz"),
                                 "--out", str(tmp_path)])
    assert "--weights" in line and "no such file" in line
    minidl.save({"w": np.zeros(3, np.float32)}, tmp_path / "other.npz")
    line = _usage_error(capsys, ["train", "--dataset", "image-folder", "--data-dir", str(folder), "--model",
                                 "tiny_cnn", "--image-size", "16", "--weights", str(tmp_path / "other.npz"),
                                 "--out", str(tmp_path)])
    assert "weights do not fit" in line


def test_freeze_trains_the_new_head_only(tmp_path, capsys, tiny_cnn, no_figures, monkeypatch):
    folder = _photos(tmp_path / "photos", "flat")
    weights = _weights(tmp_path)
    given = []
    original = cli_train.recipes.make_optimizer
    monkeypatch.setattr(cli_train.recipes, "make_optimizer", lambda name, ps, *a: given.append(list(ps))
                        or original(name, given[-1], *a))
    assert _train_photos(folder, tmp_path / "run", "--weights", str(weights), "--freeze") == 0
    out = capsys.readouterr().out
    assert "tiny_cnn: re-initialized 5 for 2 outputs" in out and "training 5 only (10 parameters)" in out
    assert [tuple(p.shape) for p in given[0]] == [(2, 4), (2,)]
    before, after = minidl.load(weights), minidl.load(tmp_path / "run" / "checkpoint.npz")["model"]
    for name in before:
        if not name.startswith("5."):       # the body, batch norm's running statistics included
            np.testing.assert_array_equal(after[name], before[name], err_msg=name)


def test_cached_features_are_computed_once_and_reused(tmp_path, capsys, tiny_cnn, no_figures):
    folder = _photos(tmp_path / "photos", "flat")
    weights = _weights(tmp_path)
    flags = ["--weights", str(weights), "--freeze", "--cache-features",
             "--cache-dir", str(tmp_path / "cache")]
    assert _train_photos(folder, tmp_path / "first", *flags) == 0
    first = capsys.readouterr().out
    assert first.count("computed in") == 2 and "training features 14 x 4" in first
    assert _train_photos(folder, tmp_path / "second", *flags) == 0
    second = capsys.readouterr().out
    assert second.count("read from") == 2 and "computed in" not in second
    runs = [minidl.load(tmp_path / run / "checkpoint.npz") for run in ("first", "second")]
    assert runs[0]["history"][-1]["val_loss"] == runs[1]["history"][-1]["val_loss"]
    for name, value in runs[0]["model"].items():
        np.testing.assert_array_equal(runs[1]["model"][name], value, err_msg=name)
    assert len(list((tmp_path / "cache").iterdir())) == 2
    assert json.loads((tmp_path / "first" / "config.json").read_text())["augment"] is False


@pytest.mark.parametrize("flags, message", [
    (["--cache-features"], "--cache-features needs --freeze"),
    (["--freeze", "--cache-features", "--augment"], "cannot draw new random crops every epoch"),
    (["--model", "tiny_cnn"], "model tiny_cnn has no input size of its own: give --image-size N"),
])
def test_photo_flags_refuse_what_they_cannot_do(tmp_path, capsys, tiny_cnn, flags, message):
    line = _usage_error(capsys, ["train", "--dataset", "image-folder", "--out", str(tmp_path), *flags])
    assert message in line


def test_train_help_says_cached_features_are_not_augmented(capsys):
    with pytest.raises(SystemExit):
        cli.main(["train", "--help"])
    assert "no random augmentation in this mode" in " ".join(capsys.readouterr().out.split())


def test_export_torchvision_without_torchvision_says_what_to_do(capsys, monkeypatch, tmp_path):
    # as if both were absent, whether or not they are: torch is imported first
    monkeypatch.setitem(sys.modules, "torch", None)
    monkeypatch.setitem(sys.modules, "torchvision", None)
    line = _usage_error(capsys, ["export-torchvision", "resnet34", str(tmp_path / "r34.npz")])
    assert line == ("python -m minidl export-torchvision: error: export_torchvision needs torch and "
                    "torchvision (import of torch halted; None in sys.modules): pip install torch "
                    "torchvision, export there, and copy the .npz file here")
    assert not (tmp_path / "r34.npz").exists()


def test_export_torchvision_of_a_model_minidl_lacks(capsys, tmp_path):
    line = _usage_error(capsys, ["export-torchvision", "resnet35", str(tmp_path / "x.npz")])
    assert "unknown model 'resnet35'" in line


def test_a_fine_tuning_run_resumes_bit_for_bit(tmp_path, tiny_cnn, no_figures):
    folder = _photos(tmp_path / "photos", "flat")
    flags = ["--weights", str(_weights(tmp_path)), "--freeze", "--cache-features", "--schedule", "none",
             "--cache-dir", str(tmp_path / "cache")]
    assert _train_photos(folder, tmp_path / "whole", *flags) == 0
    assert _train_photos(folder, tmp_path / "split", *flags, "--epochs", "1") == 0
    assert cli.main(["train", "--data-dir", str(folder), "--quiet", "--out", str(tmp_path / "split"),
                     "--resume", "--epochs", "2", "--cache-dir", str(tmp_path / "cache")]) == 0
    whole, split = (minidl.load(tmp_path / run / "checkpoint.npz")["model"] for run in ("whole", "split"))
    for name, value in whole.items():
        np.testing.assert_array_equal(split[name], value, err_msg=name)
