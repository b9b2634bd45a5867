"""Readers by name, as the dataset registry refers to them."""

from .io import read_aedat3, read_aedat4, read_jaer, read_nmnist

READERS = {"aedat3": read_aedat3, "jaer": read_jaer, "nmnist": read_nmnist, "aedat4": read_aedat4}
