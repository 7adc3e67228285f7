"""A meeting's printables: the plain context kit.toolkit.printables lays out as PDF."""
