"""The one file format of minnet models: a ``.npz`` archive (no pickle) with the
architecture as JSON under ``ARCHITECTURE_KEY`` and the state dict's arrays by
name, masks as ``"<name>_mask"``. A sparse file stores each masked parameter as
its kept values (``"<name>_values"``) and its packed mask (``"<name>_bits"``).
``Sequential.save``/``load`` and ``metrics.save_sparse``/``load_sparse`` use it."""

from __future__ import annotations

import json
import os
import zipfile

import numpy as np

from .validate import check_path

MASK_SUFFIX = "_mask"
ARCHITECTURE_KEY = "__architecture__"
_VALUES, _BITS = "_values", "_bits"  # suffixes of a masked parameter's entries in a sparse file


def npz_path(path) -> str:
    """The file ``save`` wrote for ``path``: ``path`` itself, or ``path + ".npz"``
    as ``np.savez`` names it; FileNotFoundError naming both when neither exists."""
    path = check_path("path", path)
    if os.path.isfile(path):
        return path
    if not path.endswith(".npz") and os.path.isfile(path + ".npz"):
        return path + ".npz"
    tried = repr(path) + ("" if path.endswith(".npz") else f" or {path + '.npz'!r}")
    raise FileNotFoundError(f"no model file {tried}")


def read_npz(path: str) -> dict[str, np.ndarray]:
    """Every array of a ``.npz`` file, read without pickle; a ValueError naming
    the file when it is damaged, empty, or not a ``.npz`` archive."""
    try:
        data = np.load(path, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise ValueError("it holds a single array, not a .npz archive")
        with data:
            return {key: data[key] for key in data.files}
    except (zipfile.BadZipFile, EOFError, OSError, KeyError, ValueError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        reason = str(exc) or type(exc).__name__
        raise ValueError(f"{path!r} is not a readable minnet .npz file ({reason})") from None


def read_model_file(path: str | os.PathLike) -> tuple[list[dict], dict[str, np.ndarray]]:
    """The architecture and the stored arrays of a minnet ``.npz`` model file."""
    path = npz_path(path)
    arrays = read_npz(path)
    if ARCHITECTURE_KEY not in arrays:
        raise ValueError(f"{path!r} is not a minnet model file (no architecture entry)")
    try:
        arch = json.loads(str(arrays.pop(ARCHITECTURE_KEY)))
    except ValueError as exc:
        raise ValueError(f"{path!r} has a damaged architecture entry ({exc})") from None
    return arch, arrays


def write_model_file(path: str, architecture: list[dict], state: dict, *, sparse: bool = False) -> None:
    """Write a model file: the architecture as JSON under ``ARCHITECTURE_KEY`` and the
    ``state`` arrays (a state dict). With ``sparse``, each masked parameter is stored
    as its kept values (1-D, C order) plus its mask packed 8 entries a byte
    (``np.packbits``); masks and the other arrays are stored as they are otherwise."""
    arrays = {ARCHITECTURE_KEY: np.array(json.dumps(architecture))}
    for name, value in state.items():
        mask = state.get(name + MASK_SUFFIX) if sparse else None
        if sparse and name.endswith(MASK_SUFFIX):
            continue  # stored with its parameter
        if mask is None:
            arrays[name] = value
        else:
            arrays[name + _VALUES], arrays[name + _BITS] = value[mask], np.packbits(mask)
    np.savez(path, **arrays)


def state_from_arrays(arrays: dict, shapes: dict, path) -> dict[str, np.ndarray]:
    """The state dict stored in a model file's ``arrays`` (dense or sparse entries);
    ``shapes`` maps parameter names to the shapes the model expects."""
    state = {}
    for key, value in arrays.items():
        if key.endswith(_VALUES):
            name = key[: -len(_VALUES)]
            state[name], state[name + MASK_SUFFIX] = _unpack(
                name, value, arrays.get(name + _BITS), shapes.get(name), path
            )
        elif not key.endswith(_BITS):  # a dense entry (bits were read with their values)
            state[key] = value
    return state


def _unpack(name, values, bits, shape, path):
    """The dense parameter and its mask from kept ``values`` and packed mask ``bits``."""
    where = f"{os.fspath(path)!r}, entry {name!r}"
    if shape is None:
        raise ValueError(f"{where}: the model has no parameter {name!r}")
    size = int(np.prod(shape))
    if bits is None or bits.dtype != np.uint8 or bits.shape != (-(-size // 8),):
        raise ValueError(
            f"{where}: expected a packed mask of {-(-size // 8)} uint8 bytes for shape {shape}, "
            f"got {None if bits is None else f'{bits.dtype} array of shape {bits.shape}'}"
        )
    mask = np.unpackbits(bits, count=size).reshape(shape).astype(bool)
    if values.shape != (int(mask.sum()),):
        raise ValueError(f"{where}: the mask keeps {int(mask.sum())} entries but {values.shape} values are stored")
    dense = np.zeros(shape, dtype=values.dtype)
    dense[mask] = values
    return dense, mask
