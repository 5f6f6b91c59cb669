"""Frozen value classes that cost nothing at import.

The value classes of the library, the regimens and the data files were attrs ``@frozen``
classes; attrs writes and ``compile``-s their methods in every process (~0.45 ms a class,
plus ~11 ms for attrs' own import), which was a third of ``chemo dose``'s start-up.  A
:class:`Value` subclass names its fields in ``__slots__`` and gets what ``@frozen`` gave:

* ``__init__`` taking the fields by position or by name, with ``_defaults`` (a shared
  value, as an attrs default) and ``_factories`` (called for each instance, as
  ``field(factory=...)``) for the fields that have one;
* frozen: setting or deleting an attribute raises :class:`FrozenValueError` (an
  AttributeError, as attrs' FrozenInstanceError is);
* equality with an object of the same class only, field by field; a hash of the fields;
  ``repr`` as ``Drug(id='doxorubicin', ...)``; pickling (the on-disk library cache).
"""

from __future__ import annotations

_MISSING = object()
_set = object.__setattr__


class FrozenValueError(AttributeError):
    """A value cannot be changed once made."""


class Value:
    __slots__ = ("__weakref__",)

    _defaults: dict = {}  # field -> default value (shared, as an attrs default)
    _factories: dict = {}  # field -> callable making the default of each instance

    def __init__(self, *args, **kwargs):
        names = self.__slots__
        if not kwargs and len(args) == len(names):
            for name, value in zip(names, args):
                _set(self, name, value)
            return
        if len(args) > len(names):
            raise TypeError(f"{type(self).__name__}() takes {len(names)} arguments but {len(args)} were given")
        for name, value in zip(names, args):
            if name in kwargs:
                raise TypeError(f"{type(self).__name__}() got multiple values for argument {name!r}")
            _set(self, name, value)
        for name in names[len(args):]:
            value = kwargs.pop(name, _MISSING)
            if value is _MISSING:
                if name in self._defaults:
                    value = self._defaults[name]
                elif name in self._factories:
                    value = self._factories[name]()
                else:
                    raise TypeError(f"{type(self).__name__}() missing required argument: {name!r}")
            _set(self, name, value)
        if kwargs:
            raise TypeError(f"{type(self).__name__}() got an unexpected keyword argument {next(iter(kwargs))!r}")

    def _values(self) -> tuple:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __setattr__(self, name, value):
        raise FrozenValueError(f"a {type(self).__name__} cannot be changed ({name})")

    def __delattr__(self, name):
        raise FrozenValueError(f"a {type(self).__name__} cannot be changed ({name})")

    def __eq__(self, other):
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()

    def __ne__(self, other):
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() != other._values()

    def __hash__(self) -> int:
        return hash((type(self).__qualname__,) + self._values())

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{type(self).__qualname__}({fields})"

    def __reduce__(self):
        return type(self), self._values()
