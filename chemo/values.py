"""Frozen value classes as tuples, for the objects made thousands of times a second.

A cycle's doses are about a dozen :class:`chemo.dose.Administration` objects and a
verified order twice as many line objects; as attrs ``@frozen`` classes making them
cost more than the arithmetic they hold.  These classes are ``typing.NamedTuple``
subclasses (or tuples written the same way) with what an attrs frozen class gives:
the same attribute names, keyword construction, a ``Name(field=value, ...)`` repr,
immutability (setting an attribute raises ``AttributeError``), pickling, and
equality with an object of the same class only (an Administration never equals a
plain tuple, nor another class's tuple of the same values).  Like attrs classes
they have no ordering.  ``_replace(**changes)`` is ``attrs.evolve``.
"""

from __future__ import annotations


def _eq(self, other):
    # False, not NotImplemented: a plain tuple would then compare its items with ours
    return other.__class__ is self.__class__ and tuple.__eq__(self, other)


def _ne(self, other):
    return other.__class__ is not self.__class__ or tuple.__ne__(self, other)


def _unordered(self, other):
    return NotImplemented


def _hash(self):
    return hash((self.__class__.__name__, tuple(self)))


def value_class(cls):
    """Make a tuple subclass compare like a frozen attrs class (see the module text)."""
    cls.__eq__ = _eq
    cls.__ne__ = _ne
    cls.__hash__ = _hash
    cls.__lt__ = cls.__le__ = cls.__gt__ = cls.__ge__ = _unordered
    return cls
