"""Model directories: save/load round trip, eval mode, checks that refuse damaged, foreign and pickled files."""
import os
import re
import subprocess
import sys
import json
import pickle

import pytest
import torch

import treenets as tn
from _model_files import resum
from treenets.formats.model_dir import SUMS_FILE, WEIGHTS_FILE, read_model_dir, write_model_dir
from treenets.models import UnknownModelError, known_models

SST = ["(3 (2 The) (4 (3 (2 movie) (4 rocks)) (2 .)))", "(1 (2 A) (1 (1 dull) (2 (2 -LRB-) (2 film))))"]


def sentiment_model(**kwargs):
    trees = [tn.Tree.from_brackets(s) for s in SST]
    vocab = tn.Vocab.build((t.words for t in trees), lower=True, normalize="ptb")
    torch.manual_seed(0)
    return tn.SentimentModel(vocab, 8, 6, cell_options={"leaf_input_only": True}, **kwargs), trees


def relatedness_model():
    trees = [tn.Tree.from_parents(["a", "dog", "barks"], [2, 3, 0]), tn.Tree.from_parents(["cats", "sleep"], [2, 0])]
    torch.manual_seed(0)
    return tn.RelatednessModel(tn.Vocab.build(t.words for t in trees), 6, 5, 4), trees


def test_sentiment_round_trip_gives_the_same_predictions(tmp_path):
    model, trees = sentiment_model()
    model.save(tmp_path / "m", metadata={"seed": 3, "dev": {"root_acc": 50.0}})
    loaded = tn.load(tmp_path / "m")
    assert not loaded.training and isinstance(loaded, tn.SentimentModel)
    assert loaded.config == model.config and loaded.metadata == {"seed": 3, "dev": {"root_acc": 50.0}}
    assert loaded.vocab.itos == model.vocab.itos and loaded.vocab.lower and loaded.vocab.normalize == "ptb"
    assert loaded.vocab["-LRB-"] == loaded.vocab["("] != loaded.vocab.unk_index
    classes, probs = model.predict_batch(model.batch(trees))
    classes2, probs2 = loaded.predict_batch(loaded.batch(trees))
    assert torch.equal(classes, classes2) and torch.equal(probs, probs2)
    assert loaded.name == str(tmp_path / "m")


def test_loaded_model_is_in_eval_mode_and_deterministic(tmp_path):
    model, trees = sentiment_model(dropout=0.9)
    model.save(tmp_path / "m")
    loaded = tn.load(tmp_path / "m")
    assert not loaded.training and not any(m.training for m in loaded.modules())
    batch = loaded.batch(trees)
    with torch.no_grad():
        runs = [loaded(batch) for _ in range(3)]  # dropout would make these differ
    assert torch.equal(runs[0], runs[1]) and torch.equal(runs[1], runs[2])


def test_relatedness_round_trip(tmp_path):
    model, trees = relatedness_model()
    model.save(tmp_path / "r")
    loaded = tn.load(tmp_path / "r")
    assert isinstance(loaded, tn.RelatednessModel) and loaded.tree_kind == "dependency"
    left, right = model.batch(trees), model.batch(trees[::-1])
    assert torch.equal(model.predict_batch(left, right), loaded.predict_batch(loaded.batch(trees),
                                                                              loaded.batch(trees[::-1])))


def test_float16_embeddings_halve_the_file_and_load_as_float32(tmp_path):
    model, trees = sentiment_model()
    model.save(tmp_path / "f32")
    model.save(tmp_path / "f16", embedding_dtype="float16")
    files = read_model_dir(tmp_path / "f16")
    assert files.tensors["encoder.embedding.weight"].dtype == torch.float16
    loaded = tn.load(tmp_path / "f16")
    weight = loaded.encoder.embedding.weight
    assert weight.dtype == torch.float32
    torch.testing.assert_close(weight, model.encoder.embedding.weight.detach().half().float())
    with pytest.raises(ValueError, match="embedding_dtype"):
        model.save(tmp_path / "x", embedding_dtype="int8")


def test_label_names():
    assert sentiment_model()[0].labels == ["very negative", "negative", "neutral", "positive", "very positive"]
    vocab = tn.Vocab(["a"])
    binary = tn.SentimentModel(vocab, 4, 3, n_classes=2)
    assert binary.labels == binary.predicted_labels == ["negative", "positive"]
    paper = tn.SentimentModel(vocab, 4, 3, n_classes=3, masked_classes=(1,))
    assert paper.labels == ["negative", "neutral", "positive"] and paper.predicted_labels == ["negative", "positive"]
    with pytest.raises(ValueError, match="labels"):
        tn.SentimentModel(vocab, 4, 3, n_classes=2, labels=["bad"])


def test_tree_kind_follows_the_cell_and_can_be_set():
    vocab = tn.Vocab(["a"])
    assert tn.SentimentModel(vocab, 4, 3).config["tree"] == "constituency"
    assert tn.SentimentModel(vocab, 4, 3).config["binarize"] == "right"
    child_sum = tn.SentimentModel(vocab, 4, 3, cell="childsum")
    assert child_sum.tree_kind == "dependency" and child_sum.config["binarize"] is None
    assert tn.RelatednessModel(vocab, 4, 3, cell="nary", tree="constituency", binarize="left").config["binarize"] == "left"
    with pytest.raises(ValueError, match="tree must be one of"):
        tn.SentimentModel(vocab, 4, 3, tree="semantic")


# ------------------------------------------------------------------ refusals
@pytest.fixture
def saved(tmp_path):
    """``(model, folder)``: a small sentiment model saved as a model directory."""
    model, _ = sentiment_model()
    model.save(tmp_path / "m")
    return model, tmp_path / "m"


class _Exploit:
    """Unpickling this creates a file: the test checks that it never exists."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _resum(folder, name=WEIGHTS_FILE):
    resum(folder, name, SUMS_FILE)


def _write_config(folder, config):
    (folder / "config.json").write_text(json.dumps(config))
    _resum(folder, "config.json")


@pytest.mark.parametrize("resum", [False, True], ids=["sums-unchanged", "sums-updated"])
def test_a_pickle_in_place_of_the_weights_is_refused_and_never_run(saved, tmp_path, resum):
    model, folder = saved
    marker = tmp_path / "pwned"
    payload = pickle.dumps({"state_dict": model.state_dict(), "x": _Exploit(marker)})
    pickle.loads(pickle.dumps(_Exploit(tmp_path / "control")))  # the payload does run when unpickled
    assert (tmp_path / "control").exists()
    (folder / WEIGHTS_FILE).write_bytes(payload)
    if resum:
        _resum(folder)
    with pytest.raises(ValueError, match=WEIGHTS_FILE) as err:
        tn.load(folder)
    assert "pickle" in str(err.value)  # its header is read (and refused) before its bytes are summed
    assert not marker.exists()


def test_a_torch_save_file_in_place_of_the_weights_is_refused(saved):
    model, folder = saved
    torch.save(model.state_dict(), folder / WEIGHTS_FILE)
    _resum(folder)
    with pytest.raises(ValueError, match="not a safetensors file.*never unpickles"):
        tn.load(folder)


@pytest.mark.parametrize("name", [WEIGHTS_FILE, "vocab.txt"])
def test_a_flipped_byte_is_caught(saved, name):
    _, folder = saved
    data = bytearray((folder / name).read_bytes())
    data[len(data) // 2] ^= 0x01
    (folder / name).write_bytes(bytes(data))
    with pytest.raises(ValueError, match=f"{name} is damaged"):
        tn.load(folder)


@pytest.mark.parametrize("name", [WEIGHTS_FILE, "vocab.txt", "config.json", SUMS_FILE])
def test_a_truncated_file_names_the_file(saved, name):
    _, folder = saved
    data = (folder / name).read_bytes()
    (folder / name).write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=name):
        tn.load(folder)


def test_a_missing_file_is_named(saved):
    _, folder = saved
    (folder / "vocab.txt").unlink()
    with pytest.raises(FileNotFoundError, match="vocab.txt is missing"):
        tn.load(folder)


def test_shapes_are_checked_against_the_config(saved):
    model, folder = saved
    config = json.loads((folder / "config.json").read_text())
    config["model"]["hidden_size"] = 7
    _write_config(folder, config)
    with pytest.raises(ValueError, match=r"model.safetensors: tensor .* has shape"):
        tn.load(folder)
    config["model"]["hidden_size"] = 6
    config["model"]["vocab_size"] = 99
    _write_config(folder, config)
    with pytest.raises(ValueError, match="vocabulary has 99 words"):
        tn.load(folder)
    config["model"]["vocab_size"] = len(model.vocab)
    config["model"]["cell"] = "gru"
    _write_config(folder, config)
    with pytest.raises(ValueError, match="config.json: cannot build a SentimentModel.*unknown cell"):
        tn.load(folder)


def test_foreign_and_future_configs(saved):
    _, folder = saved
    config = json.loads((folder / "config.json").read_text())
    _write_config(folder, {**config, "format_version": 99})
    with pytest.raises(ValueError, match="newer"):
        tn.load(folder)
    _write_config(folder, {"architectures": ["BertModel"]})
    with pytest.raises(ValueError, match="not a treenets model config"):
        tn.load(folder)


def test_nan_weights_are_refused(saved):
    model, folder = saved
    state = dict(model.state_dict())
    state["classifier.linear.bias"] = torch.full_like(state["classifier.linear.bias"], float("nan"))
    config = json.loads((folder / "config.json").read_text())
    config.pop("format"), config.pop("format_version")
    write_model_dir(folder, config, state, model.vocab.itos)  # sums of the NaN weights: only the check stops it
    with pytest.raises(ValueError, match="NaN"):
        tn.load(folder)


def test_vocab_options_must_be_booleans(saved):
    """"lower": "no" used to load as lowercasing (bool("no") is True)."""
    model, folder = saved
    config = json.loads((folder / "config.json").read_text())
    config.pop("format"), config.pop("format_version")
    config["vocab"]["lower"] = "no"
    write_model_dir(folder, config, dict(model.state_dict()), model.vocab.itos)
    with pytest.raises(ValueError, match="lower.*must be true or false"):
        tn.load(folder)


def test_save_replaces_a_directory_whole(saved):
    model, folder = saved
    (folder / "stale.txt").write_text("old")
    model.save(folder)
    assert not (folder / "stale.txt").exists()
    assert sorted(p.name for p in folder.iterdir()) == ["SHA256SUMS", "config.json", "model.safetensors", "vocab.txt"]


def test_unknown_names_and_paths():
    with pytest.raises(UnknownModelError, match="known models: sick, sst-ensemble, sst2, sst5, sst5-minilm"):
        tn.load("sst7")
    with pytest.raises(FileNotFoundError, match="no model directory"):
        tn.load("./nowhere/model")


def test_a_device_this_machine_lacks_is_refused_first():
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    from treenets.utils.device import DeviceError

    with pytest.raises(DeviceError, match="CUDA is not available"):
        tn.load("no-such-model", device="cuda")


# ------------------------------------------------------------------ pretrained
def test_pretrained_models_are_shipped():
    assert known_models() == ["sick", "sst-ensemble", "sst2", "sst5", "sst5-minilm"]


@pytest.mark.parametrize("name, task, labels, tree", [
    ("sst5", "sentiment", ["very negative", "negative", "neutral", "positive", "very positive"], "constituency"),
    ("sst2", "sentiment", ["negative", "positive"], "constituency"),
    ("sick", "relatedness", None, "dependency"),
])
def test_pretrained_models_load(name, task, labels, tree):
    model = tn.load(name)
    assert model.task == task and not model.training and model.tree_kind == tree and model.name == name
    if labels is not None:
        assert model.predicted_labels == labels
    meta = model.metadata
    assert meta["name"] == name and isinstance(meta["seed"], int) and "dev" in meta and "test" in meta
    assert meta["command"].startswith("python examples/train_")
    assert model.vocab.lower and model.vocab.normalize == "ptb" and len(model.vocab) > 30000


def test_nothing_unpickles_a_users_file():
    """No code path calls torch.load without weights_only=True, nor pickle.load on anything but its own data."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    # the parser pool unpickles, in its own worker processes, the parser this process pickled for them
    # (multiprocessing pickles every argument to a worker anyway); no file is read there
    own_data = {root / "treenets" / "parsers" / "pool.py"}
    for folder in ("treenets", "examples", "benchmarks"):
        for path in (root / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            for call in re.finditer(r"torch\.load\(([^()]|\([^()]*\))*\)", text):
                assert "weights_only=True" in call.group(0), f"{path}: {call.group(0)}"
            if path in own_data:
                assert not re.search(r"\bpickle\.load\(|open\(", text), path
                continue
            assert not re.search(r"\bpickle\.loads?\(", text), path


# ------------------------------------------------- integrity: sums, sizes, files (issue 19)
def _config(folder):
    return json.loads((folder / "config.json").read_text())


def _changed(value):
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value + 1
    if isinstance(value, str):
        return value + "x"
    if isinstance(value, list):
        return list(reversed(value)) + ["x"]
    if isinstance(value, dict):
        return {**value, "x": 1}
    return "x"


@pytest.mark.parametrize("name", ["sst2", "sick"])
def test_editing_any_field_of_a_shipped_config_fails_the_checksum(tmp_path, name):
    import shutil

    from treenets.models.saving import pretrained_root

    original = _config(pretrained_root() / name)
    fields = [(section, key) for section in ("model", "vocab") for key in original[section]]
    fields += [(None, key) for key in original if key not in ("model", "vocab")]
    for section, key in fields:
        folder = tmp_path / f"{section}-{key}"
        shutil.copytree(pretrained_root() / name, folder)
        config = json.loads(json.dumps(original))
        where = config if section is None else config[section]
        where[key] = _changed(where[key])
        (folder / "config.json").write_text(json.dumps(config, indent=2))
        with pytest.raises(ValueError, match=r"config\.json is damaged or was changed: its SHA-256"):
            tn.load(folder)


@pytest.mark.parametrize("field, value, message", [
    ("n_classes", 1e9, r"\"model.n_classes\" must be an integer"),
    ("hidden_size", 1e5, r"\"model.hidden_size\" must be an integer"),
    ("hidden_size", 100_000, r"\"model.hidden_size\" must be from 1 to 65,536"),
    ("hidden_size", [6], r"\"model.hidden_size\" must be an integer"),
    ("embed_size", {"a": 1}, r"\"model.embed_size\" must be an integer"),
    ("vocab_size", True, r"\"model.vocab_size\" must be an integer"),
    ("freeze_embeddings", "no", r"\"model.freeze_embeddings\" must be true or false"),
    ("dropout", 1.5, r"\"model.dropout\" must be a finite number in \[0, 1\)"),
    ("dropout", [0.5], r"\"model.dropout\" must be a finite number"),
    ("masked_classes", "2", r"\"model.masked_classes\" must be a list of class ids"),
    ("masked_classes", [7], r"masked_classes \(7,\) must name classes in 0..4"),
    ("labels", "abcde", r"\"model.labels\" must be a list of strings"),
    ("cell", ["nary"], r"\"model.cell\" must be a string or null"),
    ("cell_options", {"output_gate": "no"}, r"\"model.cell_options.output_gate\" must be true or false"),
])
def test_config_fields_are_checked_one_line_naming_file_and_field(saved, field, value, message):
    _, folder = saved
    config = _config(folder)
    config["model"][field] = value
    _write_config(folder, config)
    with pytest.raises(ValueError, match=message) as err:
        tn.load(folder)
    assert str(err.value).startswith(str(folder / "config.json")) and "\n" not in str(err.value)


@pytest.mark.parametrize("text, message", [
    ('"dropout": NaN', r"config\.json: NaN is not a number JSON allows"),
    ('"dropout": 1e400', r"config\.json: the number 1e400 is too large for a float"),
    ('"dropout": ' + "9" * 5000, r"config\.json:\d+: an integer of 5,000 digits"),
])
def test_non_finite_and_huge_numbers_in_the_config_name_file_and_line(saved, text, message):
    _, folder = saved
    config = (folder / "config.json").read_text()
    config = re.sub(r'"dropout": [0-9.e-]+', text, config)
    assert text in config
    (folder / "config.json").write_text(config)
    _resum(folder, "config.json")
    with pytest.raises(ValueError, match=message):
        tn.load(folder)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="address-space limits (RLIMIT_AS) are Linux's")
def test_a_huge_hidden_size_is_refused_without_allocating_it(saved):
    """hidden_size 12000 (with its sums updated): an N-ary cell of 5.7 GB, refused from the header's shapes
    under an address-space limit of 1.5 GB more than the process has."""
    _, folder = saved
    config = _config(folder)
    config["model"]["hidden_size"] = 12000
    _write_config(folder, config)
    script = (
        "import resource, re, treenets as tn, torch, treenets.models.saving\n"
        "size = int(re.search(r'VmSize:\\s+(\\d+)', open('/proc/self/status').read()).group(1)) * 1024\n"
        "resource.setrlimit(resource.RLIMIT_AS, (size + (3 << 29), resource.RLIM_INFINITY))\n"
        "try:\n"
        f"    tn.load({str(folder)!r})\n"
        "except ValueError as err:\n"
        "    print('REFUSED', err)\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert "REFUSED" in out.stdout, out.stdout + out.stderr
    assert "tensor 'encoder.cell.W.weight' has shape [24, 8], but" in out.stdout and "[48000, 8]" in out.stdout


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes and symlinks (POSIX)")
@pytest.mark.parametrize("name", [WEIGHTS_FILE, "config.json", "vocab.txt", SUMS_FILE])
@pytest.mark.parametrize("kind", ["dev-zero", "fifo", "outside", "folder"])
def test_only_regular_files_inside_the_directory_are_read(saved, tmp_path, name, kind):
    _, folder = saved
    file = folder / name
    file.unlink()
    if kind == "dev-zero":
        file.symlink_to("/dev/zero")
    elif kind == "fifo":
        os.mkfifo(file)
    elif kind == "outside":
        (tmp_path / "elsewhere").write_text("x")
        file.symlink_to(tmp_path / "elsewhere")
    else:
        file.mkdir()
    expect = {"dev-zero": "outside", "fifo": "named pipe", "outside": "outside", "folder": "a folder"}[kind]
    with pytest.raises(ValueError, match=f"{name}.*{expect}"):
        tn.load(folder)  # at once: a FIFO read would hang, /dev/zero fill the memory


def test_a_symlink_inside_the_directory_is_followed(saved):
    model, folder = saved
    (folder / "weights.bin").write_bytes((folder / WEIGHTS_FILE).read_bytes())
    (folder / WEIGHTS_FILE).unlink()
    (folder / WEIGHTS_FILE).symlink_to("weights.bin")
    assert tn.load(folder).config == model.config


def test_bytes_past_the_header_sizes_are_not_read(saved):
    _, folder = saved
    size = (folder / WEIGHTS_FILE).stat().st_size
    with open(folder / WEIGHTS_FILE, "r+b") as f:
        f.truncate(2 << 30)  # a sparse 2 GB file behind a header that gives its true size
    with pytest.raises(ValueError, match=f"{WEIGHTS_FILE} is 2,147,483,648 bytes, but its header makes it "
                                         f"{size:,} bytes"):
        tn.load(folder)


def test_a_directory_without_the_config_sum_says_how_to_add_it(saved):
    _, folder = saved
    lines = [ln for ln in (folder / SUMS_FILE).read_text().splitlines() if not ln.endswith("config.json")]
    (folder / SUMS_FILE).write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match="no SHA-256 for config.json.*sha256sum config.json >> SHA256SUMS"):
        tn.load(folder)
