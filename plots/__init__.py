"""Figures of the chain, drawn with matplotlib (imported only when a figure is drawn), in one palette."""
