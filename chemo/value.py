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

For the objects made thousands of times a second (a cycle's administrations, a verified
order's lines) there is a second form, :func:`value_class`, below: tuples.
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

    def _replace(self, **changes):
        """A copy with ``changes`` (what ``attrs.evolve`` did; the same name as a tuple value's)."""
        values = {name: getattr(self, name) for name in self.__slots__}
        unknown = set(changes) - set(values)
        if unknown:
            raise TypeError(f"{type(self).__name__} has no field {sorted(unknown)[0]!r}")
        values.update(changes)
        return type(self)(**values)

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


# ------------------------------------------------------------------ tuples, for the hot paths
#
# Frozen value classes as tuples, for the objects made thousands of times a second.
#
# A cycle's doses are about a dozen :class:`chemo.dose.Administration` objects and a
# verified order twice as many line objects; as attrs ``@frozen`` classes making them
# cost more than the arithmetic they hold.  These classes are ``typing.NamedTuple``
# subclasses (or tuples written the same way) with what an attrs frozen class gives:
# the same attribute names, keyword construction, a ``Name(field=value, ...)`` repr,
# immutability (setting an attribute raises ``AttributeError``), pickling, and
# equality with an object of the same class only (an Administration never equals a
# plain tuple, nor another class's tuple of the same values).  Like attrs classes
# they have no ordering.  ``_replace(**changes)`` is ``attrs.evolve``.

def _eq(self, other):
    # False, not NotImplemented: a plain tuple would then compare its items with ours
    return other.__class__ is self.__class__ and tuple.__eq__(self, other)


def _ne(self, other):
    return other.__class__ is not self.__class__ or tuple.__ne__(self, other)


def _unordered(self, other):
    return NotImplemented


def _hash(self):
    return hash((self.__class__.__name__, tuple(self)))


new = tuple.__new__  # a value_class instance from a tuple of its fields, without the keyword call


def value_class(cls):
    """Make a tuple subclass compare like a frozen attrs class (see the module text)."""
    cls.__eq__ = _eq
    cls.__ne__ = _ne
    cls.__hash__ = _hash
    cls.__lt__ = cls.__le__ = cls.__gt__ = cls.__ge__ = _unordered
    return cls
