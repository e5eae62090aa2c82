"""Values across the wall between the grader's checker and a learner's kernel.

When a submission is graded, the checks run in the grader's own process and
the learner's code runs in a separate Jupyter kernel. A check calls a
learner's function through a proxy (``Remote``): the arguments go to the
kernel as data, the function runs there, and its result comes back as data.
Nothing the learner's code does in its kernel (patching the checks, NumPy or
builtins) reaches the process that decides the grade.

Both ends speak the same small protocol over a Unix socket, one pickle per
message, each prefixed by its length:

- ``("get", names)`` -> ``("values", {name: value})``: the learner's names;
- ``("call", handle, args, kwargs)`` -> ``("return", result, args, kwargs)``
  or ``("raise", info)``: run a function the other end exported; the
  arguments come back too, so that changes made in place (a model pruned,
  a generator advanced) reach the caller's own objects;
- ``("swap", {name: value})`` -> ``("swapped", token)``, ``("unswap", token)``:
  earlier tasks replaced by their references for one check;
- ``("bye",)``: the check is over.

A function or any other callable crosses as a *handle*: calling it calls back
across the wall, so a check can hand the learner a ``prune_fn`` and count the
calls. Mutable values (arrays, lists, dicts, models, generators) cross with a
token, so an object sent back is the caller's same object, updated in place.

The checker's end trusts nothing it receives: ``Unpickler`` only builds
arrays, NumPy scalars, generators, minnet layers, models and optimizers and
plain containers (no other class, no function by reference), every message
is capped in size, and a data object may not hide a callable in its
attributes.
"""

from __future__ import annotations

import builtins
import contextlib
import inspect
import io
import pickle
import socket
import struct
import traceback

import numpy as np

from minnet import layers, model, optim

from .feedback import CheckFailed

# modules whose functions cross by name (both sides import them): the library, these course
# tools (the checks' reference functions that stand in for earlier tasks) and NumPy
BY_NAME = ("minnet.", "minnet_course.", "numpy.")
MAX_MESSAGE_BYTES = 64 * 2**20  # a result larger than this is refused: checks never need one
MAX_TEXT = 2_000  # characters of an error message or traceback that cross
_HEADER = struct.Struct("!Q")
_MISSING = "__minnet_missing__"
GONE = "the grader could not reach your kernel: it died, was interrupted, or stopped serving the checks"


class WireError(RuntimeError):
    """The other end sent something that is not a value a check can use, or went away."""


class Remote:
    """A callable that lives on the other side of the wall: calling it runs it there."""

    def __init__(self, endpoint, handle: int, name: str):
        self._endpoint, self._handle, self.__name__ = endpoint, handle, name

    def __call__(self, *args, **kwargs):
        return self._endpoint.call(self._handle, args, kwargs)

    @contextlib.contextmanager
    def names_replaced(self, references: dict):
        """Within the block, the learner's names in ``references`` mean the given values."""
        token = self._endpoint.request(("swap", references), "swapped")[1]
        try:
            yield
        finally:
            self._endpoint.request(("unswap", token), "unswapped")

    def __repr__(self) -> str:
        return f"<learner's {self.__name__}>"


def _is_tracked(obj) -> bool:
    """Mutable values that cross with a token (identity and in-place changes survive)."""
    return isinstance(obj, (np.ndarray, list, dict, np.random.Generator)) or _is_minnet_object(obj)


def _is_minnet_object(obj) -> bool:
    return type(obj).__module__.startswith("minnet.") and _allowed_minnet_class(type(obj))


def _allowed_minnet_class(cls) -> bool:
    return isinstance(cls, type) and issubclass(cls, (layers.Layer, model.Sequential, optim.Optimizer))


class Endpoint:
    """One end of the wall. ``checker=True`` is the grader's end: it refuses
    anything but data from the other side."""

    def __init__(self, sock: socket.socket, *, checker: bool, namespace: dict | None = None):
        self.sock, self.checker, self.namespace = sock, checker, namespace
        self.handles: dict[int, object] = {}  # handle -> our callable
        self.exported: dict[int, object] = {}  # token -> our object, sent by value
        self.exported_ids: dict[int, int] = {}  # id(our object) -> token
        self.imported: dict[int, object] = {}  # their token -> our copy
        self.imported_ids: dict[int, int] = {}  # id(our copy) -> their token
        self.remotes: dict[int, Remote] = {}
        self.swaps: dict[int, dict] = {}
        self.callback_failure: BaseException | None = None  # a check raised inside a callback
        self.depth = 0  # calls to the other side in progress
        self.by_name: set = set()  # (module, name) of functions we sent by name: they may come back

    # --- framing ---

    def send(self, message) -> None:
        data = self.encode(message)
        try:
            self.sock.sendall(_HEADER.pack(len(data)) + data)
        except (BrokenPipeError, ConnectionResetError):
            raise WireError(GONE) from None

    def receive(self):
        size = _HEADER.unpack(self._read(_HEADER.size))[0]
        if self.checker and size > MAX_MESSAGE_BYTES:
            raise WireError(f"a message of {size} bytes from the kernel is over the limit of {MAX_MESSAGE_BYTES}")
        return self.decode(self._read(size))

    def _read(self, size: int) -> bytes:
        chunks, left = [], size
        while left:
            try:
                chunk = self.sock.recv(min(left, 1 << 20))
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                raise WireError(GONE)
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    # --- requests ---

    def request(self, message, expect: str):
        """Send ``message``; serve calls from the other side until its answer comes."""
        self.send(message)
        while True:
            reply = self.receive()
            if not isinstance(reply, tuple) or not reply or not isinstance(reply[0], str):
                raise WireError(f"expected a reply, got {type(reply).__name__}")
            if reply[0] == "call":
                self._serve_call(reply)
                continue
            if reply[0] == "raise":
                raise _rebuild_exception(reply[1] if len(reply) > 1 else {})
            if reply[0] != expect:
                raise WireError(f"expected {expect!r}, got {reply[0]!r}")
            return reply

    def call(self, handle: int, args: tuple, kwargs: dict):
        """Call the other side's function ``handle``; our arguments are updated in place."""
        self.depth += 1
        try:
            reply = self.request(("call", handle, tuple(args), dict(kwargs)), "return")
        finally:
            self.depth -= 1
            if self.depth == 0 and self.callback_failure is not None:
                failure, self.callback_failure = self.callback_failure, None
                raise failure  # a check failed inside a callback: the learner's code cannot swallow it
        if len(reply) != 4:
            raise WireError("a malformed reply to a call")
        return reply[1]

    def serve(self) -> None:
        """Answer the other side's requests until it says bye (the kernel's end)."""
        while True:
            message = self.receive()
            kind = message[0]
            if kind == "bye":
                return
            if kind == "call":
                self._serve_call(message)
            elif kind == "get":
                values = {name: self.namespace.get(name, _MISSING) for name in message[1]}
                self.send(("values", values))
            elif kind == "swap":
                saved = {name: self.namespace[name] for name in message[1] if name in self.namespace}
                self.namespace.update({name: value for name, value in message[1].items() if name in saved})
                token = len(self.swaps) + 1
                self.swaps[token] = saved
                self.send(("swapped", token))
            elif kind == "unswap":
                self.namespace.update(self.swaps.pop(message[1], {}))
                self.send(("unswapped",))
            else:
                self.send(("raise", {"type": "RuntimeError", "bases": [], "message": f"unknown request {kind!r}"}))

    def get(self, names) -> dict:
        """The other side's values of ``names`` (absent names are left out)."""
        values = self.request(("get", list(names)), "values")[1]
        if not isinstance(values, dict):
            raise WireError("a malformed reply to get")
        return {name: value for name, value in values.items() if not (isinstance(value, str) and value == _MISSING)}

    def _serve_call(self, message) -> None:
        try:
            _, handle, args, kwargs = message
            function = self.handles[handle]
        except (ValueError, KeyError, TypeError):
            self.send(("raise", {"type": "RuntimeError", "bases": [], "message": "a call to an unknown function"}))
            return
        try:
            result = function(*args, **kwargs)
        except BaseException as exc:  # the caller gets the error; we keep serving
            if isinstance(exc, CheckFailed) and self.callback_failure is None:
                self.callback_failure = exc
            if isinstance(exc, KeyboardInterrupt) and not self.checker:
                raise
            self.send(("raise", _exception_info(exc)))
            return
        self.send(("return", result, args, kwargs))

    # --- values ---

    def encode(self, message) -> bytes:
        """Pickle ``message``; callables become handles, mutable values cross with tokens."""
        values: dict = {}
        pending: list = []

        def persistent_id(obj, top=None):
            if obj is top:
                return None
            if _is_tracked(obj):
                if id(obj) in self.imported_ids:
                    key = ("yours", self.imported_ids[id(obj)])
                else:
                    token = self.exported_ids.get(id(obj))
                    if token is None:
                        token = len(self.exported) + 1
                        self.exported[token], self.exported_ids[id(obj)] = obj, token
                    key = ("mine", token)
                if key not in values:
                    values[key] = None
                    pending.append((key, obj))
                return key
            if callable(obj) and not isinstance(obj, type) and not self._by_reference(obj):
                if isinstance(obj, Remote) and obj._endpoint is self:
                    return ("back", obj._handle)
                handle = id(obj)
                self.handles[handle] = obj
                return ("handle", handle, str(getattr(obj, "__name__", type(obj).__name__))[:100])
            return None

        def dump(obj, top=None) -> bytes:
            buffer = io.BytesIO()
            pickler = pickle.Pickler(buffer, protocol=5)
            pickler.persistent_id = lambda o: persistent_id(o, top)
            pickler.dump(obj)
            return buffer.getvalue()

        body = dump(message)
        while pending:
            key, obj = pending.pop()
            values[key] = dump(obj, top=obj)
        return pickle.dumps((body, values), protocol=5)

    def _by_reference(self, obj) -> bool:
        """Module-level functions of minnet, minnet_course and NumPy cross by name: the other side has
        them (the checker's unpickler accepts only the few that rebuild arrays)."""
        module = getattr(obj, "__module__", None) or ""
        if not (module in ("numpy", "copyreg") or module.startswith(BY_NAME)):
            return False
        try:
            found = __import__(module, fromlist=["_"])
            for part in getattr(obj, "__qualname__", "<").split("."):
                found = getattr(found, part)
        except (ImportError, AttributeError):
            return False
        if found is obj:
            self.by_name.add((module, obj.__qualname__))
        return found is obj

    def decode(self, data: bytes):
        sent = frozenset(self.by_name) if self.checker else None

        def loads(data, load):
            return _Unpickler(data, load, sent).load()

        try:
            body, values = loads(data, None)
            if not isinstance(body, bytes) or not isinstance(values, dict):
                raise WireError("a malformed message")
            decoded: dict = {}

            def load(key):
                if not (isinstance(key, tuple) and len(key) >= 2):
                    raise WireError("a malformed reference")
                kind = key[0]
                if kind == "handle":
                    handle, name = key[1], key[2] if len(key) > 2 else "function"
                    if not isinstance(handle, int) or not isinstance(name, str):
                        raise WireError("a malformed handle")
                    if handle not in self.remotes:
                        self.remotes[handle] = Remote(self, handle, name[:100])
                    return self.remotes[handle]
                if kind == "back":
                    if key[1] not in self.handles:
                        raise WireError("a reference to an unknown function")
                    return self.handles[key[1]]
                if kind not in ("mine", "yours") or key not in values:
                    raise WireError("a reference to a value that was not sent")
                if key in decoded:
                    if decoded[key] is _LOADING:
                        raise WireError("a value that contains itself")
                    return decoded[key]
                decoded[key] = _LOADING
                new = loads(values[key], load)
                if kind == "yours":  # our own object, sent back: update it in place
                    ours = self.exported.get(key[1])
                    if ours is None:
                        raise WireError("a reference to an object that was never sent")
                    result = _update_in_place(ours, new)
                else:  # theirs: a copy we may have already
                    ours = self.imported.get(key[1])
                    result = new if ours is None else _update_in_place(ours, new)
                    self.imported[key[1]], self.imported_ids[id(result)] = result, key[1]
                decoded[key] = result
                return result

            message = loads(body, load)
        except WireError:
            raise
        except Exception as exc:  # anything the unpickler refused or could not build
            raise WireError(f"the kernel sent a value the grader cannot accept ({type(exc).__name__}: {exc})") from None
        if self.checker:
            _check_data(message)
        return message


_LOADING = object()


def _update_in_place(ours, new):
    """Make ``ours`` equal to ``new`` in place when the kinds match; returns the object to use."""
    if type(ours) is not type(new):
        return new
    if isinstance(ours, np.ndarray):
        if ours.shape == new.shape and ours.dtype == new.dtype and ours.flags.writeable:
            ours[...] = new
            return ours
        return new
    if isinstance(ours, list):
        ours[:] = new
    elif isinstance(ours, dict):
        ours.clear()
        ours.update(new)
    elif isinstance(ours, np.random.Generator):
        ours.bit_generator.state = new.bit_generator.state
    else:
        vars(ours).clear()
        vars(ours).update(vars(new))
    return ours


# --- the checker's unpickler --------------------------------------------------------------------------------------

_NUMPY_GLOBALS = {
    ("numpy", "dtype"),
    ("numpy", "ndarray"),
    ("numpy._core.numeric", "_frombuffer"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy.random._pickle", "__generator_ctor"),
    ("numpy.random._pickle", "__bit_generator_ctor"),
    ("numpy.random._pcg64", "PCG64"),
    ("numpy.random._philox", "Philox"),
    ("numpy.random._sfc64", "SFC64"),
    ("numpy.random._mt19937", "MT19937"),
    ("numpy.random._generator", "Generator"),
    ("copyreg", "__newobj__"),
    ("builtins", "complex"),
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("builtins", "slice"),
    ("builtins", "bytearray"),
}


class _Unpickler(pickle.Unpickler):
    """Rebuilds a message; ``sent`` is None on the kernel's end (what the checker sends is
    trusted), else the functions the checker sent by name, the only ones it takes back."""

    def __init__(self, data: bytes, load, sent=None):
        super().__init__(io.BytesIO(data))
        self._load, self.sent = load, sent

    def find_class(self, module: str, name: str):
        if self.sent is None or (module, name) in _NUMPY_GLOBALS or (module, name) in self.sent:
            return super().find_class(module, name)
        if module.startswith("minnet."):  # the library, never the course tools (minnet_course)
            found = super().find_class(module, name)
            if _allowed_minnet_class(found) and found.__module__ == module:
                return found
        raise pickle.UnpicklingError(f"{module}.{name} is not a value")

    def persistent_load(self, key):
        if self._load is None:
            raise pickle.UnpicklingError("a reference outside a value")
        return self._load(key)


_LEAVES = (type(None), bool, int, float, complex, str, bytes, bytearray, slice)


def _check_data(value, depth: int = 0, seen=None) -> None:
    """Refuse what is not plain data: object arrays, subclasses, callables hidden in objects."""
    seen = set() if seen is None else seen
    if id(value) in seen:
        return
    seen.add(id(value))
    if depth > 50:
        raise WireError("a value nested more than 50 levels deep")
    kind = type(value)
    if kind in _LEAVES:
        return
    if isinstance(value, (np.generic, np.dtype)):
        if (value if isinstance(value, np.dtype) else value.dtype).kind in "OV":
            raise WireError("a NumPy object or structured value")
        return
    if _is_sent_function(value):
        return
    if kind is np.ndarray:
        if value.dtype.kind in "OV":
            raise WireError(f"an array of dtype {value.dtype}: expected numbers or booleans")
        return
    if kind is Remote:
        if depth > 3:
            raise WireError("a function inside a data structure")
        return
    if kind in (tuple, list, set, frozenset):
        for item in value:
            _check_data(item, depth + 1, seen)
        return
    if kind is dict:
        for key, item in value.items():
            _check_data(key, depth + 1, seen)
            _check_data(item, depth + 1, seen)
        return
    if kind is np.random.Generator:
        return
    if _allowed_minnet_class(kind):
        for key, item in vars(value).items():
            if not isinstance(key, str) or _shadows_class_attribute(kind, key):
                raise WireError(f"a {kind.__name__} with an attribute {key!r} that hides its class's")
            _check_minnet_attribute(item, depth + 1, seen)
        return
    raise WireError(f"a value of type {kind.__name__}")


def _shadows_class_attribute(cls, name: str) -> bool:
    """An instance attribute that would hide a method or property of the class."""
    try:
        found = inspect.getattr_static(cls, name)
    except AttributeError:
        return False
    return callable(found) or isinstance(found, (property, staticmethod, classmethod)) or hasattr(found, "__get__")


def _is_sent_function(value) -> bool:
    """A module-level function of minnet, minnet_course or NumPy (the unpickler only builds those the checker sent)."""
    return (
        callable(value)
        and not isinstance(value, type)
        and getattr(value, "__module__", "").startswith((*BY_NAME, "numpy"))
    )


def _check_minnet_attribute(value, depth, seen) -> None:
    """Inside a layer, model or optimizer: data only, no functions of the learner's."""
    if isinstance(value, Remote):
        raise WireError("a function of yours inside a layer, model or optimizer")
    if isinstance(value, (list, tuple, dict)):
        for item in value.values() if isinstance(value, dict) else value:
            _check_minnet_attribute(item, depth + 1, seen)
    _check_data(value, depth, seen)


# --- exceptions across the wall -----------------------------------------------------------------------------------


def _exception_info(exc: BaseException) -> dict:
    """What crosses for an exception: its class name and builtin bases, message and traceback."""
    bases = [cls.__name__ for cls in type(exc).__mro__ if getattr(builtins, cls.__name__, None) is cls]
    try:
        lines = traceback.format_exception(type(exc), exc, exc.__traceback__)
        text = "".join(line for line in lines if "minnet_course/wire.py" not in line)
    except Exception:  # a broken __str__: the class name still says something
        text = type(exc).__name__
    try:
        message = str(exc)
    except Exception:
        message = ""
    return {"type": type(exc).__name__, "bases": bases, "message": message[:MAX_TEXT], "traceback": text[-MAX_TEXT:]}


class LearnerError(Exception):
    """Marks an exception raised by the learner's code on the other side of the wall."""

    learner_traceback = ""


def _rebuild_exception(info) -> BaseException:
    """The learner's exception as one of the same name whose base is the nearest
    builtin exception (ValueError, NotImplementedError, ...), so checks can catch it."""
    if not isinstance(info, dict):
        return WireError("a malformed error")
    name = info.get("type") if isinstance(info.get("type"), str) else "Error"
    name = name if name.isidentifier() and len(name) <= 60 else "Error"
    message = info.get("message") if isinstance(info.get("message"), str) else ""
    base = Exception
    for candidate in info.get("bases") if isinstance(info.get("bases"), list) else []:
        found = getattr(builtins, candidate, None) if isinstance(candidate, str) else None
        if isinstance(found, type) and issubclass(found, Exception):
            base = found
            break
    try:
        cls = type(name, (base, LearnerError), {"__module__": "learner"})
        exc = cls(message[:MAX_TEXT])
    except TypeError:  # a base whose layout refuses the mix-in (rare builtins)
        exc = LearnerError(f"{name}: {message[:MAX_TEXT]}")
    text = info.get("traceback")
    exc.learner_traceback = text[-MAX_TEXT:] if isinstance(text, str) else ""
    return exc


# --- the kernel's side --------------------------------------------------------------------------------------------


def serve(path: str, namespace: dict) -> None:
    """Connect to the checker at ``path`` and answer its requests (run in the learner's kernel)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(path)
        Endpoint(sock, checker=False, namespace=namespace).serve()
